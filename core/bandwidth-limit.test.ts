import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BandwidthLimit } from './bandwidth-limit.js';

test('BandwidthLimit: within one burst nothing waits; beyond it the wait is what brings the average back to the limit', () => {
  let now = 1000;
  const limit = new BandwidthLimit(1_000_000, () => now); // 1 MB/s: burst 250 ms = 250 kB
  assert.equal(limit.take(200_000), undefined);
  // 200 kB + 300 kB = 500 ms at the limit, 250 ms of it allowed as burst: the caller is 250 ms ahead.
  const wait = limit.take(300_000);
  assert.ok(wait instanceof Promise);
  now += 1000; // a second later the budget has refilled to one burst, no more
  assert.equal(limit.take(250_000), undefined);
  assert.ok(limit.take(100_000) instanceof Promise);
  assert.throws(() => new BandwidthLimit(0), RangeError);
});
