import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginDelay } from './login-delay.js';
import { memoryLogger } from './testing.js';

test('delay doubles per failure from one address, capped; other addresses are unaffected', () => {
  const log = memoryLogger();
  const d = new LoginDelay({ baseMs: 100, capMs: 1000, logger: log });
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => d.failed('10.0.0.1', { name: 'x-fd', role: 'fd' })), [100, 200, 400, 800, 1000, 1000]);
  assert.equal(d.failed('10.0.0.2', { name: 'y' }), 100);
  assert.equal(log.entries.length, 7);
  assert.deepEqual(log.entries[2].obj, { address: '10.0.0.1', name: 'x-fd', role: 'fd', knownName: undefined, stage: undefined, failures: 3, delayMs: 400 });
  assert.equal(log.entries[2].level, 'warn');
});

test('a success or a quiet period forgets the failures', () => {
  let now = 0;
  const d = new LoginDelay({ baseMs: 10, capMs: 10_000, forgetAfterMs: 1000, now: () => now });
  d.failed('a');
  d.failed('a');
  assert.equal(d.failures('a'), 2);
  d.succeeded('a');
  assert.equal(d.failures('a'), 0);
  assert.equal(d.failed('a'), 10);
  now = 500;
  assert.equal(d.failed('a'), 20);
  now = 1600;
  assert.equal(d.failures('a'), 0);
  assert.equal(d.failed('a'), 10);
});

test('remembers a bounded number of addresses', () => {
  const d = new LoginDelay({ baseMs: 1, maxAddresses: 3 });
  for (const a of ['a', 'b', 'c', 'd']) d.failed(a);
  assert.equal(d.failures('a'), 0);
  assert.equal(d.failures('d'), 1);
});

test('defaults: 1 s base, 30 s cap', () => {
  const d = new LoginDelay();
  assert.equal(d.delayFor(1), 1000);
  assert.equal(d.delayFor(5), 16000);
  assert.equal(d.delayFor(6), 30000);
  assert.equal(d.delayFor(100), 30000);
});
