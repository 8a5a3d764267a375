/**
 * Acceptance: the pipe agent through local-mode job control (one repository,
 * one File Daemon for all the jobs of a test).
 *
 * - A reader writing 1 GiB is backed up and restored into a writer that
 *   checks the SHA-256 of what it is fed; the process's peak RSS stays far
 *   below 1 GiB (the data streams, nothing buffers it whole).
 * - A reader that writes to stderr and exits 3 fails the job with
 *   CAIRN_E_PIPE_EXIT (program and status named) and its stderr lines in
 *   the job log.
 * - A program not in the repository's commands.allow is refused with
 *   CAIRN_E_COMMAND_NOT_ALLOWED, whatever the fileset says.
 * The 1 GiB is zeros from head(1): cheap to make and to compress, so the
 * case costs seconds; the conformance kit covers non-trivial bytes.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalRepository, initRepository, runBackupJob, runRestoreJob, resolveBackupJob } from '../../director/index.js';
import { filesetFromObject } from '../../core/index.js';
import { requireTool, tempDir } from '../support/index.js';

const GiB = 1024 ** 3;
/** sha256 of 1 GiB of zero bytes (`head -c 1073741824 /dev/zero | sha256sum`). */
const ZEROS_1GIB_SHA256 = '49bc20df15e412a64472421e13fe86ff1c5165e18b2afccf160d4dc19fe68a14';
const HEAD = '/usr/bin/head';
const NODE = process.execPath;

/** A writer: hashes stdin, writes "<sha256> <bytes>" to `out`, exits 1 if the digest is not `want`. */
function checkingWriter(out: string, want: string): string[] {
  const js = `const h=require('crypto').createHash('sha256');let n=0;process.stdin.on('data',(c)=>{h.update(c);n+=c.length;});
process.stdin.on('end',()=>{const d=h.digest('hex');require('fs').writeFileSync(${JSON.stringify(out)},d+' '+n);if(d!==${JSON.stringify(want)}){console.error('digest mismatch: '+d);process.exit(1);}});`;
  return [NODE, '-e', js];
}

async function repoWith(t: TestContext, allow: string[]): Promise<{ dir: string; repo: LocalRepository }> {
  const dir = tempDir(t, 'cairn-e2e-pipe-');
  const path = join(dir, 'R');
  initRepository(path, { commands: { allow } });
  const repo = await LocalRepository.open(path);
  t.after(() => repo.close());
  return { dir, repo };
}

function pipeFileset(files: unknown[]) {
  return filesetFromObject({ name: 'pipe', agents: [{ agent: 'pipe', options: { files } }] }, 'test');
}

test('pipe: 1 GiB from a reader, restored into a writer that checks its digest; memory stays bounded', async (t) => {
  if (!requireTool('head', t)) return;
  const { dir, repo } = await repoWith(t, [HEAD, NODE]);
  const out = join(dir, 'writer-saw.txt');
  const fileset = pipeFileset([{ path: '/pipe/zeros.bin', reader: [HEAD, '-c', String(GiB), '/dev/zero'], writer: checkingWriter(out, ZEROS_1GIB_SHA256) }]);
  const backup = await runBackupJob(repo, { fileset, jobName: 'pipe-1g', level: 'full' });
  assert.equal(backup.status, 'ok', JSON.stringify(backup.error));
  assert.equal(backup.files, 1);
  assert.equal(backup.bytes, GiB);
  const job = await resolveBackupJob(repo.catalog, String(backup.jobId));
  const restore = await runRestoreJob(repo, { job, to: join(dir, 'restore'), paths: [], replace: 'always' });
  assert.equal(restore.status, 'ok', JSON.stringify(restore.problems ?? restore.error));
  assert.equal(readFileSync(out, 'utf8'), `${ZEROS_1GIB_SHA256} ${GiB}`, 'the writer got exactly the reader’s bytes');
  // Peak RSS of this whole process (test runner, catalog, pools, both jobs): a buffered GiB would exceed it.
  const peakMiB = process.resourceUsage().maxRSS / 1024;
  assert.ok(peakMiB < 640, `peak RSS ${peakMiB.toFixed(0)} MiB: the pipe data must stream`);
});

test('pipe: a reader that exits 3 fails the job, its stderr lines in the job log; the next job runs', async (t) => {
  const { repo } = await repoWith(t, [NODE]);
  const failing = [NODE, '-e', "process.stdout.write('partial');console.error('pg_dump: error: connection refused');console.error('second line');process.exit(3)"];
  const r = await runBackupJob(repo, { fileset: pipeFileset([{ path: '/pipe/db.dump', reader: failing }]), jobName: 'pipe-exit', level: 'full' });
  assert.equal(r.status, 'error');
  assert.equal(r.error?.code, 'CAIRN_E_AGENT_FAILED');
  assert.match(r.error!.message, /agent pipe failed in readData for \/pipe\/db\.dump/);
  assert.match(r.error!.message, /exited with status 3/);
  assert.match(r.error!.message, new RegExp(NODE.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')), 'names the program');
  const log = await repo.catalog.jobLog(r.jobId);
  const texts = log.map((e) => e.text);
  assert.ok(texts.some((x) => /node \(\/pipe\/db\.dump\): pg_dump: error: connection refused$/.test(x)), `stderr line 1 in the job log: ${JSON.stringify(texts)}`);
  assert.ok(texts.some((x) => /: second line$/.test(x)), 'stderr line 2 in the job log');
  assert.ok(log.some((e) => e.level === 'error' && e.code === 'CAIRN_E_AGENT_FAILED'));
  const ok = await runBackupJob(repo, { fileset: pipeFileset([{ path: '/pipe/ok', reader: [NODE, '-e', "process.stdout.write('fine')"] }]), jobName: 'pipe-ok', level: 'full' });
  assert.equal(ok.status, 'ok');
  assert.equal(ok.bytes, 4);
});

test('pipe: a program not in commands.allow is refused (CAIRN_E_COMMAND_NOT_ALLOWED), whatever the fileset says', async (t) => {
  const { dir, repo } = await repoWith(t, [NODE]);
  const marker = join(dir, 'ran');
  const r = await runBackupJob(repo, { fileset: pipeFileset([{ path: '/pipe/x', reader: ['/usr/bin/touch', marker] }]), jobName: 'pipe-refused', level: 'full' });
  assert.equal(r.status, 'error');
  assert.equal(r.error?.code, 'CAIRN_E_AGENT_FAILED');
  assert.match(r.error!.message, /does not run \/usr\/bin\/touch: it is not in its commands\.allow/);
  assert.equal(existsSync(marker), false, 'the program did not run');
  const log = await repo.catalog.jobLog(r.jobId);
  assert.ok(log.some((e) => e.code === 'CAIRN_E_AGENT_FAILED' && /commands\.allow/.test(e.text)));
});

test('pipe: a writer that exits non-zero fails that file of the restore; toFiles restores the bytes as a file', async (t) => {
  const { dir, repo } = await repoWith(t, [NODE]);
  const data = 'line one\nline two\n';
  const b = await runBackupJob(repo, { fileset: pipeFileset([{ path: '/pipe/t.txt', reader: [NODE, '-e', `process.stdout.write(${JSON.stringify(data)})`], writer: [NODE, '-e', "process.stdin.resume();process.stdin.on('end',()=>{console.error('disk full');process.exit(4)})"] }]), jobName: 'pipe-w', level: 'full' });
  assert.equal(b.status, 'ok');
  const job = await resolveBackupJob(repo.catalog, String(b.jobId));
  const bad = await runRestoreJob(repo, { job, to: join(dir, 'r1'), paths: [], replace: 'always' });
  assert.equal(bad.status, 'error');
  assert.equal(bad.problems.length, 1);
  assert.match(bad.problems[0].text, /writer .* for \/pipe\/t\.txt exited with status 4.*disk full/);
  const log = await repo.catalog.jobLog(bad.jobId);
  assert.ok(log.some((e) => /: disk full$/.test(e.text)), "the writer's stderr is in the restore's job log");
  const good = await runRestoreJob(repo, { job, to: join(dir, 'r2'), paths: [], replace: 'always', agentOptions: { pipe: { toFiles: true } } });
  assert.equal(good.status, 'ok');
  assert.equal(readFileSync(join(dir, 'r2', 'pipe', 't.txt'), 'utf8'), data);
});

// Keeps the test file's fixtures honest: the writer script itself, run by hand, accepts zeros.
test('pipe fixture: the checking writer rejects wrong bytes', async (t) => {
  const { execFileSync } = await import('node:child_process');
  const dir = tempDir(t, 'cairn-e2e-pipe-fx-');
  const out = join(dir, 'o');
  const [prog, ...args] = checkingWriter(out, ZEROS_1GIB_SHA256);
  assert.throws(() => execFileSync(prog, args, { input: 'not zeros', stdio: ['pipe', 'ignore', 'ignore'] }));
  assert.match(readFileSync(out, 'utf8'), / 9$/);
  writeFileSync(out, '');
});
