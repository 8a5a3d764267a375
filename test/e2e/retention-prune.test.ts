/**
 * Acceptance (issue 7): `prune --dry-run` lists exactly what a real prune
 * then removes (through the console, as a user runs it); a protected job is
 * never removed; recycling returns space on disk; a volume a read session
 * uses is not recycled until the session ends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { filesetFromObject } from '../../core/index.js';
import { LocalRepository, initRepository, runBackupJob } from '../../director/index.js';
import { contentBytes, tempDir } from '../support/index.js';
import { cairnOk } from './cli-runner.js';

const DAY = 86_400_000;

async function makeJobs(repoPath: string, src: string, days: number, start: Date, fullEvery: number): Promise<number[]> {
  let clock = start;
  const repo = await LocalRepository.open(repoPath, { clock: () => clock });
  const fileset = filesetFromObject({ name: 'data', include: [src] }, 'test');
  const ids: number[] = [];
  try {
    for (let d = 0; d < days; d++) {
      clock = new Date(start.getTime() + d * DAY);
      writeFileSync(join(src, 'day.bin'), contentBytes(d, 0, 20_000));
      const now = clock;
      const r = await runBackupJob(repo, { fileset, jobName: 'data', level: d % fullEvery === 0 ? 'full' : 'incremental', now: () => now });
      assert.equal(r.status, 'ok');
      ids.push(r.jobId);
    }
  } finally {
    await repo.close();
  }
  return ids;
}

const allocated = (file: string) => statSync(file).blocks * 512;

test('prune: --dry-run lists the same jobs and volumes a real prune then removes; protected jobs stay; space comes back', async (t) => {
  const tmp = tempDir(t, 'cairn-prune-');
  const repo = join(tmp, 'repo');
  const src = join(tmp, 'src');
  mkdirSync(src);
  initRepository(repo, { blockSize: 4096, pools: { Default: { maxVolumeJobs: 2, jobRetention: '5d', keep: { weekly: 1 }, autoPrune: false } } });
  const ids = await makeJobs(repo, src, 16, new Date(Date.now() - 30 * DAY), 4);

  cairnOk(repo, ['protect', String(ids[1])]);
  const dry = cairnOk(repo, ['prune', '--dry-run', '--json']).json;
  assert.equal(dry.dryRun, true);
  const wouldRemove: number[] = dry.remove;
  const wouldPurge: string[] = dry.volumes.filter((v: { action: string }) => v.action === 'purge').map((v: { name: string }) => v.name);
  assert.ok(wouldRemove.length >= 8, `most of the month goes (${wouldRemove.length})`);
  assert.ok(!wouldRemove.includes(ids[1]), 'the protected job stays');
  assert.ok(!wouldRemove.includes(ids[0]), 'its Full stays with it');
  assert.ok(wouldPurge.length > 0);
  for (const j of dry.jobs) assert.ok(j.reasons.length > 0, `job ${j.id} has a reason`);
  // Nothing changed yet.
  assert.equal(cairnOk(repo, ['jobs', '--json']).json.length, 16);

  const sizes = new Map(wouldPurge.map((v) => [v, allocated(join(repo, 'volumes', v))]));
  const real = cairnOk(repo, ['prune', '--json']).json;
  assert.equal(real.dryRun, false);
  assert.deepEqual(real.remove, wouldRemove);
  assert.deepEqual(real.purged, wouldPurge);
  const left = (cairnOk(repo, ['jobs', '--json']).json as Array<{ id: number }>).map((j) => j.id).sort((a, b) => a - b);
  assert.deepEqual(left, ids.filter((id) => !wouldRemove.includes(id)));
  assert.deepEqual(real.truncated.map((x: { volume: string }) => x.volume), wouldPurge);
  for (const v of wouldPurge) {
    assert.ok(allocated(join(repo, 'volumes', v)) < sizes.get(v)!, `volume ${v} gave its space back`);
    assert.equal(statSync(join(repo, 'volumes', v)).size, 4096, 'cut to its new label');
  }
  const vols = cairnOk(repo, ['volumes', '--json']).json as Array<{ name: string; status: string }>;
  for (const v of wouldPurge) assert.equal(vols.find((x) => x.name === v)?.status, 'recycle');
  // A second dry run has nothing more to remove.
  assert.deepEqual(cairnOk(repo, ['prune', '--dry-run', '--json']).json.remove, []);
  // The next backup reuses a recycled volume instead of labelling a new one.
  const before = vols.length;
  writeFileSync(join(src, 'new.bin'), contentBytes(99, 0, 5000));
  const b = cairnOk(repo, ['backup', src, '--name', 'data', '--json']).json;
  assert.equal(b.status, 'ok');
  assert.ok(wouldPurge.includes(b.volumes[0]), `job wrote to recycled volume ${b.volumes[0]}`);
  assert.equal((cairnOk(repo, ['volumes', '--json']).json as unknown[]).length, before);
});

test('recycling: a volume a read session uses is not truncated until the session ends', async (t) => {
  const tmp = tempDir(t, 'cairn-recycle-read-');
  const repoPath = join(tmp, 'repo');
  const src = join(tmp, 'src');
  mkdirSync(src);
  initRepository(repoPath, { blockSize: 4096, pools: { Default: { maxVolumeJobs: 1, autoPrune: false } } });
  const ids = await makeJobs(repoPath, src, 3, new Date(Date.now() - 3 * DAY), 1);
  const repo = await LocalRepository.open(repoPath);
  try {
    const first = (await repo.catalog.jobMedia(ids[0]))[0].volume;
    const second = (await repo.catalog.jobMedia(ids[1]))[0].volume;
    const file = join(repoPath, 'volumes', first);
    const size = statSync(file).size;

    // A restore of job 1 is under way: its read session is open and has read a record.
    const media = await repo.catalog.jobMedia(ids[0]);
    const grant = await repo.director.openReadSession({ entries: media.map((m) => ({ volume: m.volume, sessionId: m.sessionId, startFile: m.startFile, startBlock: m.startBlock, endFile: m.endFile, endBlock: m.endBlock })) });
    const fd = repo.connectFd();
    await fd.readOpen(grant.ticket);
    const items = fd.readData();
    assert.equal((await items.next()).done, false);

    // Everything but the newest job goes; job 2's volume is recycled, job 1's must wait.
    const r1 = await repo.prune({ keep: { last: 1 } });
    assert.deepEqual(r1.remove, [ids[0], ids[1]]);
    assert.deepEqual(r1.purged.sort(), [first, second].sort());
    assert.deepEqual(r1.truncated.map((x) => x.volume), [second]);
    assert.deepEqual(r1.deferred.map((x) => [x.volume, x.code]), [[first, 'CAIRN_E_VOLUME_BUSY']]);
    assert.equal(statSync(file).size, size, 'not truncated while read');
    assert.equal((await repo.catalog.getVolume(first))?.status, 'purged');
    // A purged volume is never offered for appending meanwhile.
    assert.notEqual((await repo.catalog.findAppendableVolume('Default', 'File'))?.name, first);

    // The reader still gets every record of its session.
    let records = 1;
    for await (const it of items) if (it.kind === 'record') records++;
    assert.ok(records > 2);
    await fd.readClose();
    await fd.close();

    const r2 = await repo.prune({});
    assert.deepEqual(r2.truncated.map((x) => x.volume), [first]);
    assert.equal(statSync(file).size, 4096);
    assert.equal((await repo.catalog.getVolume(first))?.status, 'recycle');
  } finally {
    await repo.close();
  }
});
