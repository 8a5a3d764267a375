import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { acceptHandshake, offerHandshake } from './handshake.js';
import { spawnDuplex, stdioDuplex } from './stdio.js';
import { frame, readFrame } from './testing.js';

const ECHO = "process.stderr.write('echo child up\\nsecond line\\n'); process.stdin.pipe(process.stdout);";

test('spawnDuplex: a node -e echo child is one Duplex; its stderr arrives line by line', async () => {
  const lines: string[] = [];
  const { stream, child } = spawnDuplex([process.execPath, '-e', ECHO], { onStderr: (l) => lines.push(l) });
  stream.write(frame('through the pipes'));
  assert.equal((await readFrame(stream)).toString(), 'through the pipes');
  const big = Buffer.alloc(1 << 20, 7);
  stream.write(frame(big));
  assert.deepEqual(await readFrame(stream), big);
  stream.end();
  await new Promise<void>((r) => child.once('close', () => r()));
  assert.deepEqual(lines, ['echo child up', 'second line']);
});

test('a child that exits non-zero ends the stream with CAIRN_E_NET_PEER_EXIT naming the status; a missing command is CAIRN_E_NET_SPAWN', async () => {
  const { stream } = spawnDuplex([process.execPath, '-e', 'process.exit(3)']);
  stream.resume();
  const err = await new Promise<{ code: string; fields: Record<string, unknown>; message: string }>((r) => stream.once('error', r as never));
  assert.equal(err.code, 'CAIRN_E_NET_PEER_EXIT');
  assert.equal(err.fields.exitCode, 3);
  assert.match(err.message, /exited with status 3/);
  const missing = spawnDuplex(['/nonexistent/cairn-sd', '--stdio']);
  const e2 = await new Promise<{ code: string; fields: Record<string, unknown> }>((r) => missing.stream.once('error', r as never));
  assert.equal(e2.code, 'CAIRN_E_NET_SPAWN');
  assert.equal(e2.fields.errno, 'ENOENT');
});

test('a child that exits 0 ends the stream cleanly after its output', async () => {
  const { stream } = spawnDuplex([process.execPath, '-e', "process.stdout.write('bye')"]);
  const parts: Buffer[] = [];
  stream.on('data', (c: Buffer) => parts.push(c));
  await new Promise<void>((resolve, reject) => {
    stream.once('end', () => resolve());
    stream.once('error', reject);
  });
  assert.equal(Buffer.concat(parts).toString(), 'bye');
});

test('the handshake runs over stdio: a child serving acceptHandshake on its stdin/stdout (cairn-sd --stdio shape)', async () => {
  const netIndex = new URL('./index.js', import.meta.url).href;
  const script = `
    import { acceptHandshake, stdioDuplex } from ${JSON.stringify(netIndex)};
    const s = stdioDuplex();
    const peer = await acceptHandshake(s, { serverName: 'store-sd', secretFor: (role, name) => name === 'alpha-fd' ? 'alpha secret' : undefined });
    process.stderr.write('authenticated ' + peer.peerRole + ' ' + peer.peerName + '\\n');
    s.on('data', (c) => s.write(c));
    s.on('end', () => s.end());
  `;
  const lines: string[] = [];
  const { stream, child } = spawnDuplex([process.execPath, '--input-type=module', '-e', script], { onStderr: (l) => lines.push(l) });
  const r = await offerHandshake(stream, { role: 'fd', name: 'alpha-fd', secret: 'alpha secret', expectServer: 'store-sd' });
  assert.equal(r.serverName, 'store-sd');
  stream.write(frame('after the handshake'));
  assert.equal((await readFrame(stream)).toString(), 'after the handshake');
  stream.end();
  await new Promise<void>((res) => child.once('close', () => res()));
  assert.deepEqual(lines, ['authenticated fd alpha-fd']);
});

test('stdioDuplex over given streams: reads one, writes the other, end() ends the output', async () => {
  const input = new PassThrough();
  const output = new PassThrough();
  const d = stdioDuplex(input, output);
  const got: Buffer[] = [];
  output.on('data', (c: Buffer) => got.push(c));
  const outEnded = new Promise((r) => output.once('end', r));
  input.write(frame('in'));
  assert.equal((await readFrame(d)).toString(), 'in');
  d.end(frame('out'));
  await outEnded;
  assert.deepEqual(Buffer.concat(got), frame('out'));
  // The handshake also runs over two in-process pipes.
  const a2b = new PassThrough();
  const b2a = new PassThrough();
  const server = stdioDuplex(a2b, b2a);
  const clientSide = stdioDuplex(b2a, a2b);
  const [peer, res] = await Promise.all([
    acceptHandshake(server, { serverName: 'store-sd', secretFor: () => 'k' }),
    offerHandshake(clientSide, { role: 'director', name: 'main-dir', secret: 'k' }),
  ]);
  assert.equal(peer.peerName, 'main-dir');
  assert.equal(res.serverName, 'store-sd');
});

test('connectCommand: a command that fails before the handshake is reported with its exit status and what it said on stderr', async () => {
  const { connectCommand } = await import('./connect.js');
  const relay = "process.stderr.write('cairn-sd --stdio cannot reach the daemon at /srv/x/cairn-sd.sock\\n'); process.exit(3)";
  await assert.rejects(
    connectCommand({ command: [process.execPath, '-e', relay], role: 'director', name: 'dir1', secret: 'x'.repeat(32) }),
    (err: { code: string; message: string; fields: Record<string, unknown> }) => {
      assert.match(err.code, /^CAIRN_E_NET_(CLOSED|PEER_EXIT)$/);
      assert.match(err.message, /cannot reach the daemon at \/srv\/x\/cairn-sd\.sock/);
      assert.equal(err.fields.command, process.execPath);
      return true;
    },
  );
});
