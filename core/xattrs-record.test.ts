// The XATTRS record payload (docs/volume-format.md §5.3.4): exact bytes,
// round trip of binary names and values, splitting over several records, and
// CAIRN_E_RECORD_CORRUPT for damaged payloads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCairnError } from '../plugin-api/index.js';
import { decodeXattrs, encodeXattrs } from './xattrs-record.js';

const x = (name: string, value: Buffer | string) => ({ name: Buffer.from(name, 'latin1'), value: Buffer.isBuffer(value) ? value : Buffer.from(value) });

test('an XATTRS payload has the documented layout', () => {
  const [payload, more] = encodeXattrs([x('user.a', 'xy'), x('system.posix_acl_access', Buffer.from([2, 0, 0, 0]))]);
  assert.equal(more, undefined);
  const want = Buffer.concat([
    Buffer.from([1, 0, 0, 0, 0, 0, 0, 2]),
    Buffer.from([0, 6]), Buffer.from('user.a'), Buffer.from([0, 0, 0, 2]), Buffer.from('xy'),
    Buffer.from([0, 23]), Buffer.from('system.posix_acl_access'), Buffer.from([0, 0, 0, 4]), Buffer.from([2, 0, 0, 0]),
  ]);
  assert.deepEqual(payload, want);
  assert.deepEqual(encodeXattrs([]), []);
});

test('names and values are bytes: binary, empty and large values round-trip', () => {
  const list = [x('user.bin', Buffer.from([0, 0xff, 0, 0x80])), x('user.empty', ''), x('user.\xe9t\xe9', 'latin1 name'), x('user.big', Buffer.alloc(70_000, 7))];
  const payloads = encodeXattrs(list);
  assert.equal(payloads.length, 1);
  assert.deepEqual(decodeXattrs(payloads[0]), list);
});

test('a set larger than the record limit is split into complete records, in order', () => {
  const list = Array.from({ length: 10 }, (_, i) => x(`user.n${i}`, Buffer.alloc(300, i)));
  const payloads = encodeXattrs(list, 1000);
  assert.ok(payloads.length > 1);
  for (const p of payloads) assert.ok(p.length <= 1000);
  assert.deepEqual(payloads.flatMap((p) => decodeXattrs(p)), list);
  // One attribute larger than the limit still goes, alone in its record.
  const huge = encodeXattrs([x('user.a', 'a'), x('user.huge', Buffer.alloc(5000)), x('user.b', 'b')], 1000);
  assert.deepEqual(huge.map((p) => decodeXattrs(p).length), [1, 1, 1]);
});

test('names the format cannot carry are refused at encoding', () => {
  assert.throws(() => encodeXattrs([x('', 'v')]), TypeError);
  assert.throws(() => encodeXattrs([x('user.a\0b', 'v')]), TypeError);
});

test('a damaged payload is CAIRN_E_RECORD_CORRUPT', () => {
  const [good] = encodeXattrs([x('user.a', 'value')]);
  const bad = [good.subarray(0, 5), good.subarray(0, good.length - 1), Buffer.concat([good, Buffer.from([0])]), Buffer.from([2, ...good.subarray(1)])];
  const zeroName = Buffer.from(good);
  zeroName.writeUInt16BE(0, 8);
  for (const p of [...bad, zeroName]) {
    assert.throws(() => decodeXattrs(p), (err: unknown) => isCairnError(err) && err.code === 'CAIRN_E_RECORD_CORRUPT');
  }
});
