import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { CLIENT_LABEL, SERVER_LABEL, newNonce, parseLine, proof, proofMessage, secretKey } from './auth-proof.js';
import { LineReader } from './handshake-frames.js';
import { acceptHandshake, offerHandshake, type AcceptOptions } from './handshake.js';
import { frame, frames, rawConnect, readAll, readFrame } from './testing.js';

/** A TCP server on 127.0.0.1:0 handing each accepted socket to `onSocket`. */
async function server(onSocket: (s: Socket) => void): Promise<{ srv: Server; port: number }> {
  const srv = createServer(onSocket);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  srv.unref();
  return { srv, port: (srv.address() as { port: number }).port };
}

const secrets: Record<string, string> = { 'fd:alpha-fd': 'alpha secret', 'director:main-dir': 'dir secret' };
const acceptOpts: AcceptOptions = { serverName: 'store-sd', secretFor: (role, name) => secrets[`${role}:${name}`] };

test('handshake succeeds both ways and the next protocol starts at the exact next byte', async () => {
  let serverSide: Promise<{ peer: unknown; first: Buffer }> = Promise.resolve({ peer: null, first: Buffer.alloc(0) });
  const { srv, port } = await server((s) => {
    serverSide = (async () => {
      const peer = await acceptHandshake(s, acceptOpts);
      s.write(frame('3000 OK first frame of the next protocol'));
      return { peer, first: await readFrame(s) };
    })();
  });
  const c = await rawConnect(port);
  const r = await offerHandshake(c, { role: 'fd', name: 'alpha-fd', secret: 'alpha secret', expectServer: 'store-sd' });
  assert.deepEqual(r, { serverName: 'store-sd', version: 1 });
  c.write(frame('append open session Ticket=abc'));
  assert.equal((await readFrame(c)).toString(), '3000 OK first frame of the next protocol');
  const { peer, first } = await serverSide;
  assert.deepEqual(peer, { peerName: 'alpha-fd', peerRole: 'fd', version: 1 });
  assert.equal(first.toString(), 'append open session Ticket=abc');
  c.destroy();
  srv.close();
});

test('bytes that arrive in the same chunk as the last handshake line stay in the stream (both sides)', async () => {
  // Hand-written server: writes welcome and the next frame in one write().
  const { srv, port } = await server((s) => {
    (async () => {
      const rd = new LineReader(s);
      const hello = parseLine(await rd.next())!;
      const input = { clientNonce: hello.args.get('nonce')!, serverNonce: newNonce(), role: 'fd', clientName: 'alpha-fd', serverName: 'store-sd', offered: hello.args.get('versions')!, version: 1 };
      const key = secretKey('alpha secret');
      s.write(frame(`1000 challenge Version=1 Name=store-sd Nonce=${input.serverNonce} Proof=${proof(key, SERVER_LABEL, input)}`));
      await rd.next();
      rd.release();
      s.write(Buffer.concat([frame('1000 welcome Version=1'), frame('NEXT'), Buffer.from([0x80, 0, 0, 2])]));
    })();
  });
  const c = await rawConnect(port);
  await offerHandshake(c, { role: 'fd', name: 'alpha-fd', secret: 'alpha secret' });
  assert.equal((await readFrame(c)).toString(), 'NEXT');
  const rest = await new Promise<Buffer>((r) => {
    c.once('data', r);
    c.resume();
  });
  assert.deepEqual([...rest], [0x80, 0, 0, 2]);
  c.destroy();
  srv.close();

  // Hand-written client: writes its proof and the next frame in one write().
  let got: Promise<Buffer> = Promise.resolve(Buffer.alloc(0));
  const two = await server((s) => {
    got = acceptHandshake(s, acceptOpts).then(() => readFrame(s));
  });
  const c2 = await rawConnect(two.port);
  const nonce = newNonce();
  c2.write(frame(`hello Cairn/1 Role=fd Name=alpha-fd Versions=1 Nonce=${nonce}`));
  const rd = new LineReader(c2);
  const ch = parseLine((await rd.next()).slice(5))!;
  const input = { clientNonce: nonce, serverNonce: ch.args.get('nonce')!, role: 'fd', clientName: 'alpha-fd', serverName: 'store-sd', offered: '1', version: 1 };
  c2.write(Buffer.concat([frame(`auth Proof=${proof(secretKey('alpha secret'), CLIENT_LABEL, input)}`), frame('AFTER AUTH')]));
  assert.equal(await rd.next(), '1000 welcome Version=1');
  assert.equal((await got).toString(), 'AFTER AUTH');
  c2.destroy();
  two.srv.close();
});

test('wrong secret and unknown name look the same to the client (CAIRN_E_AUTH_FAILED on the server proof)', async () => {
  const outcomes: Promise<unknown>[] = [];
  const { srv, port } = await server((s) => outcomes.push(acceptHandshake(s, acceptOpts).catch((e) => e)));
  const messages: string[] = [];
  for (const [name, secret] of [['alpha-fd', 'wrong'], ['nobody-fd', 'alpha secret']]) {
    const c = await rawConnect(port);
    // The server's proof is under the real secret (or a random key): the client must not trust it either way.
    await assert.rejects(offerHandshake(c, { role: 'fd', name, secret }), (e: { code: string; message: string }) => {
      messages.push(e.message.replace(/"[^"]*"/g, '""'));
      return e.code === 'CAIRN_E_AUTH_FAILED';
    });
  }
  assert.equal(messages[0], messages[1]);
  const errs = (await Promise.all(outcomes)) as { code: string }[];
  // The client refused the server's proof, so the server never got one: it sees the connection close after its challenge.
  assert.deepEqual(errs.map((e) => [e.code, (e as unknown as { fields: { known: boolean; abandoned: boolean } }).fields]), [
    ['CAIRN_E_AUTH_FAILED', { role: 'fd', name: 'alpha-fd', known: true, abandoned: true }],
    ['CAIRN_E_AUTH_FAILED', { role: 'fd', name: 'nobody-fd', known: false, abandoned: true }],
  ]);
  srv.close();
});

test('a client proof under the wrong secret gets 1401 after the failure delay and no session', async () => {
  const claims: unknown[] = [];
  let outcome: Promise<unknown> = Promise.resolve();
  const { srv, port } = await server((s) => {
    outcome = acceptHandshake(s, { ...acceptOpts, failureDelayMs: (c) => (claims.push(c), 50) }).catch((e) => e);
  });
  // A client that skips verifying the server (hand-written) and sends a wrong proof.
  const c = await rawConnect(port);
  const all = readAll(c);
  const nonce = newNonce();
  c.write(frame(`hello Cairn/1 Role=fd Name=alpha-fd Versions=1 Nonce=${nonce}`));
  c.write(frame(`auth Proof=${'0'.repeat(64)}`));
  const lines = frames(await all);
  assert.match(lines[0], /^1000 challenge Version=1 Name=store-sd Nonce=[0-9a-f]{32} Proof=[0-9a-f]{64}$/);
  assert.equal(lines[1], '1401 CAIRN_E_AUTH_FAILED authentication failed');
  assert.equal(((await outcome) as { code: string }).code, 'CAIRN_E_AUTH_FAILED');
  assert.deepEqual(claims, [{ role: 'fd', name: 'alpha-fd', known: true, stage: 'proof' }]);
  srv.close();
});

test('a server with the wrong secret is refused before the client sends its proof', async () => {
  let outcome: Promise<unknown> = Promise.resolve();
  const { srv, port } = await server((s) => {
    outcome = acceptHandshake(s, { serverName: 'store-sd', secretFor: () => 'impostor secret' }).catch((e) => e);
  });
  const c = await rawConnect(port);
  await assert.rejects(offerHandshake(c, { role: 'fd', name: 'alpha-fd', secret: 'alpha secret' }), (e: { code: string; message: string }) => e.code === 'CAIRN_E_AUTH_FAILED' && /does not know our secret/.test(e.message));
  // The server was waiting for "auth Proof=…" and saw the connection close instead.
  assert.equal(((await outcome) as { fields: { abandoned?: boolean } }).fields.abandoned, true);
  assert.ok(c.destroyed);
  srv.close();
});

test('expectServer: a server under another name is refused', async () => {
  const { srv, port } = await server((s) => acceptHandshake(s, acceptOpts).catch(() => undefined));
  const c = await rawConnect(port);
  await assert.rejects(offerHandshake(c, { role: 'fd', name: 'alpha-fd', secret: 'alpha secret', expectServer: 'other-sd' }), /Expected server "other-sd" but "store-sd"/);
  srv.close();
});

test('malformed first lines get 1400 CAIRN_E_AUTH_PROTOCOL and a close', async () => {
  const cases: [string, Buffer][] = [
    ['garbage', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
    ['overlong', frame('hello ' + 'x'.repeat(1100))],
    ['not hello', frame('auth Proof=00')],
    ['bad nonce', frame('hello Cairn/1 Role=fd Name=alpha-fd Versions=1 Nonce=xyz')],
    ['bad role', frame(`hello Cairn/1 Role=root Name=alpha-fd Versions=1 Nonce=${newNonce()}`)],
    ['no common version', frame(`hello Cairn/1 Role=fd Name=alpha-fd Versions=7,8 Nonce=${newNonce()}`)],
    ['control bytes', frame(Buffer.from('hello\x00Cairn/1'))],
    ['signal', Buffer.from([0x80, 0, 0, 2])],
  ];
  const outcomes: Promise<unknown>[] = [];
  const { srv, port } = await server((s) => outcomes.push(acceptHandshake(s, acceptOpts).catch((e) => e)));
  for (const [what, bytes] of cases) {
    const c = await rawConnect(port);
    const all = readAll(c);
    c.write(bytes);
    const lines = frames(await all);
    assert.equal(lines.length, 1, what);
    assert.match(lines[0], /^1400 CAIRN_E_AUTH_PROTOCOL /, what);
  }
  const errs = (await Promise.all(outcomes)) as { code: string }[];
  assert.ok(errs.every((e) => e.code === 'CAIRN_E_AUTH_PROTOCOL'));
  srv.close();
});

test('a silent peer is timed out with 1400 CAIRN_E_AUTH_TIMEOUT; a half-sent hello then close is a clean failure', async () => {
  const outcomes: Promise<unknown>[] = [];
  const { srv, port } = await server((s) => outcomes.push(acceptHandshake(s, { ...acceptOpts, timeoutMs: 150 }).catch((e) => e)));
  const c = await rawConnect(port);
  const lines = frames(await readAll(c));
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^1400 CAIRN_E_AUTH_TIMEOUT handshake not completed within 150 ms$/);
  const half = await rawConnect(port);
  half.end(frame('hello Cairn/1 Role=fd Name=alpha-fd Versions=1 Nonce=' + newNonce()).subarray(0, 20));
  await readAll(half);
  const errs = (await Promise.all(outcomes)) as { code: string }[];
  assert.deepEqual(errs.map((e) => e.code), ['CAIRN_E_AUTH_TIMEOUT', 'CAIRN_E_NET_CLOSED']);
  srv.close();
});

test('the proof input is length-prefixed field by field', () => {
  const m = proofMessage(SERVER_LABEL, { clientNonce: '00'.repeat(16), serverNonce: 'ff'.repeat(16), role: 'fd', clientName: 'a', serverName: 'bc', offered: '1', version: 1 });
  const expected = Buffer.concat([
    Buffer.from([0, 20]), Buffer.from('cairn-auth-v1 server'),
    Buffer.from([0, 16]), Buffer.alloc(16, 0),
    Buffer.from([0, 16]), Buffer.alloc(16, 0xff),
    Buffer.from([0, 2]), Buffer.from('fd'),
    Buffer.from([0, 1]), Buffer.from('a'),
    Buffer.from([0, 2]), Buffer.from('bc'),
    Buffer.from([0, 1]), Buffer.from('1'),
    Buffer.from([0, 1]), Buffer.from('1'),
  ]);
  assert.deepEqual(m, expected);
});

test('client settings are checked before anything is sent', async () => {
  const c = await rawConnect((await server(() => undefined)).port);
  await assert.rejects(offerHandshake(c, { role: 'fd', name: 'has space', secret: 's' }), { code: 'CAIRN_E_AUTH_CONFIG' });
  await assert.rejects(offerHandshake(c, { role: 'fd', name: 'ok', secret: '' }), { code: 'CAIRN_E_AUTH_CONFIG' });
  c.destroy();
});

test('the worked example of docs/transport.md §2.4 and §4', async () => {
  const { derivePsk } = await import('./tls.js');
  const p = { clientNonce: '000102030405060708090a0b0c0d0e0f', serverNonce: 'f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff', role: 'fd', clientName: 'alpha-fd', serverName: 'store-sd', offered: '1', version: 1 };
  const k = secretKey('example shared secret');
  assert.equal(proofMessage(SERVER_LABEL, p).length, 88);
  assert.equal(proof(k, SERVER_LABEL, p), 'c3c2489ad6854e94fcf06eec434dfa03219ac9ed9cc4dbba1c367702c2612090');
  assert.equal(proof(k, CLIENT_LABEL, p), '382ca54f04c9b072fc5cb64e60388cd7021c27803c9848ebef00ec45e416ca32');
  assert.equal(derivePsk('example shared secret').toString('hex'), '0ea47a588c310c7988bea09b11ea38c718ad510c575be39c58bb76e4f57c592e');
  assert.equal(frame(`hello Cairn/1 Role=fd Name=alpha-fd Versions=1 Nonce=${p.clientNonce}`).readUInt32BE(0), 0x55);
});
