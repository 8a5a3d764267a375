import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Heartbeat } from './heartbeat.js';

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('sends heartbeats while idle and declares a silent peer dead once', async () => {
  let sent = 0;
  let dead = 0;
  const hb = new Heartbeat({ intervalMs: 30, slackMs: 30, send: () => sent++, onDead: () => dead++ });
  assert.equal(hb.deadAfterMs, 90);
  await wait(600);
  assert.equal(dead, 1);
  assert.ok(sent >= 1, `sent ${sent}`);
  assert.equal(hb.running, false);
  const after = sent;
  await wait(100);
  assert.equal(sent, after, 'no heartbeats after the peer is dead');
});

test('a peer that keeps talking stays alive; stop() ends it', async () => {
  let dead = 0;
  let sent = 0;
  const hb = new Heartbeat({ intervalMs: 40, slackMs: 40, send: () => sent++, onDead: () => dead++ });
  const talker = setInterval(() => hb.seen(), 10);
  await wait(500);
  clearInterval(talker);
  assert.equal(dead, 0);
  assert.ok(sent >= 1, 'heartbeats are sent while we are idle even if the peer talks');
  hb.stop();
  await wait(300);
  assert.equal(dead, 0, 'stopped: never declared dead');
});

test('our own traffic (sent()) makes heartbeats unnecessary', async () => {
  let sent = 0;
  const hb = new Heartbeat({ intervalMs: 50, slackMs: 10_000, send: () => sent++, onDead: () => undefined });
  const writer = setInterval(() => hb.sent(), 5);
  await wait(400);
  clearInterval(writer);
  hb.stop();
  assert.equal(sent, 0);
});

test('a throwing send does not stop the timer', async () => {
  let calls = 0;
  let dead = 0;
  new Heartbeat({ intervalMs: 20, slackMs: 20, send: () => { calls++; throw new Error('EPIPE'); }, onDead: () => dead++ });
  await wait(400);
  assert.ok(calls >= 1);
  assert.equal(dead, 1);
});

test('while the owner holds the peer back (its own back-pressure) a silent peer is not declared dead', async () => {
  let dead = 0;
  let holding = true;
  const hb = new Heartbeat({ intervalMs: 30, slackMs: 30, send: () => undefined, onDead: () => dead++, holdingBack: () => holding });
  await wait(400);
  assert.equal(dead, 0, 'the silence is ours while we hold back');
  holding = false;
  await wait(600);
  assert.equal(dead, 1, 'once we take bytes again, a peer that stays silent is gone');
  assert.equal(hb.running, false);
});

test('bytes that reached us while our own event loop was stalled count before the verdict', async (t) => {
  const { createServer, connect } = await import('node:net');
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as import('node:net').AddressInfo).port;
  const accepted = new Promise<import('node:net').Socket>((r) => server.once('connection', r));
  const client = connect(port, '127.0.0.1');
  const peer = await accepted;
  t.after(() => {
    client.destroy();
    peer.destroy();
    server.close();
  });
  let dead = 0;
  const hb = new Heartbeat({ intervalMs: 30, slackMs: 30, send: () => undefined, onDead: () => dead++ });
  client.on('data', () => hb.seen());
  await wait(20);
  // From the check phase, so the next turn of the loop runs its (overdue) timers before its I/O poll.
  await new Promise((r) => setImmediate(r));
  // The peer speaks; our loop is busy for three times the dead interval before it can read.
  peer.write('x');
  const until = Date.now() + 300;
  while (Date.now() < until) {
    // a stalled event loop (a busy machine, a long synchronous step)
  }
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.equal(dead, 0, 'the byte waiting in the kernel was read before the peer was judged');
  hb.stop();
});
