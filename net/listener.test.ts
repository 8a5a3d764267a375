import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { newNonce } from './auth-proof.js';
import { connect } from './connect.js';
import { LineReader } from './handshake-frames.js';
import { listen, type ListenOptions, type SessionPeer } from './listener.js';
import { frame, frames, memoryLogger, rawConnect, readAll, readFrame } from './testing.js';

const secrets: Record<string, string> = { 'fd:alpha-fd': 'alpha secret', 'director:main-dir': 'dir secret' };

function options(over: Partial<ListenOptions> = {}): ListenOptions & { logger: ReturnType<typeof memoryLogger> } {
  return {
    address: '127.0.0.1',
    port: 0,
    allow: ['127.0.0.0/8', '::1'],
    maxConnections: 8,
    handshake: { serverName: 'store-sd', secretFor: (role, name) => secrets[`${role}:${name}`] },
    loginDelay: { baseMs: 50, capMs: 5000 },
    logger: memoryLogger(),
    onSession: async () => undefined,
    ...over,
  } as ListenOptions & { logger: ReturnType<typeof memoryLogger> };
}

const client = { host: '127.0.0.1', role: 'fd', name: 'alpha-fd', secret: 'alpha secret' } as const;

/** A session that echoes one frame back and ends. */
async function echoOnce(stream: Duplex): Promise<void> {
  const f = await readFrame(stream);
  stream.write(frame(Buffer.concat([Buffer.from('echo '), f])));
}

test('a client is admitted, authenticated and handed to onSession; frames flow both ways after it', async () => {
  const peers: SessionPeer[] = [];
  const opts = options({ onSession: async (s, p) => (peers.push(p), echoOnce(s)) });
  const l = await listen(opts);
  const { stream, serverName, version, tls } = await connect({ ...client, port: l.port, expectServer: 'store-sd' });
  assert.deepEqual([serverName, version, tls], ['store-sd', 1, 'off']);
  stream.write(frame('append open session Ticket=t1'));
  assert.equal((await readFrame(stream)).toString(), 'echo append open session Ticket=t1');
  assert.equal(peers.length, 1);
  assert.deepEqual({ ...peers[0], port: 0 }, { name: 'alpha-fd', role: 'fd', address: '127.0.0.1', port: 0, tls: false, version: 1 });
  assert.ok(opts.logger.entries.some((e) => e.level === 'info' && e.msg === 'peer authenticated'));
  await readAll(stream); // the listener ends the stream when onSession settles
  await l.close();
});

test('wrong secret and unknown name: CAIRN_E_AUTH_FAILED on the client, logged by the server, no session', async () => {
  let sessions = 0;
  const opts = options({ onSession: async () => void sessions++ });
  const l = await listen(opts);
  await assert.rejects(connect({ ...client, port: l.port, secret: 'wrong' }), { code: 'CAIRN_E_AUTH_FAILED' });
  await assert.rejects(connect({ ...client, port: l.port, name: 'ghost-fd' }), { code: 'CAIRN_E_AUTH_FAILED' });
  await new Promise((r) => setTimeout(r, 50));
  const fails = opts.logger.entries.filter((e) => e.msg.startsWith('authentication failed'));
  assert.deepEqual(fails.map((e) => [e.obj.name, e.obj.knownName, e.obj.failures, e.obj.address]), [['alpha-fd', true, 1, '127.0.0.1'], ['ghost-fd', false, 2, '127.0.0.1']]);
  assert.equal(sessions, 0);
  await l.close();
});

/** A client that does not check the server's proof and sends a wrong one; resolves with the ms it waited for the verdict. */
async function badProof(port: number, onSent?: () => void): Promise<{ waitedMs: number; verdict: string }> {
  const s = await rawConnect(port);
  const rd = new LineReader(s);
  assert.match(await rd.next(), /^1000 ready Cairn\/1 TLS=off$/);
  s.write(frame(`hello Cairn/1 Role=fd Name=alpha-fd Versions=1 Nonce=${newNonce()}`));
  assert.match(await rd.next(), /^1000 challenge /);
  const t0 = Date.now();
  s.write(frame(`auth Proof=${'ab'.repeat(32)}`));
  onSent?.();
  const verdict = await rd.next();
  const waitedMs = Date.now() - t0;
  s.destroy();
  return { waitedMs, verdict };
}

test('failed logins from one address wait longer each time; a valid client meanwhile is served at once', async () => {
  const base = 100;
  const l = await listen(options({ loginDelay: { baseMs: base, capMs: 60_000 }, onSession: echoOnce }));
  const waits: number[] = [];
  for (let n = 1; n <= 3; n++) {
    const { waitedMs, verdict } = await badProof(l.port);
    assert.equal(verdict, '1401 CAIRN_E_AUTH_FAILED authentication failed');
    // setTimeout may fire a millisecond early; the delay itself is base × 2^(n−1).
    assert.ok(waitedMs >= base * 2 ** (n - 1) - 2, `attempt ${n} waited ${waitedMs} ms`);
    if (waits.length) assert.ok(waitedMs >= waits[waits.length - 1] - 2, `attempt ${n}: ${waitedMs} after ${waits}`);
    waits.push(waitedMs);
  }
  // Fourth failure is delayed 800 ms; a valid client starting meanwhile must not wait for it.
  const order: string[] = [];
  let valid: Promise<void> = Promise.resolve();
  const bad = badProof(l.port, () => {
    valid = connect({ ...client, port: l.port }).then(async ({ stream }) => {
      stream.write(frame('ping'));
      await readFrame(stream);
      order.push('valid served');
      stream.destroy();
    });
  }).then(() => void order.push('failure answered'));
  await bad;
  await valid;
  assert.deepEqual(order, ['valid served', 'failure answered']);
  await l.close();
});

test('garbage, an overlong line, a half hello and a dropped connection do not stop the listener', async () => {
  const l = await listen(options({ onSession: echoOnce }));
  const greet = async (): Promise<{ s: Awaited<ReturnType<typeof rawConnect>>; rest: Promise<Buffer> }> => {
    const s = await rawConnect(l.port);
    const rest = readAll(s);
    return { s, rest };
  };
  const g = await greet();
  g.s.write('\x16\x03\x01 definitely not a frame');
  const gl = frames(await g.rest);
  assert.equal(gl[0], '1000 ready Cairn/1 TLS=off');
  assert.match(gl[1], /^1400 CAIRN_E_AUTH_PROTOCOL A handshake line of \d+ bytes exceeds the limit of 1024/);
  const o = await greet();
  o.s.write(frame('hello ' + 'a'.repeat(2000)));
  assert.match(frames(await o.rest)[1], /^1400 CAIRN_E_AUTH_PROTOCOL A handshake line of 2006 bytes exceeds the limit of 1024/);
  const h = await greet();
  h.s.end(frame(`hello Cairn/1 Role=fd Name=alpha-fd Versions=1 Nonce=${newNonce()}`).subarray(0, 30));
  await h.rest;
  const d = await greet();
  d.s.destroy();
  await d.rest;
  const { stream } = await connect({ ...client, port: l.port });
  stream.write(frame('still here'));
  assert.equal((await readFrame(stream)).toString(), 'echo still here');
  stream.destroy();
  await l.close();
});

test('a host outside the allow-list gets 1403 and CAIRN_E_NET_NOT_ALLOWED; the refusal is logged', async () => {
  const opts = options({ allow: ['10.0.0.0/8', '2001:db8::/32'] });
  const l = await listen(opts);
  await assert.rejects(connect({ ...client, port: l.port }), (e: { code: string; fields: Record<string, unknown> }) =>
    e.code === 'CAIRN_E_NET_NOT_ALLOWED' && e.fields.status === 1403 && e.fields.serverMessage === 'host 127.0.0.1 is not allowed');
  assert.ok(opts.logger.entries.some((e) => e.level === 'warn' && e.obj.address === '127.0.0.1' && /allow-list/.test(e.msg)));
  assert.equal(l.connections(), 0);
  await l.close();
});

test('beyond maxConnections a client gets 1503 CAIRN_E_NET_BUSY; connections are counted until they close', async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const l = await listen(options({ maxConnections: 1, onSession: async () => held }));
  const first = await connect({ ...client, port: l.port });
  assert.equal(l.connections(), 1);
  await assert.rejects(connect({ ...client, port: l.port }), (e: { code: string; message: string; retryable: boolean }) =>
    e.code === 'CAIRN_E_NET_BUSY' && /too many connections \(max 1\)/.test(e.message) && e.retryable);
  release();
  await readAll(first.stream);
  for (let i = 0; i < 50 && l.connections() > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(l.connections(), 0);
  const again = await connect({ ...client, port: l.port });
  again.stream.destroy();
  await l.close();
});

test('close() stops accepting and destroys live connections', async () => {
  const l = await listen(options({ onSession: () => new Promise(() => undefined) }));
  const c = await connect({ ...client, port: l.port });
  const ended = readAll(c.stream);
  await l.close();
  await ended;
  assert.ok(c.stream.destroyed || c.stream.readableEnded);
  await assert.rejects(connect({ ...client, port: l.port, service: 'cairn-sd' }), { code: 'CAIRN_E_NET_CONNECT' });
});

test('connect errors name host:port and errno; a silent server times out', async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  await assert.rejects(connect({ ...client, port, service: 'cairn-sd' }), (e: { code: string; message: string; fields: Record<string, unknown> }) =>
    e.code === 'CAIRN_E_NET_CONNECT' && e.fields.errno === 'ECONNREFUSED' && e.message.includes(`Is cairn-sd running on 127.0.0.1:${port}?`));
  const silent = createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const sp = (silent.address() as { port: number }).port;
  await assert.rejects(connect({ ...client, port: sp, timeoutMs: 150 }), (e: { code: string; fields: Record<string, unknown> }) =>
    e.code === 'CAIRN_E_NET_TIMEOUT' && e.fields.phase === 'greeting' && e.fields.port === sp);
  silent.close();
  // A non-Cairn server's banner is not a greeting.
  const ssh = createServer((s) => s.end('SSH-2.0-OpenSSH_9.6\r\n'));
  await new Promise<void>((r) => ssh.listen(0, '127.0.0.1', r));
  await assert.rejects(connect({ ...client, port: (ssh.address() as { port: number }).port }), /did not greet like a Cairn daemon/);
  ssh.close();
});

