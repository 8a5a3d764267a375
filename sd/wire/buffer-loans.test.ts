import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LoanRing, loanOf, passOn, takePassed } from './buffer-loans.js';
import { duplexPair } from './duplex-pair.js';

test('a loaned buffer returns to its ring only when its last holder lets go', () => {
  const ring = new LoanRing(1024, 2);
  const a = ring.acquire();
  const view = a.bytes.subarray(10, 20);
  assert.equal(loanOf(view), a);
  a.hold(); // a record in it
  a.release(); // the scanner moves on
  assert.equal(ring.freeCount, 0, 'still held by the record');
  a.release();
  assert.equal(ring.freeCount, 1);
  assert.equal(ring.acquire(), a, 'reused');
  assert.equal(ring.created, 1);
  a.release();
  assert.throws(() => a.release(), /released more often than held/);
});

test('a releaser lets go once however often it is called; a ring keeps only so many free buffers', () => {
  const ring = new LoanRing(64, 1);
  const a = ring.acquire();
  const b = ring.acquire();
  const r = a.hold().releaser();
  a.release();
  r();
  r();
  assert.equal(a.holders, 0);
  b.release();
  assert.equal(ring.freeCount, 1, 'the second free buffer is left to GC');
  assert.equal(loanOf(Buffer.alloc(8)), undefined, 'memory that is not loaned has no loan');
});

test('an in-memory pair passes a loaned chunk by reference with a hold the reader takes by identity', async () => {
  const ring = new LoanRing(4096, 4);
  const loan = ring.acquire();
  const chunk = loan.bytes.subarray(0, 100);
  chunk.fill(7);
  const [w, r] = duplexPair();
  const got = new Promise<Buffer>((resolve) => r.once('data', resolve));
  await new Promise<void>((resolve, reject) => w.write(chunk, (err) => (err ? reject(err) : resolve())));
  loan.release(); // the writer is done once its write was called back
  assert.equal(loan.holders, 1, 'the pair holds it for the reader');
  const received = await got;
  assert.equal(received, chunk, 'the very object');
  assert.equal(takePassed(received.subarray(0, 10)), undefined, 'a view of it is not what was passed');
  const release = takePassed(received);
  assert.ok(release);
  assert.equal(takePassed(received), undefined, 'taken once');
  assert.equal(ring.freeCount, 0);
  release();
  assert.equal(ring.freeCount, 1, 'back for reuse once the reader let go');
  passOn(Buffer.alloc(4)); // not loaned: nothing to hold
  w.destroy();
  r.destroy();
});
