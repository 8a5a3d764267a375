/**
 * Acceptance (issue 3): a daemon killed in the middle of a job. With a
 * heartbeat interval of 2 s: killing the FD fails the job promptly (the
 * Director marks it Error), the SD closes the session, the volume stays
 * readable and the next job succeeds; killing the SD likewise, and its next
 * mount repairs the volume's torn tail. Every later job restores byte-exact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { assertTreesEqual, generateSmallFiles, tempDir } from '../support/index.js';
import { CAIRN_BIN, PROJECT_ROOT, lastJson } from './cli-runner.js';
import { startDaemonSet, type DaemonSet } from './daemon-set.js';

const HEARTBEAT_S = 2;

function consoleLive(d: DaemonSet, args: string[]): Promise<{ status: number | null; json: any; out: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CAIRN_BIN, '--config', d.qs.files.console, ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, json: lastJson(out), out, ms: Date.now() - t0 }));
  });
}

/** Waits until the Director reports the job moving data. */
async function waitForProgress(d: DaemonSet): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const s = d.console(['status', '--json']).json;
    if (s?.running?.some((j: { state: string; progress: { files: number } }) => j.state === 'running' && j.progress.files > 0)) return;
    if (Date.now() > deadline) throw new Error(`the job never showed progress: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const heartbeat = (doc: any, key: string) => (doc[key].heartbeatSeconds = HEARTBEAT_S);

for (const victim of ['fd', 'sd'] as const) {
  test(`killing the ${victim.toUpperCase()} mid-job: the job fails promptly, the volume stays readable, the next job succeeds and restores`, async (t) => {
    const tmp = tempDir(t, `cairn-kill-${victim}-`);
    const src = join(tmp, 'src');
    generateSmallFiles(src, { count: 40_000, dirs: 200, minSize: 200, maxSize: 30_000, seed: 31 });
    const d = await startDaemonSet(t, join(tmp, 'conf'), { source: src, edit: { dir: (x) => heartbeat(x, 'director'), fd: (x) => heartbeat(x, 'fd'), sd: (x) => heartbeat(x, 'sd') } });

    const running = consoleLive(d, ['run', 'demo', '--level', 'full', '--wait', '--json']);
    await waitForProgress(d);
    const killedAt = Date.now();
    await d.stop(victim, 'SIGKILL');
    const failed = await running;
    const noticedMs = Date.now() - killedAt;
    assert.notEqual(failed.status, 0, failed.out);
    assert.equal(failed.json.status, 'error', failed.out);
    assert.ok(noticedMs < (2 * HEARTBEAT_S + 5) * 1000, `the Director noticed in ${noticedMs} ms`);
    const jobs = d.console(['jobs', '--json']).json;
    assert.equal(jobs.find((j: { id: number }) => j.id === failed.json.jobId)?.status, 'error');
    if (victim === 'fd') assert.match(d.log('sd'), /session (aborted|abort)/i, 'the SD closed the session');

    await d.start(victim);
    const next = d.console(['run', 'demo', '--wait', '--json']);
    assert.equal(next.status, 0, next.describe);
    assert.equal(next.json.status, 'ok');
    assert.equal(next.json.level, 'full', 'the failed job is no base: the next one is a Full');
    const out = join(tmp, 'out');
    const rest = d.console(['restore', 'latest', '--job', 'demo', '--to', out, '--wait', '--json']);
    assert.equal(rest.status, 0, rest.describe);
    assertTreesEqual(src, join(out, src));
  });
}
