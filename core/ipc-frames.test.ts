import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { serialize } from 'node:v8';
import { FRAME_HEADER_BYTES, FrameReader, Kind, MAX_FRAME_PAYLOAD, decodeControl, type FrameHeader } from './ipc-frames.js';

function frame(kind: number, id: number, payload: Buffer, offset = -1, ref = 0, aux = 0): Buffer {
  const h = Buffer.alloc(FRAME_HEADER_BYTES);
  h.writeUInt32BE(payload.length, 0);
  h.writeUInt8(kind, 4);
  h.writeUInt32BE(id, 5);
  h.writeUInt32BE(ref, 9);
  h.writeUInt32BE(aux, 13);
  h.writeDoubleBE(offset, 17);
  return Buffer.concat([h, payload]);
}

test('frames cut at any byte come out whole; data payloads land in the buffer the target gives', () => {
  const data = Buffer.alloc(300_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
  const control = { hook: 'nextFile', args: { path: new Uint8Array([0xff, 0x2f]), ino: 12345678901234567890n } };
  const stream = Buffer.concat([frame(Kind.CALL, 1, serialize(control)), frame(Kind.CHUNK, 2, data, 4096), frame(Kind.END, 2, Buffer.alloc(0)), frame(Kind.CREDIT, 3, Buffer.alloc(0), -1, 0, 1 << 20)]);
  for (const step of [1, 7, 25, 4096, 65536, stream.length]) {
    const got: Array<{ h: FrameHeader; p: Buffer }> = [];
    const targets: Buffer[] = [];
    const r = new FrameReader(
      (h, p) => got.push({ h, p }),
      (h) => (h.kind === Kind.CHUNK ? (targets[targets.length] = Buffer.alloc(h.length)) : null),
    );
    for (let at = 0; at < stream.length; at += step) r.push(stream.subarray(at, at + step));
    assert.deepEqual(got.map((g) => g.h.kind), [Kind.CALL, Kind.CHUNK, Kind.END, Kind.CREDIT], `step ${step}`);
    assert.deepEqual(decodeControl(got[0].p), control);
    assert.equal(got[1].h.offset, 4096);
    assert.ok(got[1].p.equals(data));
    assert.equal(got[1].p, targets[0], 'the chunk was copied into the target buffer, not another');
    assert.equal(got[2].p.length, 0);
    assert.equal(got[3].h.aux, 1 << 20);
  }
});

test('a frame longer than the limit is refused before anything is allocated', () => {
  const h = Buffer.alloc(FRAME_HEADER_BYTES);
  h.writeUInt32BE(MAX_FRAME_PAYLOAD + 1, 0);
  const r = new FrameReader(() => assert.fail('no frame'));
  assert.throws(() => r.push(h), /exceeds/);
});
