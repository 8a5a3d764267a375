import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Agent, FileEntry } from '../../plugin-api/index.js';
import { platformFileServices } from '../../native/index.js';
import { createAgent } from './index.js';
import { tempDir, testContext } from './test-fixture.js';
import { WorkQueue } from './write-queue.js';

const native = platformFileServices();
const noNs = native.available.utimensat ? false : 'native setTimes (utimensat) not available: times would be microseconds only';
const asRoot = process.getuid?.() === 0;

function fileEntry(p: string, size: number, extra: { mode?: number; mtimeNs?: bigint; uid?: number; gid?: number; nlink?: number } = {}): FileEntry {
  const m = extra.mtimeNs ?? 1_600_000_000_123_456_789n;
  return {
    path: Buffer.from(p),
    kind: 'file',
    stat: { mode: 0o100000 | (extra.mode ?? 0o644), uid: extra.uid ?? 0, gid: extra.gid ?? 0, size, mtimeNs: m, atimeNs: m - 1000n, ctimeNs: 0n, dev: 0n, ino: 0n, nlink: extra.nlink ?? 1, rdev: 0 },
    streams: [{ index: 0, name: 'data', layout: 'sequential', size }],
  };
}

function dirEntry(p: string): FileEntry {
  const m = 1_500_000_000_000_000_007n;
  return { path: Buffer.from(p), kind: 'dir', stat: { mode: 0o040755, uid: 0, gid: 0, size: 0, mtimeNs: m, atimeNs: m, ctimeNs: 0n, dev: 0n, ino: 0n, nlink: 2, rdev: 0 }, streams: [] };
}

/** Feeds one file through the hooks the way the host does, in chunks of `chunk` bytes. */
async function restoreFile(agent: Agent, e: FileEntry, data: Buffer, chunk = 4096, ok = true): Promise<string> {
  const r = await agent.createFile(e);
  if (r === 'extract') for (let o = 0; o < data.length; o += chunk) await agent.writeData(e, e.streams[0], Buffer.from(data.subarray(o, o + chunk)));
  if (r !== 'skip') await agent.endFile(e, ok);
  return r;
}

function tempLeftovers(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((n) => n.includes('.cairn-tmp-'));
}

test('2,000 small files restore byte-exact with modes, owners and nanosecond times through the write queue', { skip: noNs }, async () => {
  const where = tempDir('queue');
  try {
    const { ctx, messages } = testContext(native);
    const agent = createAgent(ctx);
    await agent.prepareRestore({ jobId: 1, where, replace: 'always', options: {} });
    const modes = [0o644, 0o600, 0o755, 0o640, 0o444, 0o4750, 0o2755, 0o1777, 0o666, 0o700];
    const want: Array<{ rel: string; data: Buffer; mode: number; mtimeNs: bigint; uid: number; gid: number }> = [];
    for (let d = 0; d < 20; d++) {
      const dir = `/src/d${String(d).padStart(2, '0')}`;
      if (d === 0) {
        assert.equal(await agent.createFile(dirEntry('/src')), 'created');
        await agent.endFile(dirEntry('/src'), true);
      }
      assert.equal(await agent.createFile(dirEntry(dir)), 'created');
      await agent.endFile(dirEntry(dir), true);
      for (let i = 0; i < 100; i++) {
        const n = d * 100 + i;
        const size = n % 97 === 0 ? 0 : 1024 + ((n * 7919) % (15 * 1024));
        const data = crypto.randomBytes(size);
        const mode = modes[n % modes.length];
        const mtimeNs = 1_600_000_000_000_000_000n + BigInt(n) * 1_000_000_007n + 123n;
        const owner = asRoot && n % 3 === 1 ? { uid: 1000 + (n % 5), gid: 2000 + (n % 7) } : { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
        const e = fileEntry(`${dir}/f${String(i).padStart(3, '0')}`, size, { mode, mtimeNs, ...owner });
        assert.equal(await restoreFile(agent, e, data, [4096, 1000, 65536][n % 3]), 'extract');
        want.push({ rel: `src/d${String(d).padStart(2, '0')}/f${String(i).padStart(3, '0')}`, data, mode, mtimeNs, ...owner });
      }
    }
    await agent.endRestore();
    assert.deepEqual(messages, []);
    for (const w of want) {
      const p = path.join(where, w.rel);
      const st = fs.lstatSync(p, { bigint: true });
      assert.ok(st.isFile(), w.rel);
      assert.ok(fs.readFileSync(p).equals(w.data), `${w.rel}: content`);
      assert.equal(Number(st.mode) & 0o7777, w.mode, `${w.rel}: mode`);
      assert.equal(st.mtimeNs, w.mtimeNs, `${w.rel}: mtime`);
      assert.equal(st.atimeNs, w.mtimeNs - 1000n, `${w.rel}: atime`);
      if (asRoot) assert.deepEqual([Number(st.uid), Number(st.gid)], [w.uid, w.gid], `${w.rel}: owner`);
    }
    assert.equal(fs.statSync(path.join(where, 'src/d07'), { bigint: true }).mtimeNs, 1_500_000_000_000_000_007n);
    assert.deepEqual(tempLeftovers(where), []);
  } finally {
    fs.rmSync(where, { recursive: true, force: true });
  }
});

test('a deferred write that fails is an error message naming the path, and leaves no temp file', async () => {
  const where = tempDir('defer');
  try {
    const { ctx, messages } = testContext(native);
    const agent = createAgent(ctx);
    await agent.prepareRestore({ jobId: 1, where, replace: 'always', options: {} });
    const good = fileEntry('/d/good', 5);
    const bad = fileEntry('/d/bad', 5);
    assert.equal(await agent.createFile(bad), 'extract');
    await agent.writeData(bad, bad.streams[0], Buffer.from('hello'));
    // Something takes the name after the replace decision: the rename into place fails later, in the queue.
    fs.mkdirSync(path.join(where, 'd/bad'));
    fs.writeFileSync(path.join(where, 'd/bad/inside'), 'x');
    await agent.endFile(bad, true);
    assert.equal(await restoreFile(agent, good, Buffer.from('world')), 'extract');
    await agent.endRestore();
    assert.equal(messages.length, 1, JSON.stringify(messages));
    assert.equal(messages[0].level, 'error');
    assert.equal(messages[0].code, 'CAIRN_E_FS_RESTORE_FAILED');
    assert.equal(messages[0].path, '/d/bad');
    assert.ok(fs.lstatSync(path.join(where, 'd/bad')).isDirectory());
    assert.equal(fs.readFileSync(path.join(where, 'd/good'), 'utf8'), 'world');
    assert.deepEqual(fs.readdirSync(path.join(where, 'd')).sort(), ['bad', 'good']);
  } finally {
    fs.rmSync(where, { recursive: true, force: true });
  }
});

test('a deferred write into a directory that became read-only fails cleanly', async () => {
  const where = tempDir('ro');
  try {
    // Root ignores directory permissions: as root, the restore runs in a child process as nobody.
    const result = asRoot ? readOnlyCaseAsNobody(where) : await readOnlyCase(where);
    assert.deepEqual(result.messages, [['error', 'CAIRN_E_FS_RESTORE_FAILED', '/d/f']]);
    assert.deepEqual(result.left, []);
  } finally {
    fs.rmSync(where, { recursive: true, force: true });
  }
});

async function readOnlyCase(where: string): Promise<{ messages: unknown[][]; left: string[] }> {
  const { ctx, messages } = testContext(native);
  const agent = createAgent(ctx);
  await agent.prepareRestore({ jobId: 1, where, replace: 'always', options: {} });
  const f = fileEntry('/d/f', 3);
  assert.equal(await agent.createFile(f), 'extract');
  await agent.writeData(f, f.streams[0], Buffer.from('abc'));
  fs.chmodSync(path.join(where, 'd'), 0o500);
  await agent.endFile(f, true);
  await agent.endRestore();
  fs.chmodSync(path.join(where, 'd'), 0o700);
  return { messages: messages.map((m) => [m.level, m.code, m.path]), left: fs.readdirSync(path.join(where, 'd')) };
}

function readOnlyCaseAsNobody(where: string): { messages: unknown[][]; left: string[] } {
  fs.chownSync(where, 65534, 65534);
  const script = `
    const fs = await import('node:fs');
    const path = await import('node:path');
    const { createAgent } = await import(${JSON.stringify(new URL('./index.js', import.meta.url).pathname)});
    const { testContext } = await import(${JSON.stringify(new URL('./test-fixture.js', import.meta.url).pathname)});
    const { platformFileServices } = await import(${JSON.stringify(new URL('../../native/index.js', import.meta.url).pathname)});
    const where = ${JSON.stringify(where)};
    const { ctx, messages } = testContext(platformFileServices({ warn: () => {} }));
    const agent = createAgent(ctx);
    await agent.prepareRestore({ jobId: 1, where, replace: 'always', options: {} });
    const now = 1_700_000_000_000_000_000n;
    const f = { path: Buffer.from('/d/f'), kind: 'file', stat: { mode: 0o100644, uid: 65534, gid: 65534, size: 3, mtimeNs: now, atimeNs: now, ctimeNs: now, dev: 0n, ino: 1n, nlink: 1, rdev: 0 }, streams: [{ index: 0, name: 'data', layout: 'sequential', size: 3 }] };
    if (await agent.createFile(f) !== 'extract') throw new Error('createFile did not extract');
    await agent.writeData(f, f.streams[0], Buffer.from('abc'));
    fs.chmodSync(path.join(where, 'd'), 0o500);
    await agent.endFile(f, true);
    await agent.endRestore();
    fs.chmodSync(path.join(where, 'd'), 0o700);
    process.stdout.write(JSON.stringify({ messages: messages.map((m) => [m.level, m.code, m.path]), left: fs.readdirSync(path.join(where, 'd')) }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: '/' });
  assert.equal(r.status, 0, `child as nobody failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { messages: unknown[][]; left: string[] };
}

test('replace=never keeps existing files with the queue on, also a path restored earlier in the same run', async () => {
  const where = tempDir('never');
  try {
    fs.mkdirSync(path.join(where, 'd'));
    for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(where, `d/f${i}`), `old ${i}`);
    const { ctx, messages } = testContext(native);
    const agent = createAgent(ctx);
    await agent.prepareRestore({ jobId: 1, where, replace: 'never', options: {} });
    for (let i = 0; i < 100; i++) {
      const data = Buffer.from(`new ${i}`);
      assert.equal(await restoreFile(agent, fileEntry(`/d/f${i}`, data.length), data), i < 50 ? 'skip' : 'extract');
    }
    // The same path again while its first write may still be queued: the policy sees the first one.
    const again = Buffer.from('second');
    assert.equal(await restoreFile(agent, fileEntry('/d/f99', again.length), again), 'skip');
    await agent.endRestore();
    for (let i = 0; i < 100; i++) assert.equal(fs.readFileSync(path.join(where, `d/f${i}`), 'utf8'), i < 50 ? `old ${i}` : `new ${i}`);
    assert.equal(messages.length, 51);
    assert.ok(messages.every((m) => m.code === 'CAIRN_E_FS_RESTORE_EXISTS' && m.level === 'info'));
    assert.deepEqual(tempLeftovers(where), []);
  } finally {
    fs.rmSync(where, { recursive: true, force: true });
  }
});

test('a hard link to a small file queued just before it links the finished file', async () => {
  const where = tempDir('link');
  try {
    const { ctx, messages } = testContext(native);
    const agent = createAgent(ctx);
    await agent.prepareRestore({ jobId: 1, where, replace: 'always', options: {} });
    for (let i = 0; i < 200; i++) {
      const data = Buffer.from(`member ${i}`.repeat(100));
      await restoreFile(agent, fileEntry(`/h/a${i}`, data.length, { nlink: 2, mode: 0o640 }), data);
      const link: FileEntry = { ...fileEntry(`/h/b${i}`, 0, { nlink: 2 }), kind: 'hardlink', hardlinkTarget: Buffer.from(`/h/a${i}`), streams: [] };
      assert.equal(await agent.createFile(link), 'created');
      await agent.endFile(link, true);
    }
    await agent.endRestore();
    assert.deepEqual(messages, []);
    for (let i = 0; i < 200; i++) {
      const a = fs.statSync(path.join(where, `h/a${i}`));
      const b = fs.statSync(path.join(where, `h/b${i}`));
      assert.equal(a.ino, b.ino);
      assert.equal(a.mode & 0o7777, 0o640);
      assert.equal(fs.readFileSync(path.join(where, `h/b${i}`), 'utf8'), `member ${i}`.repeat(100));
    }
  } finally {
    fs.rmSync(where, { recursive: true, force: true });
  }
});

test('a "small" file whose data outgrows memory collection is streamed; a failed one never appears', async () => {
  const where = tempDir('grow');
  try {
    const { ctx, messages } = testContext(native);
    const agent = createAgent(ctx);
    await agent.prepareRestore({ jobId: 1, where, replace: 'always', options: {} });
    const big = crypto.randomBytes(3 * 1024 * 1024 + 17);
    assert.equal(await restoreFile(agent, fileEntry('/g/grew', 10), big, 300 * 1024), 'extract');
    assert.equal(await restoreFile(agent, fileEntry('/g/half', 8000), crypto.randomBytes(4000), 1000, false), 'extract');
    assert.equal(await restoreFile(agent, fileEntry('/g/empty', 0), Buffer.alloc(0)), 'extract');
    await agent.endRestore();
    assert.ok(fs.readFileSync(path.join(where, 'g/grew')).equals(big));
    assert.equal(fs.statSync(path.join(where, 'g/empty')).size, 0);
    assert.deepEqual(fs.readdirSync(path.join(where, 'g')).sort(), ['empty', 'grew']);
    assert.deepEqual(messages.map((m) => [m.code, m.path]), [['CAIRN_E_FS_RESTORE_FAILED', '/g/half']]);
  } finally {
    fs.rmSync(where, { recursive: true, force: true });
  }
});

test('the write queue runs up to its job limit at once and holds back when full or over its byte cap', async () => {
  const q = new WorkQueue(4, 1000, (err) => assert.fail(String(err)));
  const gates: Array<() => void> = [];
  let running = 0;
  let most = 0;
  const job = () => async () => {
    running++;
    most = Math.max(most, running);
    await new Promise<void>((r) => gates.push(r));
    running--;
  };
  for (let i = 0; i < 4; i++) await q.add(100, job());
  assert.equal(running, 4);
  let fifthStarted = false;
  const fifth = q.add(100, job()).then(() => (fifthStarted = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(fifthStarted, false);
  gates.shift()!();
  await fifth;
  assert.equal(running, 4);
  // Byte cap: 4 × 100 held; an 800-byte job waits until at most 200 are.
  let bigStarted = false;
  const bigOne = q.add(800, job()).then(() => (bigStarted = true));
  gates.shift()!();
  await new Promise((r) => setImmediate(r));
  assert.equal(bigStarted, false);
  while (!bigStarted) {
    gates.shift()?.();
    await new Promise((r) => setImmediate(r));
  }
  await bigOne;
  const drained = q.drain();
  while (gates.length > 0) gates.shift()!();
  await drained;
  assert.equal(running, 0);
  assert.equal(most, 4);
});
