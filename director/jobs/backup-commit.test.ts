/**
 * The Director commits a backup OK only when the catalog's committed end of
 * every volume the session wrote covers the session (docs/volume-format.md
 * §7): a session the SD reports closed whose blocks lie past the committed
 * end would be trimmed at the next mount, so such a job is Error
 * (CAIRN_E_JOB_UNCOMMITTED), never OK.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BackupOutcome } from '../../core/index.js';
import type { SessionCloseReport } from '../../sd/index.js';
import { Catalog } from '../catalog/index.js';
import { commitBackup } from './backup-commit.js';
import type { FileAssembler } from './file-assembler.js';
import type { JobPlumbing } from './job-plumbing.js';

async function commitWith(committedBlocks: number, endBlock: number): Promise<{ catalog: Catalog; jobId: number; status: string; code?: string }> {
  const catalog = await Catalog.open(':memory:');
  await catalog.createVolume({ name: 'Default-0001', pool: 'Default', mediaType: 'File' });
  await catalog.updateVolume('Default-0001', { committedBytes: committedBlocks * 65536, committedBlocks });
  const jobId = await catalog.createJob({ name: 'demo', type: 'backup', level: 'full', client: 'c', pool: 'Default', startedAt: new Date() });
  const report: SessionCloseReport = {
    sessionId: 3,
    ranges: [{ volume: 'Default-0001', sessionId: 3, firstIndex: 1, lastIndex: 10, startFile: 0, startBlock: 1, endFile: 0, endBlock }],
    records: 20,
    bytes: 1000,
    blocks: endBlock,
    lastFileIndex: 10,
  };
  const ended: string[] = [];
  const repo = {
    catalog,
    notifications: new Map(),
    director: {} as JobPlumbing['director'],
    files: { jobEnded: async (_id: number, status: string) => void ended.push(status) } as unknown as JobPlumbing['files'],
    clientName: 'c',
    pool: 'Default',
  } as JobPlumbing;
  const outcome: BackupOutcome = { status: 'ok', counters: { files: 10, bytes: 1000, storedBytes: 1000, deleted: 0 }, messages: [], states: [] };
  const assembler = { finish: async () => undefined } as unknown as FileAssembler;
  const r = await commitBackup(
    repo,
    { jobId, jobName: 'demo', level: 'full', started: new Date(), now: () => new Date(), assembler, session: { closed: Promise.resolve(report), logChain: false }, scriptWarnings: [] },
    outcome,
  );
  assert.deepEqual(ended, [r.status], 'the agents hear the outcome the catalog has');
  return { catalog, jobId, status: r.status, code: r.error?.code };
}

test('a closed session inside the committed end: the job is OK and its job media are written', async () => {
  const { catalog, jobId, status } = await commitWith(8, 7);
  assert.equal(status, 'ok');
  assert.equal((await catalog.jobMedia(jobId)).length, 1);
  assert.equal((await catalog.getJob(jobId))?.status, 'ok');
  await catalog.close();
});

test('a closed session past the committed end: the job is Error (CAIRN_E_JOB_UNCOMMITTED), not OK, and no job media', async () => {
  const { catalog, jobId, status, code } = await commitWith(5, 7);
  assert.equal(status, 'error');
  assert.equal(code, 'CAIRN_E_JOB_UNCOMMITTED');
  assert.equal((await catalog.jobMedia(jobId)).length, 0);
  assert.equal((await catalog.getJob(jobId))?.status, 'error');
  await catalog.close();
});
