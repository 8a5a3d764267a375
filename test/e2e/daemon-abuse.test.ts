/**
 * Acceptance (issue 3), the hostile side: the real cairn-dir, cairn-fd and
 * cairn-sd processes (test/e2e/daemon-set.ts) against
 *  1. a console with a wrong secret: 1401, no job, a growing login delay per
 *     source, while a valid console is served meanwhile;
 *  2. garbage on every daemon's port, before the handshake (bytes, overlong
 *     lines, signals, half-sent and dropped handshakes, silence) and after it
 *     (unknown commands, bad bodies, a 2 GiB length word, truncated frames):
 *     each gets an error status or a close, and the daemons still back up and
 *     restore byte-exact afterwards;
 *  3. broken configuration files under --test-config: exit non-zero with
 *     file:line and what was expected; valid files say "is valid";
 *  4. a second copy on the same working directory: exit 2,
 *     CAIRN_E_DAEMON_RUNNING, and the first keeps serving;
 *  5. peers that stay half-open after a protocol error must not fill a
 *     daemon's connection cap.
 * Delays are asserted with lower bounds only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertTreesEqual, buildTree, everyKindSpec, tempDir } from '../support/index.js';
import { connect, type Connection } from '../../net/index.js';
import { loadConfig, writeQuickstart } from '../../config/index.js';
import { isCairnError } from '../../plugin-api/index.js';
import { startDaemonSet, type DaemonSet } from './daemon-set.js';
import { PROJECT_ROOT } from './cli-runner.js';
import { RawPeer, frame, halfOpenSession, logLines, runLive, waitForLogLine, word } from './abuse-wire.js';

type Kind = 'dir' | 'fd' | 'sd';
const KINDS: readonly Kind[] = ['dir', 'fd', 'sd'];
const daemonBin = (k: Kind): string => join(PROJECT_ROOT, 'bin', `cairn-${k}.js`);
const nonce = (): string => randomBytes(16).toString('hex');
const hello = (role: string, name: string): string => `hello Cairn/1 Role=${role} Name=${name} Versions=1 Nonce=${nonce()}`;

async function sourceTree(tmp: string): Promise<string> {
  const src = join(tmp, 'src');
  await buildTree(src, everyKindSpec());
  writeFileSync(join(src, 'large.bin'), randomBytes(2 * 1024 * 1024));
  return src;
}

/** How each daemon is reached the way its legitimate peer reaches it (the Director's own client/storage entries; the console's file). */
function peersOf(d: DaemonSet): Record<Kind, { port: number; connect: () => Promise<Connection>; role: string; name: string }> {
  const dir = loadConfig('dir', d.qs.files.dir).config;
  const con = loadConfig('console', d.qs.files.console).config;
  const cl = dir.clients[0];
  const st = dir.storages[0];
  return {
    dir: {
      port: con.director.port, role: 'console', name: con.console.name,
      connect: () => connect({ host: con.director.address, port: con.director.port, tls: con.director.tls, role: 'console', name: con.console.name, secret: con.director.password, expectServer: con.director.name }),
    },
    fd: {
      port: cl.port, role: 'director', name: dir.director.name,
      connect: () => connect({ host: cl.address, port: cl.port, tls: cl.tls, role: 'director', name: dir.director.name, secret: cl.password, expectServer: cl.name }),
    },
    sd: {
      port: st.port!, role: 'director', name: dir.director.name,
      connect: () => connect({ host: st.address!, port: st.port!, tls: st.tls, role: 'director', name: dir.director.name, secret: st.password, expectServer: st.name }),
    },
  };
}

/** A raw TCP connection that the listener admitted (its `1000 ready` line read). */
async function admitted(port: number): Promise<RawPeer> {
  const p = await RawPeer.open(port);
  const first = await p.nextFrame(5000);
  assert.ok(first, `no admission line on port ${port}`);
  assert.match(first.toString('latin1'), /^1000 ready Cairn\/1 TLS=off$/);
  return p;
}

/** Backup then restore latest, byte-exact: the proof that a daemon set still serves. */
async function backupAndRestore(d: DaemonSet, src: string, out: string): Promise<void> {
  const run = await runLive(['--config', d.qs.files.console, 'run', 'demo', '--wait', '--json']);
  assert.equal(run.status, 0, `${run.describe}\n--- dir log ---\n${d.log('dir').slice(-3000)}`);
  assert.equal(run.json.status, 'ok');
  const rest = await runLive(['--config', d.qs.files.console, 'restore', 'latest', '--job', 'demo', '--to', out, '--wait', '--json']);
  assert.equal(rest.status, 0, `${rest.describe}\n--- dir log ---\n${d.log('dir').slice(-3000)}`);
  assert.equal(rest.json.status, 'ok');
  assertTreesEqual(src, join(out, src));
}

/**
 * Point 1. With a wrong secret the real client (net/ connect()) never sends a proof: it checks the Director's
 * proof first, finds it wrong and closes (transport.md §2.3 step 2), so the Director has nothing to answer 1401
 * to; it counts the abandoned login (§2.2 step 5). The 1401 and its delay are what a peer that sends a proof
 * without knowing the secret gets (an attacker, or a client that skips the check): that is driven raw, with the
 * frames of transport.md §2. Both kinds of failure count towards the same per-source delay (the log shows the
 * count; waiting out the next, 8 s, delay would only repeat the first half).
 */
test('a wrong console secret is refused (1401 with a growing delay per source), creates no job, and a valid console is served meanwhile', async (t) => {
  const tmp = tempDir(t, 'cairn-abuse-auth-');
  const d = await startDaemonSet(t, join(tmp, 'conf'), { source: await sourceTree(tmp) });
  const con = loadConfig('console', d.qs.files.console).config;
  const before = await runLive(['--config', d.qs.files.console, 'jobs', '--json']);
  assert.equal(before.status, 0, before.describe);

  /** hello, challenge, a proof made without the secret; the refusal, and how long after the proof it came. */
  const guess = async (name: string): Promise<{ texts: string[]; ms: number; endedAt: number }> => {
    const p = await admitted(con.director.port);
    await p.write(frame(hello('console', name)));
    assert.match(String(await p.nextFrame(5000)), /^1000 challenge Version=1 Name=dir1 Nonce=[0-9a-f]{32} Proof=[0-9a-f]{64}$/);
    const t0 = performance.now();
    await p.write(frame(`auth Proof=${randomBytes(32).toString('hex')}`));
    const first = await p.nextFrame(40_000);
    const endedAt = performance.now();
    const rest = await p.drain(5000);
    return { texts: [first === null ? '(closed)' : first.toString('latin1'), ...rest.texts], ms: endedAt - t0, endedAt };
  };
  const refused = (r: { texts: string[] }, what: string): void => assert.deepEqual(r.texts, ['1401 CAIRN_E_AUTH_FAILED authentication failed'], what);

  const times: number[] = [];
  for (let n = 1; n <= 2; n++) {
    const r = await guess(con.console.name);
    refused(r, `guess ${n}`);
    times.push(r.ms);
  }
  // Third guess: while its (4 s) answer is delayed, a valid console asks for the status and is answered first.
  const third = guess(con.console.name);
  await waitForLogLine(() => d.log('dir'), (l) => l.msg === 'authentication failed' && l.failures === 3);
  const status = await runLive(['--config', d.qs.files.console, 'status', '--json']);
  const g3 = await third;
  refused(g3, 'guess 3');
  times.push(g3.ms);
  assert.equal(status.status, 0, status.describe);
  assert.equal(status.json.name, 'dir1');
  assert.ok(status.endedAt < g3.endedAt, `the valid console's status (ended at ${status.endedAt.toFixed(0)} ms) waited for the delayed failure (answered at ${g3.endedAt.toFixed(0)} ms)`);
  // Each refusal came at least as late as the previous one, and at least the documented delay after the proof (1 s, 2 s, 4 s).
  for (let i = 0; i < times.length; i++) {
    assert.ok(times[i] >= 1000 * 2 ** i - 5, `guess ${i + 1} refused ${times[i].toFixed(0)} ms after its proof, expected at least ${1000 * 2 ** i} ms (times ${times.map((x) => x.toFixed(0)).join(', ')})`);
    if (i > 0) assert.ok(times[i] >= times[i - 1], `guess ${i + 1} (${times[i].toFixed(0)} ms) was answered sooner than guess ${i} (${times[i - 1].toFixed(0)} ms)`);
  }

  // The real client with a wrong secret (the valid status above reset the count): it refuses the Director's proof itself.
  for (const name of [con.console.name, 'intruder']) {
    const err = await connect({ host: con.director.address, port: con.director.port, tls: con.director.tls, role: 'console', name, secret: `wrong-${nonce()}`, expectServer: con.director.name }).then(
      (c) => (c.stream.destroy(), null),
      (e: unknown) => e,
    );
    assert.ok(isCairnError(err), `connect() as ${name} with a wrong secret: ${String(err)}`);
    assert.equal(err.code, 'CAIRN_E_AUTH_FAILED', err.message);
    assert.match(err.message, /does not know our secret/);
  }
  // The console program with a wrong password in its file: a non-zero exit naming the code.
  const wrongFile = join(tmp, 'conf', 'wrong-console.yaml');
  writeFileSync(wrongFile, readFileSync(d.qs.files.console, 'utf8').replace(/password: ".*"/, 'password: "not-the-secret-0123456789abcdef"'), { mode: 0o600 });
  const wrongRun = await runLive(['--config', wrongFile, 'status', '--json']);
  assert.notEqual(wrongRun.status, 0, wrongRun.describe);
  assert.match(wrongRun.stdout + wrongRun.stderr, /CAIRN_E_AUTH_FAILED/, wrongRun.describe);
  const failures = logLines(d.log('dir')).filter((l) => typeof l.msg === 'string' && l.msg.startsWith('authentication failed'));
  assert.deepEqual(failures.map((l) => [l.name, l.knownName, l.stage, l.failures, l.delayMs]), [
    ['admin', true, 'proof', 1, 1000],
    ['admin', true, 'proof', 2, 2000],
    ['admin', true, 'proof', 3, 4000],
    ['admin', true, 'abandoned', 1, 1000],
    ['intruder', false, 'abandoned', 2, 2000],
    ['admin', true, 'abandoned', 3, 4000],
  ], `the Director's failed-login log lines (the abandoned logins count towards the next delay: 1, 2, 3)\n${d.log('dir').slice(-4000)}`);
  const after = await runLive(['--config', d.qs.files.console, 'jobs', '--json']);
  assert.equal(after.status, 0, after.describe);
  assert.deepEqual(after.json, before.json, 'refused consoles created or changed jobs');
});

/** A pre-handshake abuse: what to send on an admitted connection, and what the daemon must answer. */
interface Abuse {
  name: string;
  /** Sends the bytes (and maybe closes); `p` is already past the admission line. */
  send(p: RawPeer, who: { role: string; name: string }): Promise<void>;
  /** A status line the daemon must send before it closes (undefined: a close is enough). */
  expect?: RegExp;
  /** The daemon must not answer with any status (a peer that closed gets nothing). */
  silent?: boolean;
}

const PRE_HANDSHAKE: Abuse[] = [
  { name: 'a wrong proof', send: async (p, w) => {
    await p.write(frame(hello(w.role, w.name)));
    await p.nextFrame(5000);
    await p.write(frame(`auth Proof=${randomBytes(32).toString('hex')}`));
  }, expect: /^1401 CAIRN_E_AUTH_FAILED authentication failed$/ },
  { name: 'an HTTP request', send: (p) => p.write(Buffer.from('GET / HTTP/1.1\r\nHost: cairn\r\n\r\n')), expect: /^1400 CAIRN_E_AUTH_PROTOCOL / },
  { name: 'binary garbage', send: (p) => p.write(Buffer.concat([Buffer.from([0x13, 0x37, 0xde, 0xad]), randomBytes(4096)])), expect: /^1400 CAIRN_E_AUTH_PROTOCOL / },
  { name: '100 KiB without structure', send: (p) => p.write(Buffer.alloc(100 * 1024, 0x41)), expect: /^1400 CAIRN_E_AUTH_PROTOCOL / },
  { name: 'a 100 KiB line in a well-formed frame', send: (p) => p.write(frame(Buffer.alloc(100 * 1024, 0x41))), expect: /^1400 CAIRN_E_AUTH_PROTOCOL .*102400 bytes exceeds the limit of 1024/ },
  { name: 'a control byte in the hello', send: (p) => p.write(frame('hello Cairn/1 Role=console\x00\x07')), expect: /^1400 CAIRN_E_AUTH_PROTOCOL / },
  { name: 'a signal instead of a hello', send: (p) => p.write(word(0x80000002)), expect: /^1400 CAIRN_E_AUTH_PROTOCOL / },
  { name: 'a command instead of a hello', send: (p) => p.write(frame('status')), expect: /^1400 CAIRN_E_AUTH_PROTOCOL / },
  { name: 'a second hello instead of auth', send: async (p, w) => {
    await p.write(frame(hello(w.role, w.name)));
    await p.nextFrame(5000);
    await p.write(frame(hello(w.role, w.name)));
  }, expect: /^1400 CAIRN_E_AUTH_PROTOCOL / },
  { name: 'a hello cut in half, then FIN', send: async (p, w) => {
    await p.write(frame(hello(w.role, w.name)).subarray(0, 40));
    p.end();
  }, silent: true },
  { name: 'half a length word, then FIN', send: async (p) => {
    await p.write(Buffer.from([0, 0]));
    p.end();
  }, silent: true },
  { name: 'a dropped connection (RST) after the challenge', send: async (p, w) => {
    await p.write(frame(hello(w.role, w.name)));
    const ch = await p.nextFrame(5000);
    assert.match(String(ch), /^1000 challenge /);
    p.reset();
  } },
];

/** After a successful handshake: raw control frames on the authenticated stream. */
interface SessionAbuse {
  name: string;
  run(p: RawPeer, kind: Kind): Promise<void>;
}

/** A request each daemon answers without side effects, and the start of its answer. */
const HARMLESS: Record<Kind, { line: string; reply: RegExp }> = {
  dir: { line: 'status', reply: /^3000 OK status\n/ },
  fd: { line: 'status', reply: /^3000 OK status\n/ },
  sd: { line: 'cancel Ticket=nosuchticket', reply: /^3504 CAIRN_E_SESSION_TICKET\n/ },
};

const AFTER_HANDSHAKE: SessionAbuse[] = [
  { name: 'an unknown command and a body that is not JSON, then a request that is still answered', run: async (p, kind) => {
    await p.write(frame('frobnicate Now=1'));
    assert.match(String(await p.nextFrame(5000)), /^3900 CAIRN_E_PROTOCOL_COMMAND\n/);
    await p.write(frame(`${kind === 'sd' ? 'open read session' : 'run'}\n{"not json`));
    assert.match(String(await p.nextFrame(5000)), /^3900 CAIRN_E_PROTOCOL_COMMAND\n/);
    await p.write(frame(HARMLESS[kind].line));
    assert.match(String(await p.nextFrame(5000)), HARMLESS[kind].reply);
    await p.write(word(0x80000003)); // TERMINATE
    p.end();
    assert.equal(await p.ending(5000), 'closed');
  } },
  { name: 'a frame announcing 2 GiB', run: async (p) => {
    await p.write(Buffer.concat([word(0x7fffffff), Buffer.alloc(64, 0x41)]));
    const r = await p.drain(5000);
    assert.notEqual(r.ending, 'timeout', `the daemon kept a connection open after a 2 GiB length word (frames ${JSON.stringify(r.texts)})`);
    assert.ok(r.texts.every((x) => !x.startsWith('3000')), `answered OK: ${JSON.stringify(r.texts)}`);
  } },
  { name: 'a truncated frame, then FIN', run: async (p) => {
    await p.write(Buffer.concat([word(1000), Buffer.from('status')]));
    p.end();
    const r = await p.drain(5000);
    assert.equal(r.ending, 'closed', `frames ${JSON.stringify(r.texts)}`);
  } },
  { name: 'a reply to no request', run: async (p) => {
    await p.write(frame('3000 OK surprise'));
    const r = await p.drain(5000);
    assert.notEqual(r.ending, 'timeout', `still open after a reply to no request (frames ${JSON.stringify(r.texts)})`);
  } },
];

test('garbage before and after the handshake on every daemon gets an error status or a close, and the daemons still back up and restore byte-exact', async (t) => {
  const tmp = tempDir(t, 'cairn-abuse-wire-');
  const src = await sourceTree(tmp);
  const d = await startDaemonSet(t, join(tmp, 'conf'), { source: src });
  const peers = peersOf(d);

  // Silence after half a hello: the handshake timeout (10 s) answers it. Started first, checked last.
  const loris = KINDS.map(async (k) => {
    const p = await admitted(peers[k].port);
    await p.write(frame(hello(peers[k].role, peers[k].name)).subarray(0, 20));
    const t0 = performance.now();
    const r = await p.drain(25_000);
    return { k, r, ms: performance.now() - t0 };
  });

  const results = await Promise.all(KINDS.map(async (k) => {
    const seen: string[] = [];
    for (const a of PRE_HANDSHAKE) {
      await t.test(`${k}: ${a.name}`, async () => {
        const p = await admitted(peers[k].port);
        await a.send(p, peers[k]);
        const r = await p.drain(15_000);
        const statuses = r.texts.filter((x) => /^\d{4} /.test(x) && !x.startsWith('1000 challenge'));
        assert.notEqual(r.ending, 'timeout', `cairn-${k} left the connection open 15 s after ${a.name} (frames ${JSON.stringify(r.texts)})\n${d.log(k).slice(-2000)}`);
        if (a.expect) {
          assert.equal(statuses.length, 1, `cairn-${k} after ${a.name}: frames ${JSON.stringify(r.texts)}, ending ${r.ending}`);
          assert.match(statuses[0], a.expect);
        }
        if (a.silent) assert.deepEqual(statuses, [], `cairn-${k} answered a peer that had closed`);
        seen.push(a.name);
      });
    }
    for (const a of AFTER_HANDSHAKE) {
      await t.test(`${k}: after the handshake, ${a.name}`, async () => {
        const c = await peers[k].connect();
        await a.run(new RawPeer(c.stream), k);
      });
    }
    return { k, seen };
  }));
  for (const r of results) assert.equal(r.seen.length, PRE_HANDSHAKE.length, `${r.k}: not every abuse ran`);

  for (const { k, r, ms } of await Promise.all(loris)) {
    assert.deepEqual(r.texts, [`1400 CAIRN_E_AUTH_TIMEOUT handshake not completed within 10000 ms`], `cairn-${k} after half a hello and silence (${ms.toFixed(0)} ms)`);
    assert.equal(r.ending, 'closed');
  }

  // The dropped connections were counted as abandoned logins, logged with the claimed name.
  for (const k of KINDS) {
    const abandoned = logLines(d.log(k)).filter((l) => l.stage === 'abandoned');
    assert.ok(abandoned.some((l) => l.name === peers[k].name), `cairn-${k} did not log the connection dropped after its challenge:\n${d.log(k).slice(-2000)}`);
    assert.ok(!/uncaught|unhandled/i.test(d.log(k)), `cairn-${k} logged an uncaught error:\n${d.log(k).slice(-3000)}`);
  }
  // Every daemon still admits, and still does its work.
  for (const k of KINDS) (await admitted(peers[k].port)).destroy();
  await backupAndRestore(d, src, join(tmp, 'out'));
});

/** Config files derived from a working quickstart, each broken in one way. */
test('--test-config on a broken file exits non-zero with file:line and the expected form; a valid file is "is valid"', async (t) => {
  const tmp = tempDir(t, 'cairn-abuse-config-');
  const qs = await writeQuickstart(join(tmp, 'conf'), { source: join(tmp, 'src') });
  const text = (k: Kind): string => readFileSync(qs.files[k], 'utf8');
  const lineOf = (body: string, needle: string): number => {
    const i = body.split('\n').findIndex((l) => l.includes(needle));
    assert.ok(i >= 0, `"${needle}" not in the config`);
    return i + 1;
  };
  const cases: Array<{ kind: Kind; what: string; edit: (s: string) => string; at: string; message: RegExp }> = [
    { kind: 'dir', what: "a typo'd key", edit: (s) => s.replace('    level: incremental', '    levle: incremental'), at: 'levle:', message: /jobs\[0\]\.levle: unknown key \(expected one of: .*\bdid you mean "level"\?\)/ },
    { kind: 'dir', what: 'a missing required key', edit: (s) => s.replace(/(- name: local-fd\n)\s+address: 127\.0\.0\.1\n/, '$1'), at: '- name: local-fd', message: /clients\[0\]: missing required key "address"/ },
    { kind: 'dir', what: 'a wrong type', edit: (s) => s.replace(`port: ${qs.ports.dir} }`, 'port: abc }'), at: 'port: abc', message: /director\.listen\.port: expected an integer from 1 to 65535, got "abc"/ },
    { kind: 'fd', what: "a typo'd key", edit: (s) => s.replace('  workingDirectory:', '  heartbeatSecond: 30\n  workingDirectory:'), at: 'heartbeatSecond:', message: /fd\.heartbeatSecond: unknown key \(.*did you mean "heartbeatSeconds"\?\)/ },
    { kind: 'fd', what: 'a wrong type', edit: (s) => s.replace(`port: ${qs.ports.fd} }`, 'port: 70000 }'), at: 'port: 70000', message: /fd\.listen\.port: expected an integer from 1 to 65535, got 70000/ },
    { kind: 'sd', what: "a typo'd key", edit: (s) => s.replace('    mediaType: File\n', '    mediaType: File\n    blockSze: 65536\n'), at: 'blockSze:', message: /devices\[0\]\.blockSze: unknown key \(.*did you mean "blockSize"\?\)/ },
    { kind: 'sd', what: 'a missing required key', edit: (s) => s.replace(/\n\s+path: "[^"]*"/, ''), at: '- name: FileStorage', message: /devices\[0\]: missing required key "path"/ },
  ];
  const runs = await Promise.all(cases.map(async (c, i) => {
    const body = c.edit(text(c.kind));
    assert.notEqual(body, text(c.kind), `${c.kind} ${c.what}: the edit changed nothing`);
    const file = join(tmp, 'conf', `broken-${i}-${c.kind}.yaml`);
    writeFileSync(file, body, { mode: 0o600 });
    return { c, file, line: lineOf(body, c.at), r: await runLive(['--config', file, '--test-config'], { bin: daemonBin(c.kind), timeoutMs: 30_000 }) };
  }));
  for (const { c, file, line, r } of runs) {
    const label = `cairn-${c.kind} --test-config with ${c.what}`;
    assert.notEqual(r.status, 0, `${label} exited 0:\n${r.describe}`);
    assert.equal(r.status, 2, `${label}:\n${r.describe}`);
    assert.ok(r.stderr.includes(`${file}:${line}:`), `${label}: stderr does not name ${file}:${line}:\n${r.stderr}`);
    assert.match(r.stderr, c.message, label);
    assert.match(r.stderr, /\[CAIRN_E_CONFIG_INVALID\]/, label);
    assert.equal(r.stdout, '', `${label}: printed to stdout`);
  }
  for (const k of KINDS) {
    const r = await runLive(['--config', qs.files[k], '--test-config'], { bin: daemonBin(k), timeoutMs: 30_000 });
    assert.equal(r.status, 0, r.describe);
    assert.equal(r.stdout, `cairn-${k}: ${qs.files[k]} is valid\n`);
  }
});

test('a second copy of each daemon on the same working directory exits 2 with CAIRN_E_DAEMON_RUNNING, and the first keeps serving', async (t) => {
  const tmp = tempDir(t, 'cairn-abuse-lock-');
  const src = await sourceTree(tmp);
  const d = await startDaemonSet(t, join(tmp, 'conf'), { source: src });
  for (const k of KINDS) {
    const r = await runLive(['--config', d.qs.files[k], '--foreground'], { bin: daemonBin(k), timeoutMs: 30_000 });
    assert.equal(r.status, 2, `the second cairn-${k}:\n${r.describe}`);
    assert.match(r.stderr, /\[CAIRN_E_DAEMON_RUNNING\]/);
    assert.match(r.stderr, new RegExp(`another cairn-${k} \\(pid \\d+ on .*\\) already runs on the working directory`));
  }
  const status = await runLive(['--config', d.qs.files.console, 'status', '--json']);
  assert.equal(status.status, 0, status.describe);
  await backupAndRestore(d, src, join(tmp, 'out'));
  for (const k of KINDS) assert.equal(await d.stop(k), 0, `cairn-${k} did not stop cleanly:\n${d.log(k).slice(-2000)}`);
});

/**
 * After a protocol error on an authenticated connection the daemon must let go of the connection, not only
 * half-close it: a peer that never closes its side would otherwise keep a slot of the connection cap for good
 * (the heartbeat watch stops with the session). More such connections than any cap (all caps are below 80)
 * must never make the listener answer 1503.
 */
test('connections a daemon ended after a 2 GiB length word do not keep slots of its connection cap while the peer stays half-open', async (t) => {
  const tmp = tempDir(t, 'cairn-abuse-slots-');
  const d = await startDaemonSet(t, join(tmp, 'conf'), { source: await sourceTree(tmp) });
  const dir = loadConfig('dir', d.qs.files.dir).config;
  const con = loadConfig('console', d.qs.files.console).config;
  const who: Record<Kind, { port: number; role: 'console' | 'director'; name: string; secret: string }> = {
    dir: { port: con.director.port, role: 'console', name: con.console.name, secret: con.director.password },
    fd: { port: dir.clients[0].port, role: 'director', name: dir.director.name, secret: dir.clients[0].password },
    sd: { port: dir.storages[0].port!, role: 'director', name: dir.director.name, secret: dir.storages[0].password },
  };
  for (const k of KINDS) {
    await t.test(`cairn-${k}`, async () => {
      const held: RawPeer[] = [];
      try {
        for (let i = 0; i < 80; i++) {
          const s = await halfOpenSession(who[k].port, who[k]);
          if ('refused' in s) {
            assert.fail(`BUG: cairn-${k} refused connection ${i + 1} with "${s.refused}" although it had ended (FIN) every earlier one after their 2 GiB length word: `
              + `it still counts connections it half-closed, so a peer that keeps its side open fills the cap (${i}) and locks out everyone else`);
          }
          await s.peer.write(Buffer.concat([word(0x7fffffff), Buffer.alloc(64, 0x41)]));
          assert.ok(await s.peer.waitFin(5000), `cairn-${k} did not end connection ${i + 1} after a 2 GiB length word`);
          held.push(s.peer);
        }
      } finally {
        for (const p of held) p.destroy();
      }
    });
  }
  // Once the peers closed, every daemon admits again and serves.
  await new Promise((r) => setTimeout(r, 200));
  for (const k of KINDS) (await admitted(who[k].port)).destroy();
  const status = await runLive(['--config', d.qs.files.console, 'status', '--json']);
  assert.equal(status.status, 0, status.describe);
});
