import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { isCairnError } from '../plugin-api/index.js';
import { PACK_MEMBER_MAX_BYTES, decodePackIndex, encodePackIndex, packableStream } from './pack.js';

const sha = (s: string): Buffer => createHash('sha256').update(s).digest();

test('a pack index round-trips its members', () => {
  const members = [
    { fileIndex: 7, streamNo: 0, length: 0, digest: sha('') },
    { fileIndex: 9, streamNo: 0, length: 65536, digest: sha('b') },
    { fileIndex: 70_000, streamNo: 3, length: 12, digest: sha('c') },
  ];
  const got = decodePackIndex(encodePackIndex(members), 7, 70_000);
  assert.deepEqual(got.map((m) => ({ ...m, digest: Buffer.from(m.digest) })), members);
});

test('a damaged pack index is refused with CAIRN_E_RECORD_CORRUPT naming what is wrong', () => {
  const good = encodePackIndex([
    { fileIndex: 5, streamNo: 0, length: 1, digest: sha('a') },
    { fileIndex: 6, streamNo: 0, length: 1, digest: sha('b') },
  ]);
  const cases: Array<[string, Buffer, number, number, RegExp]> = [
    ['short', good.subarray(0, 5), 5, 6, /shorter than its header/],
    ['version', Buffer.concat([Buffer.from([2]), good.subarray(1)]), 5, 6, /version 2/],
    ['count', good.subarray(0, good.length - 1), 5, 6, /bytes for 2 members/],
    ['outside span', good, 6, 6, /member 0 has file index 5/],
  ];
  const descending = Buffer.from(good);
  descending.writeUInt32BE(6, 8);
  descending.writeUInt32BE(5, 8 + 42);
  cases.push(['order', descending, 5, 6, /member 1 has file index 5 .*ascend/]);
  for (const [name, payload, first, last, why] of cases) {
    assert.throws(() => decodePackIndex(payload, first, last), (e: unknown) => isCairnError(e) && e.code === 'CAIRN_E_RECORD_CORRUPT' && why.test(e.message), name);
  }
});

test('only a file with one small sequential stream joins a pack', () => {
  const stat = { mode: 0o100644, uid: 0, gid: 0, size: 0, mtimeNs: 0n, atimeNs: 0n, ctimeNs: 0n, dev: 0n, ino: 0n, nlink: 1, rdev: 0 };
  const entry = (kind: 'file' | 'dir', streams: Array<{ layout: 'sequential' | 'sparse'; size?: number }>) => ({
    path: Buffer.from('/x'),
    kind,
    stat,
    streams: streams.map((s, index) => ({ index, name: `s${index}`, ...s })),
  });
  assert.ok(packableStream(entry('file', [{ layout: 'sequential', size: 0 }])));
  assert.ok(packableStream(entry('file', [{ layout: 'sequential', size: PACK_MEMBER_MAX_BYTES }])));
  assert.equal(packableStream(entry('file', [{ layout: 'sequential', size: PACK_MEMBER_MAX_BYTES + 1 }])), null);
  assert.equal(packableStream(entry('file', [{ layout: 'sequential' }])), null, 'no declared size');
  assert.equal(packableStream(entry('file', [{ layout: 'sparse', size: 10 }])), null);
  assert.equal(packableStream(entry('file', [{ layout: 'sequential', size: 1 }, { layout: 'sequential', size: 1 }])), null);
  assert.equal(packableStream(entry('dir', [{ layout: 'sequential', size: 1 }])), null);
});
