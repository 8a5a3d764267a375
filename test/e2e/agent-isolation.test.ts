/**
 * Acceptance: agents in a child process of their own (process isolation,
 * the default for agents from the repository's plugin folder) fail only
 * their own job, whatever they do — throw, never settle, spin in a busy
 * loop, call process.exit, abort (a native crash), or get SIGKILLed from
 * outside — with a message naming agent, hook and file; the child is
 * reaped; and the same File Daemon (one repository opened once, as a daemon
 * keeps it) runs the next job fine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalRepository, initRepository, runBackupJob, runRestoreJob, resolveBackupJob } from '../../director/index.js';
import { filesetFromObject } from '../../core/index.js';
import { buildTree, file, tempDir } from '../support/index.js';

/** An agent module reporting one 5-byte virtual file; `readData` is prepended to readData's body. */
function agentSource(name: string, readData = ''): string {
  return `
export const manifest = { name: ${JSON.stringify(name)}, version: '1.0.0', api: '>=1 <2', formatMajor: 1 };
export function createAgent(ctx) {
  let sent = false;
  return {
    async prepareBackup() {},
    async nextFile() {
      if (sent) return null;
      sent = true;
      return { path: Buffer.from('/${name}/one.txt'), kind: 'file', stat: { mode: 0o100644, uid: 0, gid: 0, size: 5, mtimeNs: 1n, atimeNs: 1n, ctimeNs: 1n, dev: 1n, ino: 1n, nlink: 1, rdev: 0 }, streams: [{ index: 0, name: 'data', layout: 'sequential', size: 5 }] };
    },
    async *readData() {
      ${readData}
      ctx.jobMessage('info', 'reading in pid ' + process.pid);
      yield Buffer.from('hello');
    },
    async endBackup() { return { state: { pid: process.pid } }; },
    async jobEnded() {},
    async prepareRestore() {}, async createFile() { return 'skip'; }, async writeData() {}, async endFile() {}, async endRestore() {},
  };
}
`;
}

/** Child processes of this test process still around (running or unreaped zombies). */
function children(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

interface Fault {
  name: string;
  readData: string;
  code: 'CAIRN_E_AGENT_FAILED' | 'CAIRN_E_AGENT_TIMEOUT';
  message: RegExp;
  timeoutMs?: number;
  /** Done from outside while the agent waits (SIGKILL of the child). */
  during?: (pidFile: string) => Promise<void>;
}

async function waitForFile(path: string): Promise<string> {
  for (let i = 0; i < 600 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 50));
  return readFileSync(path, 'utf8');
}

test('process isolation: each faulty agent fails only its own job, its process is reaped, and the FD runs the next job', async (t) => {
  const dir = tempDir(t, 'cairn-e2e-isolation-');
  const path = join(dir, 'R');
  initRepository(path);
  mkdirSync(join(path, 'plugins'));
  const small = join(dir, 'small');
  await buildTree(small, { 'a.txt': file(1, 100), d: { 'b.txt': file(2, 3000) } });
  const repo = await LocalRepository.open(path);
  t.after(() => repo.close());
  const before = children();
  const pidFile = join(dir, 'victim.pid');
  const faults: Fault[] = [
    { name: 'thrower', readData: "throw new Error('disk on fire');", code: 'CAIRN_E_AGENT_FAILED', message: /agent thrower failed in readData for \/thrower\/one\.txt: disk on fire/ },
    { name: 'never', readData: 'await new Promise(() => {});', code: 'CAIRN_E_AGENT_TIMEOUT', timeoutMs: 1500, message: /agent never did not finish readData for \/never\/one\.txt within 1500 ms/ },
    { name: 'spinner', readData: 'for (;;) {}', code: 'CAIRN_E_AGENT_TIMEOUT', timeoutMs: 1500, message: /agent spinner did not finish readData for \/spinner\/one\.txt within 1500 ms/ },
    { name: 'quitter', readData: 'process.exit(7);', code: 'CAIRN_E_AGENT_FAILED', message: /agent quitter failed in readData for \/quitter\/one\.txt: its process exited with code 7/ },
    { name: 'crasher', readData: 'process.abort();', code: 'CAIRN_E_AGENT_FAILED', message: /agent crasher failed in readData for \/crasher\/one\.txt: its process was killed by SIGABRT \(it aborted\)/ },
    {
      name: 'victim',
      readData: `require_fs().writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); await new Promise(() => {});`,
      code: 'CAIRN_E_AGENT_FAILED',
      message: /agent victim failed in readData for \/victim\/one\.txt: its process was killed by SIGKILL/,
      during: async (f) => {
        const pid = Number(await waitForFile(f));
        process.kill(pid, 'SIGKILL');
      },
    },
  ];
  let smallJob = 0;
  for (const f of faults) {
    await t.test(f.name, async () => {
      const mod = join(path, 'plugins', `${f.name}.mjs`);
      writeFileSync(mod, `import { createRequire } from 'node:module'; const require_fs = () => createRequire(import.meta.url)('node:fs');\n${agentSource(f.name, f.readData)}`);
      if (f.timeoutMs) process.env.CAIRN_HOOK_TIMEOUT_MS = String(f.timeoutMs);
      try {
        const fileset = filesetFromObject({ name: f.name, agents: [{ agent: mod }] }, 'test');
        const running = runBackupJob(repo, { fileset, jobName: f.name, level: 'full' });
        if (f.during) await f.during(pidFile);
        const r = await running;
        assert.equal(r.status, 'error', JSON.stringify(r));
        assert.equal(r.error?.code, f.code, r.error?.message);
        assert.match(r.error!.message, f.message);
        const row = (await repo.catalog.listJobs({ limit: 1 }))[0];
        assert.equal(row.status, 'error');
      } finally {
        delete process.env.CAIRN_HOOK_TIMEOUT_MS;
      }
      assert.deepEqual(children().filter((p) => !before.includes(p)), [], 'the agent’s process was killed and reaped');
      // The same FD goes on: an ordinary backup and restore, and an isolated agent that behaves.
      const ok = await runBackupJob(repo, { fileset: filesetFromObject({ name: 'small', include: [small] }, 'test'), jobName: 'small', level: 'full' });
      assert.equal(ok.status, 'ok');
      assert.equal(ok.files, 4);
      smallJob = ok.jobId;
      const good = join(path, 'plugins', 'good.mjs');
      writeFileSync(good, agentSource('good'));
      const g = await runBackupJob(repo, { fileset: filesetFromObject({ name: 'good', agents: [{ agent: good }] }, 'test'), jobName: 'good', level: 'full' });
      assert.equal(g.status, 'ok', JSON.stringify(g.error));
      assert.equal(g.bytes, 5);
      // It ran in a process of its own: its job message (relayed into the job log) names another pid.
      const pids = (await repo.catalog.jobLog(g.jobId)).map((e) => /reading in pid (\d+)/.exec(e.text)?.[1]).filter(Boolean).map(Number);
      assert.equal(pids.length, 1);
      assert.notEqual(pids[0], process.pid);
    });
  }
  const job = await resolveBackupJob(repo.catalog, String(smallJob));
  const restored = await runRestoreJob(repo, { job, to: join(dir, 'out'), paths: [], replace: 'always' });
  assert.equal(restored.status, 'ok', JSON.stringify(restored.problems));
  assert.equal(readFileSync(join(dir, 'out', small, 'd', 'b.txt')).length, 3000);
  assert.deepEqual(children().filter((p) => !before.includes(p)), []);
});
