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
