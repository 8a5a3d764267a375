import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { StreamDigest, HASH_THREAD_MIN_BYTES } from './stream-digest.js';
import { SlabRing } from './slab-ring.js';

const sha = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

test('a stream of several chunks is the plain SHA-256 of its bytes (worker first, then the hash thread)', async () => {
  const ring = new SlabRing(1 << 20, 2);
  const first = ring.acquire(1000);
  const firstView = new Uint8Array(first.sab, 0, 1000);
  firstView.set(randomBytes(1000));
  const kept = Buffer.from(firstView);
  const rest = [randomBytes(300_000), randomBytes(17)];
  const d = new StreamDigest();
  assert.equal(d.add(firstView, null, true), true, 'the worker hashes a first chunk');
  first.release(); // the caller is done with it; the digest holds its slab
  assert.equal(first.holders, 1);
  d.fromWorker(Buffer.alloc(32)); // ignored once a second chunk comes
  for (const c of rest) assert.equal(d.add(c, null, true), false);
  assert.deepEqual(await d.finish(), sha(kept, ...rest));
  assert.equal(first.holders, 0, 'released once hashed');
});

test('a single chunk keeps the worker digest; a small first chunk without a worker is hashed inline; sparse heads count', async () => {
  const one = new StreamDigest();
  one.add(Buffer.from('x'), null, true);
  one.fromWorker(sha(Buffer.from('x')));
  assert.deepEqual(one.finish(), sha(Buffer.from('x')));

  const inline = new StreamDigest();
  inline.add(Buffer.from('abc'), null, false);
  const r = inline.finish();
  assert.ok(Buffer.isBuffer(r), 'not pending');
  assert.deepEqual(r, sha(Buffer.from('abc')));

  const big = randomBytes(HASH_THREAD_MIN_BYTES);
  const threaded = new StreamDigest();
  threaded.add(big, null, false);
  const p = threaded.finish();
  assert.ok(p instanceof Promise, 'a big first chunk goes to the hash thread');
  assert.deepEqual(await p, sha(big));

  const head = Buffer.alloc(16, 1);
  const sparse = new StreamDigest();
  sparse.add(Buffer.from('data'), head, true);
  assert.deepEqual(sparse.finish(), sha(head, Buffer.from('data')));
});
