/**
 * Acceptance (issue 3): restarting the Director mid-job. The job's data
 * rate is held to 4 MiB/s (the job's maxBandwidth) so the Director can be
 * killed while data flows. The FD and the SD finish the transfer without
 * it: the FD keeps the job's outcome, the SD spools the job's catalog
 * records. The Director, started again, takes the job over (claims it from
 * the SD, collects the outcome from the FD) and completes it in the
 * catalog; the job restores byte-exact, and the next Incremental is based
 * on it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertTreesEqual, generateSmallFiles, tempDir } from '../support/index.js';
import { startDaemonSet, type DaemonSet } from './daemon-set.js';
import { randomBytes } from 'node:crypto';

const HEARTBEAT_S = 2;
const RATE = 4 * 1024 * 1024;

async function until<T>(what: string, probe: () => T | undefined | false, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function runningJob(d: DaemonSet): { jobId: number; progress: { bytes: number } } | undefined {
  return d.console(['status', '--json']).json?.running?.find((j: { state: string; jobId: number | null }) => j.state === 'running' && j.jobId);
}

test('restarting the Director mid-job: the transfer finishes, the restarted Director completes the job in the catalog, and it restores byte-exact', async (t) => {
  const tmp = tempDir(t, 'cairn-dir-restart-');
  const src = join(tmp, 'src');
  generateSmallFiles(join(src, 'small'), { count: 3000, dirs: 30, minSize: 100, maxSize: 4000, seed: 5 });
  writeFileSync(join(src, 'big.bin'), randomBytes(24 * 1024 * 1024)); // incompressible: ~6 s at the job's rate
  const beat = (doc: any, key: string) => (doc[key].heartbeatSeconds = HEARTBEAT_S);
  const d = await startDaemonSet(t, join(tmp, 'conf'), {
    source: src,
    edit: {
      dir: (x) => {
        beat(x, 'director');
        x.jobs[0].maxBandwidth = RATE;
      },
      fd: (x) => beat(x, 'fd'),
      sd: (x) => beat(x, 'sd'),
    },
  });

  const started = d.console(['run', 'demo', '--level', 'full', '--json']);
  assert.equal(started.status, 0, started.describe);
  const jobId: number = started.json.jobId;
  await until('the job to move data', () => (runningJob(d)?.progress.bytes ?? 0) > 2 * 1024 * 1024);
  await d.stop('dir', 'SIGKILL');
  // The FD and SD go on: the FD finishes the job and keeps its outcome for the Director.
  await until('the FD to finish the job without the Director', () => /its result is kept for `job result`|backup failed/.test(d.log('fd')), 90_000);
  assert.doesNotMatch(d.log('fd'), /backup failed/, d.log('fd').slice(-3000));
  assert.match(d.log('sd'), /notifications of the job are kept in the spool/);

  await d.start('dir');
  const done = d.console(['wait', String(jobId), '--json']);
  assert.equal(done.status, 0, done.describe);
  assert.equal(done.json.status, 'ok', done.describe);
  assert.equal(done.json.jobId, jobId);
  assert.ok(done.json.files > 3000, `files: ${done.json.files}`);
  const messages = d.console(['messages', String(jobId), '--json']).json as Array<{ code?: string; text: string }>;
  assert.ok(messages.some((m) => m.code === 'CAIRN_I_JOB_RESUMED'), JSON.stringify(messages));
  const jobs = d.console(['jobs', '--json']).json as Array<{ id: number; status: string; files: number }>;
  assert.equal(jobs.find((j) => j.id === jobId)?.status, 'ok');

  const out = join(tmp, 'out');
  const rest = d.console(['restore', String(jobId), '--job', 'demo', '--to', out, '--wait', '--json']);
  assert.equal(rest.status, 0, rest.describe);
  assertTreesEqual(src, join(out, src));

  // The completed job is a base like any other: the next Incremental sends only what changed.
  writeFileSync(join(src, 'small', 'new.txt'), 'after the restart');
  const inc = d.console(['run', 'demo', '--wait', '--json']);
  assert.equal(inc.status, 0, inc.describe);
  assert.equal(inc.json.level, 'incremental');
  assert.equal(inc.json.baseJobId, jobId);
  assert.ok(inc.json.files < 5, `the incremental sent ${inc.json.files} files`);
});
