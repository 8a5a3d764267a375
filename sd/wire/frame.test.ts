import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDataFrame, encodeRecordHeader, type RecordHeader } from './data-record.js';
import { duplexPair } from './duplex-pair.js';
import { Signal, joinChunks } from './frame.js';
import { FrameReader } from './frame-reader.js';
import { FrameWriter } from './frame-writer.js';

test('frames and signals cross a duplexPair intact, whatever the chunking', async () => {
  const [a, b] = duplexPair(64);
  const w = new FrameWriter(a);
  const r = new FrameReader(b);
  const big = Buffer.alloc(100_000, 7);
  const sent = (async () => {
    await w.writeText('append open session Ticket=abc');
    await w.writeFrame([Buffer.from('x'), big, Buffer.from('y')]);
    await w.writeSignal(Signal.EOD);
    await w.writeFrame([]);
    a.end();
  })();
  const f1 = await r.next();
  assert.ok(f1 && f1.kind === 'payload');
  assert.equal(joinChunks(f1.chunks, f1.length).toString(), 'append open session Ticket=abc');
  const f2 = await r.next();
  assert.ok(f2 && f2.kind === 'payload');
  const body = joinChunks(f2.chunks, f2.length);
  assert.equal(body.length, 100_002);
  assert.equal(body[0], 0x78);
  assert.equal(body[100_001], 0x79);
  assert.deepEqual(await r.next(), { kind: 'signal', signal: Signal.EOD });
  const f4 = await r.next();
  assert.ok(f4 && f4.kind === 'payload' && f4.length === 0);
  assert.equal(await r.next(), null);
  await sent;
});

test('duplexPair back-pressure: write() returns false until the reader consumes', async () => {
  const [a, b] = duplexPair(1024);
  let ok = true;
  let writes = 0;
  while (ok && writes < 1000) {
    ok = a.write(Buffer.alloc(512));
    writes++;
  }
  assert.equal(ok, false, 'the writer is told to wait');
  assert.ok(writes < 10);
  let drained = false;
  a.once('drain', () => (drained = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(drained, false, 'no drain while nobody reads');
  b.resume();
  await new Promise((r) => a.once('drain', r));
  assert.equal(drained, true);
});

test('several records share one data frame and parse back with zero-copy slices', async () => {
  const recs = [
    { fileIndex: 1, streamType: 1, streamNo: 0, payload: Buffer.from('attrs') },
    { fileIndex: 1, streamType: 2, streamNo: 3, payload: Buffer.alloc(0) },
    { fileIndex: 0xffffffff, streamType: 0xffff, streamNo: 0xffff, payload: Buffer.alloc(3000, 1) },
  ];
  const parts: Buffer[] = [];
  for (const r of recs) parts.push(encodeRecordHeader(r), r.payload);
  // Split at awkward places, as a socket would.
  const whole = Buffer.concat(parts);
  const chunks = [whole.subarray(0, 5), whole.subarray(5, 20), whole.subarray(20)];
  const got: Array<{ h: RecordHeader; p: Buffer }> = [];
  await parseDataFrame(chunks, (h, p) => void got.push({ h, p: Buffer.concat(p) }));
  assert.equal(got.length, 3);
  for (let i = 0; i < 3; i++) {
    assert.equal(got[i].h.fileIndex, recs[i].fileIndex);
    assert.equal(got[i].h.streamType, recs[i].streamType);
    assert.equal(got[i].h.streamNo, recs[i].streamNo);
    assert.ok(got[i].p.equals(recs[i].payload));
  }
  await assert.rejects(parseDataFrame([whole.subarray(0, whole.length - 1)], () => undefined), { code: 'CAIRN_E_PROTOCOL_RECORD' });
});
