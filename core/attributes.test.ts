import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { isCairnError, type FileEntry } from '../plugin-api/index.js';
import { decodeAttributes, encodeAttributes } from './attributes.js';

const stat = (over: Partial<FileEntry['stat']> = {}): FileEntry['stat'] => ({
  mode: 0o104755, uid: 4_000_000_000, gid: 7, size: 2 ** 53 - 1, mtimeNs: -1_234_567_890_123n, atimeNs: 1_700_000_000_123_456_789n, ctimeNs: 0n,
  dev: 2n ** 64n - 1n, ino: 2n ** 63n + 5n, nlink: 3, rdev: 0x0801, ...over,
});

const entries: FileEntry[] = [
  { path: Buffer.from('/a/file'), kind: 'file', stat: stat(), streams: [{ index: 0, name: 'data', layout: 'sequential', size: 8123 }] },
  { path: Buffer.from([0x2f, 0x66, 0xff, 0x6f]), kind: 'file', stat: stat(), streams: [{ index: 0, name: 'data', layout: 'sparse', size: 1 << 30 }], meta: { x: [1, 'two'] } },
  { path: Buffer.from('/s'), kind: 'file', stat: stat(), streams: [{ index: 0, name: 'da"ta ✓', layout: 'sequential', size: 1 }, { index: 3, name: 'rsrc', layout: 'sequential' }] },
  { path: Buffer.from('/no-size'), kind: 'file', stat: stat(), streams: [{ index: 0, name: 'data', layout: 'sequential' }] },
  { path: Buffer.from('/l'), kind: 'symlink', stat: stat({ mode: 0o120777 }), streams: [], linkTarget: Buffer.from([0x74, 0xff]) },
  { path: Buffer.from('/h'), kind: 'hardlink', stat: stat(), streams: [], hardlinkTarget: Buffer.from('/a/file') },
  { path: Buffer.from('/d'), kind: 'dir', stat: stat({ mode: 0o41777 }), streams: [] },
  { path: Buffer.from('/gone'), kind: 'deleted', stat: stat(), streams: [] },
];

test('attributes round-trip every field, raw names and 64-bit values', () => {
  for (const e of entries) {
    const got = decodeAttributes(encodeAttributes(e, 'fs/1'));
    assert.equal(got.agent, 'fs/1');
    assert.deepEqual({ ...got.entry, path: Buffer.from(got.entry.path) }, { ...e, path: Buffer.from(e.path) }, Buffer.from(e.path).toString('latin1'));
  }
});

test('the streams field is the JSON of the stream list, whichever path wrote it', () => {
  for (const e of entries.filter((x) => x.streams.length)) {
    const b = encodeAttributes(e, 'fs/1');
    assert.ok(b.includes(Buffer.from(JSON.stringify(e.streams))), JSON.stringify(e.streams));
  }
});

test('a truncated or foreign attributes record is CAIRN_E_RECORD_CORRUPT', () => {
  const good = encodeAttributes(entries[0], 'fs/1');
  for (const bad of [good.subarray(0, 10), good.subarray(0, good.length - 1), Buffer.concat([Buffer.from([9]), good.subarray(1)])]) {
    assert.throws(() => decodeAttributes(bad), (e: unknown) => isCairnError(e) && e.code === 'CAIRN_E_RECORD_CORRUPT');
  }
});
