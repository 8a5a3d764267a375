import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SlabRing, slabOf } from './slab-ring.js';

test('a slab goes back to its ring on its last release and is reused', () => {
  const ring = new SlabRing(1024, 2);
  const a = ring.acquire(100);
  a.hold(); // a second user (the hash thread, say)
  a.release();
  assert.equal(ring.freeCount, 0, 'still held once: not free');
  a.release();
  assert.equal(ring.freeCount, 1);
  const b = ring.acquire(1024);
  assert.equal(b, a, 'the freed slab is handed out again');
  assert.equal(ring.created, 1);
  assert.throws(() => {
    b.release();
    b.release();
  }, /released more often than held/);
});

test('a request bigger than the slab size gets a one-off slab that never joins the ring', () => {
  const ring = new SlabRing(1024, 2);
  const big = ring.acquire(4096);
  assert.equal(big.sab.byteLength, 4096);
  big.release();
  assert.equal(ring.freeCount, 0);
});

test('the ring keeps at most maxFree slabs; slabOf finds the slab behind a view', () => {
  const ring = new SlabRing(64, 1);
  const s1 = ring.acquire(8);
  const s2 = ring.acquire(8);
  assert.equal(slabOf(new Uint8Array(s2.sab, 4, 2)), s2);
  assert.equal(slabOf(new Uint8Array(8)), undefined);
  s1.release();
  s2.release();
  assert.equal(ring.freeCount, 1);
});
