import { test } from 'node:test';
import assert from 'node:assert/strict';
import { READ_TAG, decodeReadFrame, decodeReadFrameChunks, encodeJsonFrame, encodeRecordsFrame } from './read-frame.js';
import type { ReadItem } from '../api.js';

const location = { volume: 'Vol-0001', file: 0, block: 7 };
const records: Array<Extract<ReadItem, { kind: 'record' }>> = [
  { kind: 'record', record: { fileIndex: 3, streamType: 2, streamNo: 0, payload: Buffer.from('first payload') }, location },
  { kind: 'record', record: { fileIndex: 3, streamType: 3, streamNo: 1, payload: Buffer.alloc(0) }, location },
  { kind: 'record', record: { fileIndex: 4, streamType: 2, streamNo: 0, payload: Buffer.alloc(5000, 9) }, location },
];

function pieces(parts: Uint8Array[]): Buffer[] {
  return parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength));
}

test('records of a frame received in its written pieces decode in place: payloads are views, not copies', () => {
  const parts = pieces(encodeRecordsFrame(location, records));
  const length = parts.reduce((a, p) => a + p.length, 0);
  const d = decodeReadFrameChunks(parts, length);
  assert.equal(d.kind, 'items');
  assert.deepEqual(d.kind === 'items' && d.items, decodeReadFrame(Buffer.concat(parts)).kind === 'items' && (decodeReadFrame(Buffer.concat(parts)) as { items: ReadItem[] }).items);
  const third = d.kind === 'items' ? d.items[2] : null;
  assert.ok(third && third.kind === 'record');
  assert.equal(third.record.payload.buffer, parts[parts.length - 1].buffer, 'the payload is a view of the received piece');
});

test('pieces split anywhere (headers and payloads straddling) decode to the same records; a cut frame is refused', () => {
  const whole = Buffer.concat(pieces(encodeRecordsFrame(location, records)));
  const want = decodeReadFrame(whole);
  for (const step of [1, 3, 7, 13, 64, 1000]) {
    const split: Buffer[] = [];
    for (let o = 0; o < whole.length; o += step) split.push(whole.subarray(o, o + step));
    assert.deepEqual(decodeReadFrameChunks(split, whole.length), want, `pieces of ${step} bytes`);
  }
  const cutShort = whole.subarray(0, whole.length - 10);
  assert.throws(() => decodeReadFrameChunks([cutShort.subarray(0, 20), cutShort.subarray(20)], cutShort.length), (e: Error & { code?: string }) => e.code === 'CAIRN_E_PROTOCOL_RECORD');
});

test('other frames (bad block, error) are joined and decoded as before', () => {
  const parts = pieces(encodeJsonFrame(READ_TAG.BAD_BLOCK, { volume: 'Vol-0001', block: 3, code: 'CAIRN_E_BLOCK_CRC', reason: 'crc' }));
  const d = decodeReadFrameChunks(parts, parts.reduce((a, p) => a + p.length, 0));
  assert.deepEqual(d, { kind: 'items', items: [{ volume: 'Vol-0001', block: 3, code: 'CAIRN_E_BLOCK_CRC', reason: 'crc', kind: 'bad-block' }] });
});
