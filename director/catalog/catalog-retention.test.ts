/**
 * The catalog's retention surface on both engines: schema v3 columns,
 * protecting, removing jobs with everything they own, pruning file rows,
 * pool limits applied when a volume is offered, purging, truncation and the
 * reuse of recycled volumes oldest first, label templates.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ENGINES } from './test-engines.js';
import type { Catalog } from './catalog.js';

async function addJob(cat: Catalog, level: 'full' | 'incremental', volume: string, at: number): Promise<number> {
  const id = await cat.createJob({ name: 'n', type: 'backup', level, client: 'c', pool: 'P', startedAt: new Date(at) });
  await cat.insertFiles(id, [{ fileIndex: 1, path: Buffer.from(`/f${id}`), agent: 'fs/1', kind: 'file', stat: { mode: 0o100644, uid: 0, gid: 0, size: 1, mtimeNs: 1n, atimeNs: 1n, ctimeNs: 1n, dev: 1n, ino: 1n, nlink: 1, rdev: 0 } }]);
  await cat.insertJobMedia(id, [{ volume, sessionId: id, firstIndex: 1, lastIndex: 1, startFile: 0, startBlock: 1, endFile: 0, endBlock: 3 }]);
  await cat.addJobLog(id, { level: 'info', text: 'x' });
  await cat.finishJob(id, { status: 'ok', endedAt: new Date(at + 1), files: 1, bytes: 1, errors: 0, agentStates: { 'fs:0': { n: 1 } }, logChain: level === 'incremental' });
  return id;
}

for (const engine of ENGINES) {
  test(`${engine.name}: retention in the catalog — protect, delete jobs, prune files, pool limits, purge, truncate, recycle oldest first`, async (t) => {
    const cat = await engine.open(t);
    if (!cat) return;
    try {
      let now = Date.UTC(2026, 0, 10);
      cat.clock = () => now;
      await cat.setPool('P', { labelFormat: 'P-${Year}-${Counter:2}', maxVolumeJobs: 2, volumeUseDuration: '3d' });
      assert.equal(await cat.nextVolumeName('P'), `P-${new Date(now).getFullYear()}-01`);
      for (const v of ['V1', 'V2', 'V3']) await cat.createVolume({ name: v, pool: 'P', mediaType: 'File' });
      const a = await addJob(cat, 'full', 'V1', now);
      const b = await addJob(cat, 'incremental', 'V1', now);
      const c = await addJob(cat, 'full', 'V2', now);
      const jobs = await cat.retention.allJobs();
      assert.deepEqual(jobs.map((j) => [j.id, j.protected, j.filesPruned, j.logChain]), [[a, false, false, false], [b, false, false, true], [c, false, false, false]]);
      assert.deepEqual([...(await cat.retention.jobVolumes())], [[a, ['V1']], [b, ['V1']], [c, ['V2']]]);

      await cat.retention.setJobProtected(c, true);
      assert.equal((await cat.getJob(c))?.protected, true);
      await assert.rejects(cat.retention.setJobProtected(999, true), { code: 'CAIRN_E_CATALOG_NO_JOB' });
      await cat.retention.pruneFiles([c]);
      assert.equal((await cat.getJob(c))?.filesPruned, true);
      assert.equal(await cat.countFiles(c), 0);

      await cat.retention.deleteJobs([a, b]);
      assert.equal(await cat.getJob(a), null);
      assert.equal(await cat.countFiles([a, b]), 0);
      assert.deepEqual(await cat.jobMedia(a), []);
      assert.deepEqual(await cat.jobLog(b), []);
      assert.equal(await cat.agentState(b, 'fs:0'), null);

      // Limits: V1 has had 2 jobs → Used when offered; V2 first written long ago → Used by the use duration.
      await cat.updateVolume('V1', { jobs: 2 });
      await cat.updateVolume('V2', { jobs: 1 });
      now += 4 * 86_400_000;
      await cat.updateVolume('V3', { jobs: 1 });
      assert.equal((await cat.findAppendableVolume('P', 'File'))?.name, 'V3');
      assert.equal((await cat.getVolume('V1'))?.status, 'used');
      assert.equal((await cat.getVolume('V2'))?.status, 'used');
      assert.equal((await cat.getVolumeForAppend('V3'))?.status, 'append');

      // Purge V2 then V1 (into pool R), truncate both: the one purged first comes back first.
      await cat.setPool('R', {});
      await cat.purgeVolume('V2');
      now += 1000;
      await cat.purgeVolume('V1', 'R');
      assert.equal((await cat.getVolume('V1'))?.pool, 'R');
      await cat.markVolumeTruncated('V1', 4096, { volumeName: 'V1', pool: 'R' });
      await cat.markVolumeTruncated('V2', 4096, null);
      await cat.updateVolume('V3', { status: 'full' });
      await cat.setVolumeProtected('V2', false);
      const first = await cat.findAppendableVolume('P', 'File');
      assert.equal(first?.name, 'V2');
      assert.deepEqual([first?.status, first?.committedBytes, first?.jobs, first?.recycleCount], ['append', 4096, 0, 1]);
      const inR = await cat.findAppendableVolume('R', 'File');
      assert.equal(inR?.name, 'V1');
      // A protected recycled volume is not reused.
      await cat.purgeVolume('V3');
      await cat.markVolumeTruncated('V3', 4096, null);
      await cat.setVolumeProtected('V3', true);
      await cat.updateVolume('V2', { status: 'full' });
      assert.equal(await cat.findAppendableVolume('P', 'File'), null);
      await assert.rejects(cat.setVolumeProtected('nope', true), { code: 'CAIRN_E_CATALOG_NO_VOLUME' });
      assert.deepEqual((await cat.listPools()).map((p) => p.name), ['P', 'R']);
    } finally {
      await cat.close();
    }
  });
}
