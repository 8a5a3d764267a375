import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceSlots } from './device-slots.js';

test('DeviceSlots: at most max at once, waiters served in arrival order, a released slot goes to the next waiter', async () => {
  const slots = new DeviceSlots('File1', 2);
  const a = await slots.acquire();
  const b = await slots.acquire();
  const order: string[] = [];
  const c = slots.acquire().then((r) => (order.push('c'), r));
  const d = slots.acquire().then((r) => (order.push('d'), r));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, []);
  assert.equal(slots.waiting, 2);
  a();
  a(); // a second call of one releaser frees nothing more
  const rc = await c;
  assert.deepEqual(order, ['c']);
  assert.equal(slots.inUse, 2);
  b();
  const rd = await d;
  assert.deepEqual(order, ['c', 'd']);
  rc();
  rd();
  assert.equal(slots.inUse, 0);
});

test('DeviceSlots: a waiter whose signal aborts leaves the queue with CAIRN_E_SESSION_ABORTED; 0 means unlimited', async () => {
  const slots = new DeviceSlots('File1', 1);
  const held = await slots.acquire();
  const ac = new AbortController();
  const waiting = slots.acquire(ac.signal);
  ac.abort('cancelled');
  await assert.rejects(waiting, { code: 'CAIRN_E_SESSION_ABORTED' });
  assert.equal(slots.waiting, 0);
  held();
  assert.equal(slots.inUse, 0);
  const free = new DeviceSlots('File2', 0);
  await Promise.all(Array.from({ length: 50 }, () => free.acquire()));
  assert.equal(free.inUse, 50);
});
