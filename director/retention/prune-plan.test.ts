import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CatalogJob, CatalogVolume, PoolSettings } from '../catalog/index.js';
import { planPrune } from './prune-plan.js';

const DAY = 86_400_000;
const T0 = new Date(2025, 0, 1, 12).getTime();

function job(id: number, day: number, level: CatalogJob['level'], extra: Partial<CatalogJob> = {}): CatalogJob {
  return {
    id, name: 'nightly', type: 'backup', level, client: 'laptop', fileset: 'home', filesetHash: 'h', pool: 'P', status: 'ok',
    startedAt: new Date(T0 + day * DAY), endedAt: new Date(T0 + day * DAY + 60_000), files: 1, bytes: 1, readBytes: 1, errors: 0, sessionId: id, report: null,
    protected: false, filesPruned: false, logChain: false, ...extra,
  };
}

function volume(name: string, status: CatalogVolume['status'], lastDay: number, extra: Partial<CatalogVolume> = {}): CatalogVolume {
  return { name, pool: 'P', mediaType: 'File', status, committedBytes: 1, committedBlocks: 1, jobs: 1, firstWritten: new Date(T0), lastWritten: new Date(T0 + lastDay * DAY), label: null, protected: false, recycleCount: 0, purgedAt: null, ...extra };
}

const plan = (jobs: CatalogJob[], pool: PoolSettings, opts: { day: number; volumes?: CatalogVolume[]; media?: Array<[number, string[]]>; clients?: Record<string, { jobRetention?: string; fileRetention?: string }> }) =>
  planPrune({ jobs, jobVolumes: new Map(opts.media ?? []), volumes: opts.volumes ?? [], pools: new Map([['P', pool]]), clients: opts.clients, now: new Date(T0 + opts.day * DAY) });

const actions = (p: ReturnType<typeof planPrune>) => Object.fromEntries(p.jobs.map((j) => [j.id, j.action]));

test('prune plan: expired jobs go, a kept Incremental keeps its Full and the Incrementals before it; a Differential cuts the chain', () => {
  const jobs = [job(1, 0, 'full'), job(2, 1, 'incremental'), job(3, 2, 'differential'), job(4, 3, 'incremental'), job(5, 4, 'incremental'), job(6, 5, 'full'), job(7, 6, 'incremental')];
  // Day 8 with 4d retention: only the jobs of days 5 and 6 are younger than 4 days; 7 needs 6, its Full.
  const p = plan(jobs, { jobRetention: '4d' }, { day: 8 });
  assert.deepEqual(actions(p), { 1: 'remove', 2: 'remove', 3: 'remove', 4: 'remove', 5: 'remove', 6: 'keep', 7: 'keep' });
  assert.ok(p.jobs.find((j) => j.id === 1)!.reasons[0].startsWith('job retention 4d ran out on'));
  // Day 7: job 4 (day 3) has run out, but job 5 (day 4) stays and needs 4, 3 and 1 — not 2, which the Differential replaced.
  const q = plan(jobs, { jobRetention: '4d' }, { day: 7 });
  assert.deepEqual(actions(q), { 1: 'keep', 2: 'remove', 3: 'keep', 4: 'keep', 5: 'keep', 6: 'keep', 7: 'keep' });
  assert.deepEqual(q.jobs.find((j) => j.id === 1)!.reasons, ['needed by job 5 (its Full)']);
  assert.deepEqual(q.jobs.find((j) => j.id === 3)!.reasons, ['needed by job 5 (its Differential)']);
  assert.deepEqual(q.jobs.find((j) => j.id === 4)!.reasons, ['needed by job 5 (its Incremental chain)']);
});

test('prune plan: a log agent\'s chain keeps every job back to the Full, Differentials do not cut it', () => {
  const jobs = [job(1, 0, 'full'), job(2, 1, 'incremental', { logChain: true }), job(3, 2, 'differential', { logChain: true }), job(4, 3, 'incremental', { logChain: true })];
  const p = plan(jobs, { keep: { last: 1 } }, { day: 10 });
  assert.deepEqual(actions(p), { 1: 'keep', 2: 'keep', 3: 'keep', 4: 'keep' });
  assert.deepEqual(p.jobs.find((j) => j.id === 2)!.reasons, ['needed by job 4 (its log chain)']);
});

test('prune plan: protected, running, other clients\' retention, failed jobs, no rule', () => {
  const jobs = [
    job(1, 0, 'full', { protected: true }), job(2, 1, 'full'), job(3, 2, 'full', { status: 'error' }), job(4, 3, 'full', { status: 'running' }),
    job(5, 0, 'full', { client: 'server' }), job(6, 1, 'full', { client: 'server' }),
  ];
  const p = plan(jobs, { jobRetention: '1d' }, { day: 20, clients: { server: { jobRetention: '1y' } } });
  assert.deepEqual(actions(p), { 1: 'keep', 2: 'remove', 3: 'remove', 4: 'keep', 5: 'keep', 6: 'keep' });
  assert.deepEqual(p.jobs.find((j) => j.id === 1)!.reasons, ['protected']);
  assert.deepEqual(p.jobs.find((j) => j.id === 4)!.reasons, ['running']);
  // Without any rule nothing goes.
  assert.deepEqual(plan(jobs, {}, { day: 1000 }).remove, []);
});

test('prune plan: file retention prunes file rows of kept jobs, except those a job that keeps its own still needs', () => {
  const jobs = [job(1, 0, 'full'), job(2, 1, 'incremental'), job(3, 20, 'full'), job(4, 40, 'incremental')];
  const p = plan(jobs, { keep: { last: -1 }, fileRetention: '10d' }, { day: 45 });
  // Job 4 keeps its files (5 days old), so its chain (3) keeps them too; 1 and 2 lose theirs.
  assert.deepEqual(actions(p), { 1: 'prune-files', 2: 'prune-files', 3: 'keep', 4: 'keep' });
  assert.deepEqual(p.pruneFiles, [1, 2]);
  const q = plan(jobs.map((j) => (j.id <= 2 ? { ...j, filesPruned: true } : j)), { keep: { last: -1 }, fileRetention: '10d' }, { day: 45 });
  assert.deepEqual(q.pruneFiles, []);
});

test('prune plan: volumes are purged only when Full/Used with no kept job, past volume retention, not protected, no backup running', () => {
  const jobs = [job(1, 0, 'full'), job(2, 1, 'full'), job(3, 10, 'full')];
  const media: Array<[number, string[]]> = [[1, ['V1']], [2, ['V2']], [3, ['V3']]];
  const volumes = [volume('V1', 'used', 0), volume('V2', 'full', 1, { protected: true }), volume('V3', 'append', 10), volume('V4', 'used', 9), volume('V5', 'purged', 0, { purgedAt: new Date(T0) })];
  const p = plan(jobs, { jobRetention: '5d', volumeRetention: '10d', recyclePool: 'Scratch' }, { day: 12, volumes, media });
  const v = Object.fromEntries(p.volumes.map((x) => [x.name, x.action]));
  assert.deepEqual(v, { V1: 'purge', V2: 'keep', V3: 'keep', V4: 'keep', V5: 'truncate' });
  assert.equal(p.volumes[0].moveTo, 'Scratch');
  assert.match(p.volumes.find((x) => x.name === 'V4')!.reasons.join('; '), /volume retention 10d until/);
  assert.match(p.volumes.find((x) => x.name === 'V3')!.reasons.join('; '), /holds kept job 3; still appendable/);
  const running = plan([...jobs, job(9, 12, 'full', { status: 'running' })], { jobRetention: '5d' }, { day: 12, volumes, media });
  assert.equal(running.volumes.find((x) => x.name === 'V1')!.action, 'keep');
  const noRecycle = plan(jobs, { jobRetention: '5d', recycle: false }, { day: 12, volumes, media });
  assert.equal(noRecycle.volumes.find((x) => x.name === 'V5')!.action, 'keep');
});
