// The `tree` page of a verify live (protocol.md §9.4): entries round trip,
// with and without digests and with non-UTF-8 paths; damaged pages are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isCairnError } from '../plugin-api/index.js';
import type { ExpectedEntry } from './live-tree-check.js';
import { decodeTreePage, encodeTreePage } from './live-tree-wire.js';

test('tree pages round trip every field; damaged pages are refused', () => {
  const rows: ExpectedEntry[] = [
    { path: Buffer.from('/srv/a.bin'), kind: 'file', mode: 0o100644, uid: 1000, gid: 100, size: 2 ** 40 + 3, mtimeNs: -5n, digest: randomBytes(32), jobId: 7 },
    { path: Buffer.from([0x2f, 0xff, 0xfe, 0x41]), kind: 'dir', mode: 0o40755, uid: 0, gid: 0, size: 0, mtimeNs: 1_700_000_000_123_456_789n, digest: null, jobId: 4_000_000_000 },
    { path: Buffer.from('/srv/l'), kind: 'symlink', mode: 0o120777, uid: 2 ** 32 - 2, gid: 5, size: 9, mtimeNs: 0n, jobId: 1 },
  ];
  const page = encodeTreePage(rows);
  const back = decodeTreePage(page);
  assert.deepEqual(back.map((r) => ({ ...r, path: Buffer.from(r.path), digest: r.digest ? Buffer.from(r.digest) : null })), rows.map((r) => ({ ...r, path: Buffer.from(r.path), digest: r.digest ? Buffer.from(r.digest) : null })));
  assert.deepEqual(decodeTreePage(encodeTreePage([])), []);
  const refused = (b: Buffer) => assert.throws(() => decodeTreePage(b), (e: unknown) => isCairnError(e) && e.code === 'CAIRN_E_PROTOCOL_COMMAND');
  refused(page.subarray(0, 3));
  refused(page.subarray(0, page.length - 1));
  const badKind = Buffer.from(page);
  badKind[4 + 2] = 200;
  refused(badKind);
  const badDigest = Buffer.from(page);
  badDigest[4 + 35] = 31;
  refused(badDigest);
});
