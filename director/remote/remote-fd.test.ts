/**
 * The Director↔FD conversation (protocol.md §9) end to end in one process:
 * job control drives a RemoteFd, whose connection an FdService serves; the
 * FD opens its own data connections to the SD. Full, Incremental (base files
 * travel in pages), restore byte-exact, verify, and cancel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { FdService, filesetFromObject } from '../../core/index.js';
import { duplexPair } from '../../sd/index.js';
import { assertTreesEqual, buildTree, everyKindSpec, generateSmallFiles, tempDir } from '../../test/support/index.js';
import { LocalRepository } from '../local/repository.js';
import { runBackupJob } from '../jobs/backup-job.js';
import { runRestoreJob, runVerifyJob } from '../jobs/restore-job.js';
import type { JobPlumbing } from '../jobs/job-plumbing.js';
import { RemoteFd } from './remote-fd.js';

async function setup(t: Parameters<typeof tempDir>[0]) {
  const tmp = tempDir(t, 'cairn-remote-fd-');
  const repo = await LocalRepository.open(join(tmp, 'R'), { create: true, logger: pino({ level: 'silent' }) });
  t.after(() => repo.close());
  const service = new FdService({
    fd: repo.fd,
    name: 'client1',
    logger: pino({ level: 'silent' }),
    connectSd: async () => {
      const [fdEnd, sdEnd] = duplexPair();
      repo.sd.handleConnection(sdEnd);
      return fdEnd;
    },
  });
  const remote = new RemoteFd({
    client: 'client1',
    sd: { address: '127.0.0.1', port: 1 },
    connect: async () => {
      const [dirEnd, fdEnd] = duplexPair();
      service.serve(fdEnd, 'dir1');
      return dirEnd;
    },
  });
  const plumbing: JobPlumbing = { catalog: repo.catalog, notifications: repo.notifications, director: repo.director, files: remote, clientName: 'client1', pool: repo.pool };
  return { tmp, repo, service, plumbing };
}

test('remote FD: Full and Incremental through the Director↔FD protocol, restores byte-exact, verify OK', async (t) => {
  const { tmp, plumbing } = await setup(t);
  const src = join(tmp, 'src');
  await buildTree(src, everyKindSpec());
  generateSmallFiles(join(src, 'small'), { count: 2500, dirs: 10, minSize: 10, maxSize: 3000, seed: 5 });
  const fileset = filesetFromObject({ name: 'fs1', include: [src] });

  const full = await runBackupJob(plumbing, { fileset, jobName: 'remote', level: 'full' });
  assert.equal(full.status, 'ok', JSON.stringify(full.error));
  assert.ok(full.files > 2500);

  writeFileSync(join(src, 'etc', 'a.conf'), 'changed');
  rmSync(join(src, 'small', '000', '0003'), { recursive: true, force: true });
  const inc = await runBackupJob(plumbing, { fileset, jobName: 'remote', level: 'incremental' });
  assert.equal(inc.status, 'ok', JSON.stringify(inc.error));
  assert.equal(inc.level, 'incremental');
  assert.equal(inc.baseJobId, full.jobId);
  // Only the changed file and its folder: the 2,500 unchanged files came back from the base pages.
  assert.ok(inc.files < 10, `incremental sent ${inc.files} files`);
  assert.ok((inc.deleted ?? 0) > 0, 'deletions recorded');

  const job = (await plumbing.catalog.getJob(inc.jobId))!;
  const out = join(tmp, 'out');
  const rest = await runRestoreJob(plumbing, { job, to: out, paths: [], replace: 'always' });
  assert.equal(rest.status, 'ok', JSON.stringify(rest.problems.slice(0, 3)));
  assertTreesEqual(src, join(out, src));

  const ver = await runVerifyJob(plumbing, (await plumbing.catalog.getJob(full.jobId))!);
  assert.equal(ver.status, 'ok', JSON.stringify(ver.problems.slice(0, 3)));
});

test('remote FD: cancelling the job stops it on the FD and marks it cancelled', async (t) => {
  const { tmp, plumbing, service } = await setup(t);
  const src = join(tmp, 'src');
  generateSmallFiles(src, { count: 20000, dirs: 40, minSize: 1000, maxSize: 20000, seed: 9 });
  const controller = new AbortController();
  const running = runBackupJob(plumbing, { fileset: filesetFromObject({ include: [src] }), jobName: 'c', level: 'full', signal: controller.signal });
  while (service.jobs().length === 0) await new Promise((r) => setTimeout(r, 10));
  controller.abort();
  const rep = await running;
  assert.equal(rep.status, 'cancelled');
  assert.equal(service.jobs().length, 0);
});
