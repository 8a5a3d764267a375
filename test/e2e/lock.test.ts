/**
 * Acceptance: one writer per repository, through the console.
 *
 * Two `backup` processes started at once (spawn) on one repository: each
 * either succeeds, or fails with exit 5 and CAIRN_E_REPO_LOCKED naming the
 * other's pid; with `--wait` both succeed, one after the other. Then a
 * deterministic version: a backup held open by a gated agent (it waits in
 * prepareBackup until the test creates a file) must make a second backup
 * fail with exit 5 naming the holder's pid, and a third with --wait finish
 * only after the holder. Afterwards every OK job verifies and `jobs` is
 * consistent (no job left running, jobs do not overlap).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildTree, file, generateSmallFiles, tempDir } from '../support/index.js';
import { cairnOk, startCairn, type CairnRun } from './cli-runner.js';

const MiB = 1024 * 1024;

interface JobRow { id: number; type: string; status: string; startedAt: string; endedAt: string | null }

async function sources(t: TestContext): Promise<{ tmp: string; repo: string; a: string; b: string }> {
  const tmp = tempDir(t, 'cairn-e2e-lock-');
  const repo = join(tmp, 'R');
  const a = join(tmp, 'a');
  const b = join(tmp, 'b');
  await buildTree(a, { 'big.bin': file(1, 8 * MiB) });
  generateSmallFiles(join(a, 'small'), { count: 500, seed: 1 });
  await buildTree(b, { 'big.bin': file(2, 8 * MiB) });
  generateSmallFiles(join(b, 'small'), { count: 500, seed: 2 });
  cairnOk(repo, ['init']);
  return { tmp, repo, a, b };
}

/** Every OK backup verifies; no job is left running; backups never overlap in time. */
function assertConsistent(repo: string): JobRow[] {
  const jobs = cairnOk(repo, ['jobs', '--json']).json as JobRow[];
  for (const j of jobs) assert.notEqual(j.status, 'running', `job ${j.id} left running: ${JSON.stringify(j)}`);
  const backups = jobs.filter((j) => j.type === 'backup').sort((x, y) => x.id - y.id);
  for (const j of backups.filter((x) => x.status === 'ok')) {
    const v = cairnOk(repo, ['verify', String(j.id), '--json']).json;
    assert.equal(v.status, 'ok', `verify of job ${j.id}: ${JSON.stringify(v.problems.slice(0, 5))}`);
  }
  for (let i = 1; i < backups.length; i++) {
    const prev = backups[i - 1];
    assert.ok(prev.endedAt !== null && new Date(backups[i].startedAt) >= new Date(prev.endedAt), `backup jobs ${prev.id} and ${backups[i].id} overlap: only one writer may hold the repository`);
  }
  return jobs;
}

function assertLockedBy(r: CairnRun, holderPid: number): void {
  assert.equal(r.status, 5, r.describe);
  assert.equal(r.json?.error?.code, 'CAIRN_E_REPO_LOCKED', r.describe);
  assert.equal(r.json.error.pid, holderPid, `the error names the holder's pid: ${r.describe}`);
  assert.match(r.json.error.message, new RegExp(`pid ${holderPid}\\b`));
}

test('two backups started at once: one wins, the other is refused naming the winner (or runs after it)', async (t) => {
  const { repo, a, b } = await sources(t);
  for (let round = 0; round < 3; round++) {
    const p1 = startCairn(repo, ['backup', a, '--json']);
    const p2 = startCairn(repo, ['backup', b, '--json']);
    const [r1, r2] = await Promise.all([p1.done, p2.done]);
    const runs = [{ r: r1, pid: p1.pid }, { r: r2, pid: p2.pid }];
    const ok = runs.filter((x) => x.r.status === 0);
    assert.ok(ok.length >= 1, `at least one backup succeeds:\n${r1.describe}\n${r2.describe}`);
    for (const x of runs) {
      if (x.r.status === 0) {
        assert.equal(x.r.json.status, 'ok', x.r.describe);
        continue;
      }
      const other = runs.find((y) => y !== x)!;
      assertLockedBy(x.r, other.pid);
    }
    t.diagnostic(`round ${round}: exits ${r1.status}, ${r2.status}`);
  }
  assertConsistent(repo);
});

test('two backups started at once on a repository that does not exist yet: it is created once, both jobs land', async (t) => {
  const { tmp, a, b } = await sources(t);
  const repo = join(tmp, 'fresh');
  const p1 = startCairn(repo, ['backup', a, '--json', '--wait']);
  const p2 = startCairn(repo, ['backup', b, '--json', '--wait']);
  const [r1, r2] = await Promise.all([p1.done, p2.done]);
  assert.equal(r1.status, 0, r1.describe);
  assert.equal(r2.status, 0, r2.describe);
  const jobs = assertConsistent(repo);
  assert.equal(jobs.filter((j) => j.type === 'backup' && j.status === 'ok').length, 2);
});

test('two backups started at once with --wait: both succeed, one after the other', async (t) => {
  const { repo, a, b } = await sources(t);
  const p1 = startCairn(repo, ['backup', a, '--json', '--wait']);
  const p2 = startCairn(repo, ['backup', b, '--json', '--wait']);
  const [r1, r2] = await Promise.all([p1.done, p2.done]);
  assert.equal(r1.status, 0, r1.describe);
  assert.equal(r2.status, 0, r2.describe);
  assert.notEqual(r1.json.jobId, r2.json.jobId);
  const jobs = assertConsistent(repo);
  assert.equal(jobs.filter((j) => j.type === 'backup' && j.status === 'ok').length, 2);
});

/** An agent that waits in prepareBackup until the file named by its `gate` option exists. */
const GATED_AGENT = `
import { existsSync } from 'node:fs';
export const manifest = {
  name: 'gated', version: '1.0.0', api: '>=1 <2', formatMajor: 1,
  options: { type: 'object', properties: { gate: { type: 'string' } }, required: ['gate'] },
};
export function createAgent(ctx) {
  let sent = false;
  return {
    async prepareBackup(job) {
      while (!existsSync(job.options.gate)) await new Promise((r) => setTimeout(r, 50));
    },
    async nextFile() {
      if (sent) return null;
      sent = true;
      const now = BigInt(Date.now()) * 1000000n;
      return {
        path: new TextEncoder().encode('/gated/one.txt'), kind: 'file',
        stat: { mode: 0o100644, uid: 0, gid: 0, size: 5, mtimeNs: now, atimeNs: now, ctimeNs: now, dev: 1n, ino: 1n, nlink: 1, rdev: 0 },
        streams: [{ index: 0, name: 'data', layout: 'sequential', size: 5 }],
      };
    },
    async *readData() { yield new TextEncoder().encode('hello'); },
    async endBackup() { return { state: null }; },
    async prepareRestore() {}, async createFile() { return 'skip'; }, async writeData() {}, async endFile() {}, async endRestore() {},
  };
}
`;

/** Polls (no timed assertion: the test's own timeout bounds it) until `pred` holds. */
async function until(pred: () => boolean, what: string, done?: Promise<CairnRun>): Promise<void> {
  let ended: CairnRun | undefined;
  done?.then((r) => (ended = r));
  while (!pred()) {
    if (ended) throw new Error(`${what}: the process ended first: ${ended.describe}`);
    await sleep(50);
  }
}

test('a held repository: a second backup exits 5 naming the holder; with --wait it runs after the holder', async (t) => {
  const { tmp, repo, a } = await sources(t);
  const plugins = join(repo, 'plugins');
  mkdirSync(plugins, { recursive: true });
  const agent = join(plugins, 'gated.mjs');
  writeFileSync(agent, GATED_AGENT);
  const gate = join(tmp, 'gate-open');
  const filesetPath = join(tmp, 'gated.yaml');
  writeFileSync(filesetPath, ['name: gated', 'agents:', `  - agent: ${JSON.stringify(agent)}`, '    include: [/gated]', `    options: { gate: ${JSON.stringify(gate)} }`, ''].join('\n'));

  const holder = startCairn(repo, ['backup', '--fileset', filesetPath, '--json'], { timeoutMs: 120_000 });
  const lockFile = join(repo, 'lock');
  // The holder is inside its job (the lock names it) and waits at the gate.
  await until(() => existsSync(lockFile) && (() => { try { return JSON.parse(readFileSync(lockFile, 'utf8')).pid === holder.pid; } catch { return false; } })(), 'holder takes the lock', holder.done);

  const refused = await startCairn(repo, ['backup', a, '--json']).done;
  assertLockedBy(refused, holder.pid);
  assert.match(refused.json.error.message, /backup/, 'the error names the holder’s command');

  const waiter = startCairn(repo, ['backup', a, '--json', '--wait'], { timeoutMs: 120_000 });
  let waiterEnded = false;
  waiter.done.then(() => (waiterEnded = true));
  // Give the waiter every chance to (wrongly) get in while the gate is shut:
  // whatever it does, it must not finish before the holder.
  await sleep(1500);
  assert.equal(waiterEnded, false, `--wait must not finish while the holder runs: ${waiterEnded ? (await waiter.done).describe : ''}`);
  writeFileSync(gate, '');
  const h = await holder.done;
  assert.equal(h.status, 0, h.describe);
  const w = await waiter.done;
  assert.equal(w.status, 0, w.describe);
  assert.ok(new Date(w.json.startedAt) >= new Date(h.json.endedAt), `the waiting backup (started ${w.json.startedAt}) ran after the holder (ended ${h.json.endedAt})`);
  assert.equal(existsSync(lockFile), false, 'the lock is released at the end');

  const jobs = assertConsistent(repo);
  assert.deepEqual(jobs.filter((j) => j.type === 'backup').map((j) => j.status).sort(), ['ok', 'ok']);
});

test('a backup killed while holding the lock: the next backup takes the stale lock over, and the dead job is not left "running"', async (t) => {
  const { tmp, repo, a } = await sources(t);
  const plugins = join(repo, 'plugins');
  mkdirSync(plugins, { recursive: true });
  const agent = join(plugins, 'gated.mjs');
  writeFileSync(agent, GATED_AGENT);
  const filesetPath = join(tmp, 'gated.yaml');
  const gate = join(tmp, 'never-opened');
  writeFileSync(filesetPath, ['name: gated', 'agents:', `  - agent: ${JSON.stringify(agent)}`, '    include: [/gated]', `    options: { gate: ${JSON.stringify(gate)} }`, ''].join('\n'));
  const first = cairnOk(repo, ['backup', a, '--json']).json;

  const holder = startCairn(repo, ['backup', '--fileset', filesetPath, '--json'], { timeoutMs: 120_000 });
  const lockFile = join(repo, 'lock');
  await until(() => existsSync(lockFile) && (() => { try { return JSON.parse(readFileSync(lockFile, 'utf8')).pid === holder.pid; } catch { return false; } })(), 'holder takes the lock', holder.done);
  // The holder has created its job row (the agent waits inside the job).
  await until(() => (cairnOk(repo, ['jobs', '--json']).json as JobRow[]).some((j) => j.status === 'running'), 'the held job is in the catalog', holder.done);
  process.kill(holder.pid, 'SIGKILL');
  const dead = await holder.done;
  assert.equal(dead.signal, 'SIGKILL');
  assert.ok(existsSync(lockFile), 'a killed process leaves its lock behind');

  const next = cairnOk(repo, ['backup', a, '--json']).json;
  assert.equal(next.status, 'ok');
  assert.equal(next.baseJobId, first.jobId, 'the dead job is no base');
  const v = cairnOk(repo, ['verify', String(next.jobId), '--json']).json;
  assert.equal(v.status, 'ok');
  assertConsistent(repo);
});

/** A pid that is certainly not running: a child that has already exited. */
async function deadPid(): Promise<number> {
  const { spawn } = await import('node:child_process');
  const c = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((r) => c.on('close', r));
  return c.pid!;
}

test('a stale lock left by a dead process, several backups at once: each runs, never two at a time', async (t) => {
  const { repo, a, b } = await sources(t);
  const { hostname } = await import('node:os');
  writeFileSync(join(repo, 'lock'), JSON.stringify({ pid: await deadPid(), host: hostname(), command: 'backup', since: new Date(0).toISOString() }));
  const runs = [startCairn(repo, ['backup', a, '--json', '--wait']), startCairn(repo, ['backup', b, '--json', '--wait']), startCairn(repo, ['backup', a, '--json', '--wait'])];
  const results = await Promise.all(runs.map((r) => r.done));
  for (const r of results) assert.equal(r.status, 0, r.describe);
  const jobs = assertConsistent(repo);
  assert.equal(jobs.filter((j) => j.type === 'backup' && j.status === 'ok').length, 3);
  assert.equal(existsSync(join(repo, 'lock')), false);
});

test('an empty lock file (its writer died between creating and writing it) does not lock the repository for ever', async (t) => {
  const { repo, a } = await sources(t);
  const lockFile = join(repo, 'lock');
  writeFileSync(lockFile, '');
  // Old enough that no live writer can still be about to fill it in.
  const { utimesSync } = await import('node:fs');
  const hourAgo = new Date(Date.now() - 3600_000);
  utimesSync(lockFile, hourAgo, hourAgo);
  const r = cairnOk(repo, ['backup', a, '--json'], 0, { timeoutMs: 60_000 });
  assert.equal(r.json.status, 'ok');
  assert.equal(existsSync(lockFile), false);
});
