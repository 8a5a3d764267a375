/**
 * Acceptance: faulty agents named by a fileset, through the console.
 *
 * An unknown agent, an agent speaking another plugin API, an agent that
 * throws in nextFile and one that hangs in readData each end their job in
 * error with the right code and a message naming what failed; the job is in
 * `jobs --json` with status error; and the next ordinary backup in the same
 * repository runs and succeeds. Agents may load only from the repository's
 * plugin dir (R/plugins/): the test writes its agent modules there. The
 * agent-fault cases run with the agent in-process and in a child process
 * (test/e2e/agent-isolation.test.ts has the faults only a child can have).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTree, file, tempDir } from '../support/index.js';
import { cairn, cairnOk, type CairnRun } from './cli-runner.js';

/**
 * Source of an agent module (.mjs, no imports) that reports one virtual
 * file of 5 bytes. `hooks` replaces hook bodies; `api` the API range.
 */
function agentSource(name: string, opts: { api?: string; nextFile?: string; readData?: string } = {}): string {
  return `
export const manifest = { name: ${JSON.stringify(name)}, version: '1.2.3', api: ${JSON.stringify(opts.api ?? '>=1 <2')}, formatMajor: 1 };
export function createAgent(ctx) {
  let sent = false;
  return {
    async prepareBackup(job) {},
    async nextFile() {
      ${opts.nextFile ?? ''}
      if (sent) return null;
      sent = true;
      const now = BigInt(Date.now()) * 1000000n;
      return {
        path: new TextEncoder().encode('/${name}/one.txt'),
        kind: 'file',
        stat: { mode: 0o100644, uid: 0, gid: 0, size: 5, mtimeNs: now, atimeNs: now, ctimeNs: now, dev: 1n, ino: 1n, nlink: 1, rdev: 0 },
        streams: [{ index: 0, name: 'data', layout: 'sequential', size: 5 }],
      };
    },
    async *readData(file, stream) {
      ${opts.readData ?? ''}
      yield new TextEncoder().encode('hello');
    },
    async endBackup() { return { state: null }; },
    async prepareRestore(job) {},
    async createFile(file) { return 'skip'; },
    async writeData(file, stream, chunk) {},
    async endFile(file, ok) {},
    async endRestore() {},
  };
}
`;
}

interface Repo {
  tmp: string;
  repo: string;
  plugins: string;
  small: string;
}

async function freshRepo(t: TestContext): Promise<Repo> {
  const tmp = tempDir(t, 'cairn-e2e-agents-');
  const repo = join(tmp, 'R');
  cairnOk(repo, ['init']);
  const plugins = join(repo, 'plugins');
  mkdirSync(plugins, { recursive: true });
  const small = join(tmp, 'small');
  await buildTree(small, { 'a.txt': file(1, 100), d: { 'b.txt': file(2, 2000) } });
  return { tmp, repo, plugins, small };
}

function writeFileset(r: Repo, name: string, agent: string): string {
  const path = join(r.tmp, `${name}.yaml`);
  writeFileSync(path, [`name: ${name}`, 'agents:', `  - agent: ${JSON.stringify(agent)}`, '    include: [/virtual]', '    options: {}', ''].join('\n'));
  return path;
}

/** The failed job's error code (report or bare `{ error }` form) and, for a report, its id. */
function failure(r: CairnRun): { code: string; message: string; jobId?: number } {
  assert.ok(r.status === 2 || r.status === 3, `a failed job exits 2 or 3: ${r.describe}`);
  const err = r.json?.error;
  assert.ok(err && typeof err.code === 'string', `the JSON output carries error.code: ${r.describe}`);
  if (r.json.jobId !== undefined) assert.equal(r.json.status, 'error', r.describe);
  return { code: err.code, message: err.message, jobId: r.json.jobId };
}

/** After a failed job: the job is listed with status error, and an ordinary backup runs fine. */
function assertRepoStillWorks(r: Repo, failed: { jobId?: number }, filesetName: string): void {
  const jobs = cairnOk(r.repo, ['jobs', '--json']).json as Array<{ id: number; name: string; status: string }>;
  const row = failed.jobId !== undefined ? jobs.find((j) => j.id === failed.jobId) : jobs.find((j) => j.name === filesetName);
  assert.ok(row, `jobs --json should list the failed job (${filesetName}): ${JSON.stringify(jobs)}`);
  assert.equal(row.status, 'error');
  const next = cairnOk(r.repo, ['backup', r.small, '--json']).json;
  assert.equal(next.status, 'ok');
  assert.equal(next.files, 4, 'small/, a.txt, d/, d/b.txt');
  const v = cairnOk(r.repo, ['verify', 'latest', '--json']).json;
  assert.equal(v.status, 'ok');
  assert.equal(v.baseJobId, next.jobId);
}

test('unknown agent → CAIRN_E_AGENT_NOT_FOUND; the next job runs', async (t) => {
  const r = await freshRepo(t);
  const fs = writeFileset(r, 'unknown', 'nosuchagent');
  const res = cairn(r.repo, ['backup', '--fileset', fs, '--json']);
  const f = failure(res);
  assert.equal(f.code, 'CAIRN_E_AGENT_NOT_FOUND', res.describe);
  assert.match(f.message, /nosuchagent/);
  assertRepoStillWorks(r, f, 'unknown');
});

test('an agent path that does not exist → CAIRN_E_AGENT_NOT_FOUND', async (t) => {
  const r = await freshRepo(t);
  const fs = writeFileset(r, 'nofile', join(r.plugins, 'missing.mjs'));
  const res = cairn(r.repo, ['backup', '--fileset', fs, '--json']);
  const f = failure(res);
  assert.equal(f.code, 'CAIRN_E_AGENT_NOT_FOUND', res.describe);
  assertRepoStillWorks(r, f, 'nofile');
});

test('an agent outside the plugin dir is refused (CAIRN_E_AGENT_NOT_ALLOWED)', async (t) => {
  const r = await freshRepo(t);
  const outside = join(r.tmp, 'outside.mjs');
  writeFileSync(outside, agentSource('outside'));
  const fs = writeFileset(r, 'outside', outside);
  const res = cairn(r.repo, ['backup', '--fileset', fs, '--json']);
  const f = failure(res);
  assert.equal(f.code, 'CAIRN_E_AGENT_NOT_ALLOWED', res.describe);
  assertRepoStillWorks(r, f, 'outside');
});

test('incompatible API range → CAIRN_E_AGENT_API_MISMATCH naming both sides; the next job runs', async (t) => {
  const r = await freshRepo(t);
  const mod = join(r.plugins, 'future.mjs');
  writeFileSync(mod, agentSource('future', { api: '>=7 <8' }));
  const fs = writeFileset(r, 'future', mod);
  const res = cairn(r.repo, ['backup', '--fileset', fs, '--json']);
  const f = failure(res);
  assert.equal(f.code, 'CAIRN_E_AGENT_API_MISMATCH', res.describe);
  assert.match(f.message, /future/, 'names the agent');
  assert.match(f.message, />=7 <8/, "names the agent's range");
  assert.match(f.message, /\b1\.0\b/, "names the host's API version");
  assertRepoStillWorks(r, f, 'future');
});

// Agents from the repository's plugin folder run in a process of their own by default; each case runs
// both ways (CAIRN_AGENT_ISOLATION), in-process being the mode DESIGN.md tests with throws and hangs.
for (const mode of ['inprocess', 'process'] as const) {
  const isolation = { CAIRN_AGENT_ISOLATION: mode };

  test(`[${mode}] an agent that works backs up its file (control for the faulty ones)`, async (t) => {
    const r = await freshRepo(t);
    const mod = join(r.plugins, 'good.mjs');
    writeFileSync(mod, agentSource('good'));
    const fs = writeFileset(r, 'good', mod);
    const res = cairnOk(r.repo, ['backup', '--fileset', fs, '--json'], 0, { env: isolation }).json;
    assert.equal(res.status, 'ok');
    assert.equal(res.files, 1);
    assert.equal(res.bytes, 5);
    const ls = cairnOk(r.repo, ['ls', String(res.jobId), '--json']).json;
    assert.deepEqual(ls.files.map((x: { path: string }) => x.path), ['/good/one.txt']);
  });

  test(`[${mode}] an agent that throws in nextFile → CAIRN_E_AGENT_FAILED naming agent and hook; the next job runs`, async (t) => {
    const r = await freshRepo(t);
    const mod = join(r.plugins, 'thrower.mjs');
    writeFileSync(mod, agentSource('thrower', { nextFile: "throw new Error('disk on fire');" }));
    const fs = writeFileset(r, 'thrower', mod);
    const res = cairn(r.repo, ['backup', '--fileset', fs, '--json'], { env: isolation, timeoutMs: 60_000 });
    const f = failure(res);
    assert.equal(f.code, 'CAIRN_E_AGENT_FAILED', res.describe);
    assert.equal(res.status, 3);
    assert.match(f.message, /thrower/, 'names the agent');
    assert.match(f.message, /nextFile/, 'names the hook');
    assert.match(f.message, /disk on fire/, "carries the agent's own message");
    assertRepoStillWorks(r, f, 'thrower');
  });

  test(`[${mode}] an agent that throws in nextFile after its first file → CAIRN_E_AGENT_FAILED; the next job runs`, async (t) => {
    const r = await freshRepo(t);
    const mod = join(r.plugins, 'late-thrower.mjs');
    writeFileSync(mod, agentSource('late-thrower', { nextFile: "if (sent) throw new Error('second file unreadable');" }));
    const fs = writeFileset(r, 'late-thrower', mod);
    const res = cairn(r.repo, ['backup', '--fileset', fs, '--json'], { env: isolation, timeoutMs: 60_000 });
    const f = failure(res);
    assert.equal(f.code, 'CAIRN_E_AGENT_FAILED', res.describe);
    assert.match(f.message, /late-thrower/);
    assert.match(f.message, /nextFile/);
    assert.match(f.message, /second file unreadable/);
    assertRepoStillWorks(r, f, 'late-thrower');
  });

  test(`[${mode}] an agent that hangs in readData → CAIRN_E_AGENT_TIMEOUT (CAIRN_HOOK_TIMEOUT_MS); the next job runs`, async (t) => {
    const r = await freshRepo(t);
    const mod = join(r.plugins, 'sleeper.mjs');
    // A promise that never settles: nothing keeps the event loop busy but Cairn itself.
    writeFileSync(mod, agentSource('sleeper', { readData: 'await new Promise(() => {});' }));
    const fs = writeFileset(r, 'sleeper', mod);
    const res = cairn(r.repo, ['backup', '--fileset', fs, '--json'], { env: { ...isolation, CAIRN_HOOK_TIMEOUT_MS: '1500' }, timeoutMs: 60_000 });
    assert.equal(res.signal, null, `cairn did not end by itself: ${res.describe}`);
    const f = failure(res);
    assert.equal(f.code, 'CAIRN_E_AGENT_TIMEOUT', res.describe);
    assert.equal(res.status, 3);
    assert.match(f.message, /sleeper/, 'names the agent');
    assert.match(f.message, /readData/, 'names the hook');
    assertRepoStillWorks(r, f, 'sleeper');
  });

  test(`[${mode}] an agent that hangs in readData while something else keeps the loop alive → CAIRN_E_AGENT_TIMEOUT`, async (t) => {
    const r = await freshRepo(t);
    const mod = join(r.plugins, 'waiter.mjs');
    // A hang on pending I/O (a timer far in the future stands for a socket that never answers).
    writeFileSync(mod, agentSource('waiter', { readData: 'await new Promise((resolve) => setTimeout(resolve, 3_600_000));' }));
    const fs = writeFileset(r, 'waiter', mod);
    const res = cairn(r.repo, ['backup', '--fileset', fs, '--json'], { env: { ...isolation, CAIRN_HOOK_TIMEOUT_MS: '1500' }, timeoutMs: 15_000 });
    assert.equal(res.signal, null, `cairn did not end by itself: ${res.describe}`);
    const f = failure(res);
    assert.equal(f.code, 'CAIRN_E_AGENT_TIMEOUT', res.describe);
    assert.match(f.message, /waiter/);
    assert.match(f.message, /readData/);
    assertRepoStillWorks(r, f, 'waiter');
  });
}
