import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { connect } from './connect.js';
import { listen, type ListenOptions, type SessionPeer } from './listener.js';
import { readAdmission } from './admission.js';
import { offerHandshake } from './handshake.js';
import { derivePsk, effectiveMode, secureClient } from './tls.js';
import { frame, memoryLogger, readFrame } from './testing.js';

const secrets: Record<string, string> = { 'fd:alpha-fd': 'alpha secret' };
const client = { host: '127.0.0.1', role: 'fd', name: 'alpha-fd', secret: 'alpha secret' } as const;

function options(over: Partial<ListenOptions>): ListenOptions {
  return {
    address: '127.0.0.1',
    port: 0,
    allow: ['127.0.0.0/8'],
    maxConnections: 4,
    handshake: { serverName: 'store-sd', secretFor: (role, name) => secrets[`${role}:${name}`] },
    loginDelay: { baseMs: 20 },
    logger: memoryLogger(),
    onSession: async (s) => {
      const f = await readFrame(s);
      s.write(frame(Buffer.concat([Buffer.from('echo '), f])));
    },
    ...over,
  };
}

/** A TCP proxy to `port` that records every byte in both directions. */
async function tap(port: number): Promise<{ port: number; bytes: () => Buffer; server: Server }> {
  const seen: Buffer[] = [];
  const server = createServer((a) => {
    const b = tcpConnect({ host: '127.0.0.1', port });
    a.on('data', (c: Buffer) => (seen.push(c), b.write(c)));
    b.on('data', (c: Buffer) => (seen.push(c), a.write(c)));
    a.on('close', () => b.destroy());
    b.on('close', () => a.destroy());
    a.on('error', () => undefined);
    b.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, bytes: () => Buffer.concat(seen), server };
}

test('psk: TLS 1.2 with a PSK cipher, the handshake and the session inside it, nothing in plaintext but the admission line', async () => {
  const peers: SessionPeer[] = [];
  const base = options({ tls: { mode: 'psk' } });
  const l = await listen({ ...base, onSession: async (s, p) => (peers.push(p), base.onSession(s, p)) });
  const proxy = await tap(l.port);
  const c = await connect({ ...client, port: proxy.port, tls: { mode: 'psk' } });
  assert.equal(c.tls, 'psk');
  const sock = c.stream as TLSSocket;
  assert.equal(sock.encrypted, true);
  assert.match(sock.getCipher().name, /^PSK-(AES256-GCM-SHA384|CHACHA20-POLY1305)$/);
  assert.equal(sock.getProtocol(), 'TLSv1.2');
  c.stream.write(frame('the secret payload of a backup'));
  assert.equal((await readFrame(c.stream)).toString(), 'echo the secret payload of a backup');
  assert.equal(peers[0].tls, true);
  const wire = proxy.bytes().toString('latin1');
  assert.ok(wire.includes('1000 ready Cairn/1 TLS=psk'), 'the admission line is plaintext');
  for (const plain of ['hello Cairn/1', 'challenge', 'welcome', 'secret payload', 'alpha secret']) assert.ok(!wire.includes(plain), `"${plain}" on the wire`);
  c.stream.destroy();
  proxy.server.close();
  await l.close();
});

test('psk with the wrong secret fails in TLS (CAIRN_E_NET_TLS); TLS mode disagreement is named', async () => {
  let sessions = 0;
  const opts = options({ tls: { mode: 'psk' }, onSession: async () => void sessions++ });
  const l = await listen(opts);
  await assert.rejects(connect({ ...client, port: l.port, secret: 'wrong', tls: { mode: 'psk' } }), { code: 'CAIRN_E_NET_TLS' });
  // An unknown identity fails the same way as a wrong PSK (no unknown_psk_identity alert).
  const unknown = await connect({ ...client, port: l.port, name: 'ghost-fd', tls: { mode: 'psk' } }).catch((e: Error & { code: string }) => e);
  const wrong = await connect({ ...client, port: l.port, secret: 'wrong', tls: { mode: 'psk' } }).catch((e: Error & { code: string }) => e);
  assert.equal((unknown as { code: string }).code, 'CAIRN_E_NET_TLS');
  assert.equal((unknown as Error).message, (wrong as Error).message);
  await assert.rejects(connect({ ...client, port: l.port, tls: { mode: 'off' } }), (e: { code: string; message: string }) => e.code === 'CAIRN_E_NET_TLS' && /uses TLS mode psk/.test(e.message));
  assert.equal(sessions, 0);
  const fails = (opts.logger as ReturnType<typeof memoryLogger>).entries.filter((e) => e.msg === 'authentication failed');
  assert.deepEqual(fails.map((e) => [e.obj.stage, e.obj.name, e.obj.failures]), [
    ['tls-psk', 'fd:alpha-fd', 1], ['tls-psk', 'fd:ghost-fd', 2], ['tls-psk', 'fd:alpha-fd', 3],
  ]);
  await l.close();
});

test('auto is off on loopback (both sides agree), psk elsewhere', async () => {
  assert.equal(effectiveMode({ mode: 'auto' }, '127.0.0.1'), 'off');
  assert.equal(effectiveMode({ mode: 'auto' }, '::ffff:127.0.0.1'), 'off');
  assert.equal(effectiveMode({ mode: 'auto' }, '192.0.2.10'), 'psk');
  assert.equal(effectiveMode(undefined, '192.0.2.10'), 'off');
  const l = await listen(options({ tls: { mode: 'auto' } }));
  const c = await connect({ ...client, port: l.port, tls: { mode: 'auto' } });
  assert.equal(c.tls, 'off');
  c.stream.destroy();
  await l.close();
});

test('the PSK is HKDF-SHA256 of the secret with info cairn-tls-psk-v1', () => {
  // RFC 5869 extract with an empty salt uses HashLen zero bytes; computed independently with createHmac.
  const prk = createHmac('sha256', Buffer.alloc(32)).update(Buffer.from('alpha secret')).digest();
  const okm = createHmac('sha256', prk).update(Buffer.concat([Buffer.from('cairn-tls-psk-v1'), Buffer.from([1])])).digest();
  assert.deepEqual(derivePsk('alpha secret'), okm);
});

test('cert: mutual TLS with certificates from files; an untrusted client certificate is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-net-tls-'));
  try {
    const make = (name: string): { cert: string; key: string } => {
      const cert = join(dir, `${name}.crt`);
      const key = join(dir, `${name}.key`);
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ed25519', '-keyout', key, '-out', cert, '-days', '2', '-nodes', '-subj', '/CN=test', '-addext', 'subjectAltName=DNS:test'], { stdio: 'ignore' });
      return { cert, key };
    };
    const good = make('good');
    const stranger = make('stranger');
    const peers: SessionPeer[] = [];
    const base = options({ tls: { mode: 'cert', ...good, ca: good.cert } });
    const l = await listen({ ...base, onSession: async (s, p) => (peers.push(p), base.onSession(s, p)) });
    const c = await connect({ ...client, port: l.port, tls: { mode: 'cert', ...good, ca: good.cert, serverName: 'test' } });
    assert.equal(c.tls, 'cert');
    assert.equal((c.stream as TLSSocket).authorized, true);
    c.stream.write(frame('over cert tls'));
    assert.equal((await readFrame(c.stream)).toString(), 'echo over cert tls');
    assert.equal(peers[0].tls, true);
    c.stream.destroy();
    await assert.rejects(connect({ ...client, port: l.port, tls: { mode: 'cert', ...stranger, ca: good.cert, serverName: 'test' } }), { code: 'CAIRN_E_NET_TLS' });
    await assert.rejects(connect({ ...client, port: l.port, tls: { mode: 'cert', ...good, ca: good.cert, serverName: 'other-name' } }), { code: 'CAIRN_E_NET_TLS' });
    await assert.rejects(connect({ ...client, port: l.port, tls: { mode: 'cert', ...good, ca: join(dir, 'missing.crt') } }), { code: 'CAIRN_E_NET_CONFIG' });
    await l.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('psk: a handshake for another peer than the PSK identity is dropped after the handshake, never reaching onSession', async () => {
  const both: Record<string, string> = { 'fd:alpha-fd': 'alpha secret', 'director:main-dir': 'dir secret' };
  let sessions = 0;
  const opts = options({ tls: { mode: 'psk' }, handshake: { serverName: 'store-sd', secretFor: (r, n) => both[`${r}:${n}`] }, onSession: async () => void sessions++ });
  const l = await listen(opts);
  const raw = await new Promise<import('node:net').Socket>((r) => {
    const s = tcpConnect({ host: '127.0.0.1', port: l.port }, () => r(s));
  });
  assert.equal(await readAdmission(raw, { host: '127.0.0.1', port: l.port }), 'psk');
  const tls = await secureClient(raw, 'psk', { role: 'fd', name: 'alpha-fd', secret: 'alpha secret', host: '127.0.0.1' });
  // The handshake succeeds as the director (we know its secret too) ...
  await offerHandshake(tls, { role: 'director', name: 'main-dir', secret: 'dir secret' });
  // ... but the listener sees the PSK identity fd:alpha-fd and closes.
  await new Promise<void>((r) => (tls.destroyed ? r() : tls.once('close', () => r())));
  assert.equal(sessions, 0);
  const log = (opts.logger as ReturnType<typeof memoryLogger>).entries;
  assert.ok(log.some((e) => {
    const err = e.obj.err as Record<string, unknown> | undefined;
    return err?.code === 'CAIRN_E_AUTH_FAILED' && err.identity === 'fd:alpha-fd';
  }), JSON.stringify(log));
  await l.close();
});
