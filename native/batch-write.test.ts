/**
 * writeFiles, native and degraded: bytes, modes (setuid/sticky as root),
 * owners (as root), nanosecond times, and per-file failures (a taken temp
 * name, a final path that is a directory) that leave the rest written and
 * no temp name behind; both implementations give the same results.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { platformFileServices, type WriteFileRequest } from './index.js';

const native = platformFileServices();
const degraded = platformFileServices({ forceDegraded: true, warn: () => undefined });
const noNative = native.available.batch ? false : 'native addon not loaded';
const asRoot = process.getuid?.() === 0;

function tmpdir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-wbatch-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function request(dir: string, i: number, extra: Partial<WriteFileRequest> = {}): WriteFileRequest {
  const mtimeNs = 1_600_000_000_000_000_000n + BigInt(i) * 1_000_003n + 123n;
  return {
    temp: path.join(dir, `.f${i}.tmp`),
    final: path.join(dir, `f${i}`),
    data: crypto.randomBytes(i % 7 === 0 ? 0 : (i * 37) % 9000),
    mode: [0o644, 0o600, 0o755, 0o4755, 0o1777, 0o2750, 0o444][i % 7],
    uid: asRoot ? 1000 + (i % 3) : (process.getuid?.() ?? 0),
    gid: asRoot ? 2000 + (i % 5) : (process.getgid?.() ?? 0),
    chown: asRoot,
    atimeNs: mtimeNs - 777n,
    mtimeNs,
    ...extra,
  };
}

test('writeFiles: 500 files with exact bytes, modes, owners (as root) and nanosecond times', { skip: noNative }, async (t) => {
  const dir = tmpdir(t);
  const files = Array.from({ length: 500 }, (_, i) => request(dir, i));
  const results = await native.writeFiles(files);
  assert.equal(results.length, 500);
  for (const [i, f] of files.entries()) {
    assert.deepEqual(results[i], { ok: true });
    const st = fs.lstatSync(f.final as string, { bigint: true });
    assert.ok(st.isFile());
    assert.ok(Buffer.from(f.data).equals(fs.readFileSync(f.final as string)), `bytes of f${i}`);
    // Non-root cannot keep setgid for a group it is not in; everything else is exact.
    const want = asRoot ? f.mode : f.mode & ~0o2000;
    assert.equal(Number(st.mode) & 0o7777 & ~(asRoot ? 0 : 0o2000), want, `mode of f${i}`);
    if (asRoot) assert.deepEqual([Number(st.uid), Number(st.gid)], [f.uid, f.gid]);
    assert.equal(st.mtimeNs, f.mtimeNs);
    assert.equal(st.atimeNs, f.atimeNs);
  }
  assert.deepEqual(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp')), []);
});

/** Runs the failure cases on one implementation; returns the results and what is left in the directory. */
async function failureCase(impl: typeof native, dir: string): Promise<{ results: unknown[]; names: string[] }> {
  const files = Array.from({ length: 6 }, (_, i) => request(dir, i + 1, { mode: 0o640, chown: false, uid: 0, gid: 0 }));
  fs.writeFileSync(files[1].temp as string, 'someone else'); // temp name taken → EEXIST, untouched
  fs.mkdirSync(files[3].final as string); // final is a non-empty directory → rename fails
  fs.writeFileSync(path.join(files[3].final as string, 'inside'), 'x');
  fs.mkdirSync(files[4].final as string); // final is an empty directory → rename fails
  const results = await impl.writeFiles(files);
  for (const i of [0, 2, 5]) assert.ok(Buffer.from(files[i].data).equals(fs.readFileSync(files[i].final as string)));
  assert.equal(fs.readFileSync(files[1].temp as string, 'utf8'), 'someone else');
  assert.equal(fs.existsSync(files[1].final as string), false);
  assert.ok(fs.lstatSync(files[3].final as string).isDirectory());
  assert.ok(fs.lstatSync(files[4].final as string).isDirectory());
  return { results, names: fs.readdirSync(dir).sort() };
}

test('writeFiles: a taken temp name (EEXIST) and a directory in the way fail for that file only, temp removed; native and degraded agree', async (t) => {
  const impls = noNative ? [degraded] : [native, degraded];
  const outcomes = [];
  for (const impl of impls) {
    const dir = tmpdir(t);
    const out = await failureCase(impl, dir);
    assert.deepEqual(out.results[1], { errno: 'EEXIST', syscall: 'open' });
    for (const i of [3, 4]) {
      const r = out.results[i] as { errno: string; syscall: string };
      assert.equal(r.syscall, 'rename');
      assert.ok(['EISDIR', 'ENOTEMPTY', 'EEXIST'].includes(r.errno), r.errno);
    }
    for (const i of [0, 2, 5]) assert.deepEqual(out.results[i], { ok: true });
    assert.deepEqual(out.names, ['.f2.tmp', 'f1', 'f3', 'f4', 'f5', 'f6']);
    outcomes.push(out);
  }
  if (outcomes.length === 2) assert.deepEqual(outcomes[0], outcomes[1]);
});

test('writeFiles: degraded writes the same bytes and modes (times to about a microsecond)', async (t) => {
  const dir = tmpdir(t);
  const files = Array.from({ length: 50 }, (_, i) => request(dir, i));
  const results = await degraded.writeFiles(files);
  for (const [i, f] of files.entries()) {
    assert.deepEqual(results[i], { ok: true });
    const st = fs.lstatSync(f.final as string, { bigint: true });
    assert.ok(Buffer.from(f.data).equals(fs.readFileSync(f.final as string)));
    assert.equal(Number(st.mode) & 0o7777 & ~(asRoot ? 0 : 0o2000), asRoot ? f.mode : f.mode & ~0o2000);
    const diff = st.mtimeNs - f.mtimeNs;
    assert.ok(diff < 2000n && diff > -2000n, `mtime off by ${diff} ns`);
  }
});

test('writeFiles: bad arguments are a TypeError and nothing is written', async (t) => {
  const dir = tmpdir(t);
  for (const impl of noNative ? [degraded] : [native, degraded]) {
    const good = request(dir, 1);
    await assert.rejects(impl.writeFiles([good, { ...request(dir, 2), temp: 'a\0b' }]), TypeError);
    await assert.rejects(impl.writeFiles([good, { ...request(dir, 2), mode: -1 }]), TypeError);
    await assert.rejects(impl.writeFiles([good, { ...request(dir, 2), mtimeNs: 1 as unknown as bigint }]), TypeError);
    assert.deepEqual(await impl.writeFiles([]), []);
  }
  assert.deepEqual(fs.readdirSync(dir), []);
});
