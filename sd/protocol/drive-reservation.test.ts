import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DriveReservation } from './drive-reservation.js';

test('appends of one pool share the drive; a read waits for them and then has it alone; order is kept', async () => {
  const r = new DriveReservation('lto');
  const a1 = await r.acquire({ mode: 'append', pool: 'P' });
  const a2 = await r.acquire({ mode: 'append', pool: 'P' });
  const order: string[] = [];
  const read = r.acquire({ mode: 'read' }).then((rel) => (order.push('read'), rel));
  const a3 = r.acquire({ mode: 'append', pool: 'P' }).then((rel) => (order.push('a3'), rel)); // no overtaking the read
  const other = r.acquire({ mode: 'append', pool: 'Q' }).then((rel) => (order.push('Q'), rel));
  await new Promise((res) => setImmediate(res));
  assert.deepEqual(order, []);
  assert.equal(r.state.waiting, 3);
  a1();
  a2();
  const relRead = await read;
  assert.deepEqual(order, ['read']);
  assert.deepEqual(r.state.use, { mode: 'read' });
  relRead();
  (await a3)();
  (await other)();
  assert.deepEqual(order, ['read', 'a3', 'Q']);
  assert.deepEqual(r.state, { use: null, holders: 0, waiting: 0 });
});

test('a waiter that gives up lets the ones it held back through when they fit', async () => {
  const r = new DriveReservation('lto');
  const a1 = await r.acquire({ mode: 'append', pool: 'P' });
  const stop = new AbortController();
  const read = r.acquire({ mode: 'read' }, stop.signal);
  let a2Granted = false;
  const a2 = r.acquire({ mode: 'append', pool: 'P' }).then((rel) => ((a2Granted = true), rel));
  await new Promise((res) => setImmediate(res));
  assert.equal(a2Granted, false, 'the append waits behind the read');
  stop.abort();
  await assert.rejects(read, /Stopped waiting for tape drive lto/);
  (await a2)();
  assert.equal(a2Granted, true, 'with the read gone, the append of the pool in use shares the drive at once');
  assert.deepEqual(r.state, { use: { mode: 'append', pool: 'P' }, holders: 1, waiting: 0 });
  a1();
  assert.deepEqual(r.state, { use: null, holders: 0, waiting: 0 });
});
