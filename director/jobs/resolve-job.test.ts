import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Level } from '../../plugin-api/index.js';
import type { Catalog } from '../catalog/index.js';
import { ENGINES } from '../catalog/test-engines.js';
import { resolveRestorePoint } from './resolve-job.js';

async function backup(cat: Catalog, name: string, level: Level, status: 'ok' | 'error', t: number, log: boolean): Promise<number> {
  const id = await cat.createJob({ name, type: 'backup', level, client: 'db1', startedAt: new Date(t) });
  await cat.finishJob(id, { status, endedAt: new Date(t + 500), files: 1, bytes: 10, errors: 0, report: log ? { restoreKind: 'log' } : {} });
  return id;
}

for (const engine of ENGINES) {
  test(`${engine.name}: restore points — log-type jobs as at T read through the first backup that ended after T; files jobs the last one before`, async (t) => {
    const cat = await engine.open(t);
    if (!cat) return;
    try {
      const full = await backup(cat, 'pg', 'full', 'ok', 1000, true); // ends 1500
      const inc1 = await backup(cat, 'pg', 'incremental', 'ok', 2000, true); // ends 2500
      await backup(cat, 'pg', 'incremental', 'error', 3000, true); // never counts
      const inc2 = await backup(cat, 'pg', 'incremental', 'ok', 4000, true); // ends 4500
      const at = (ms: number) => resolveRestorePoint(cat, 'latest', { asAt: new Date(ms), name: 'pg', client: 'db1' });

      let p = await at(3000);
      assert.equal(p.job.id, inc2, 'T between inc1 and inc2: the WAL covering T was shipped by inc2 (the failed job in between skipped)');
      assert.equal(p.recoveryTarget?.getTime(), 3000);
      p = await at(2500);
      assert.equal(p.job.id, inc2, 'a backup that ended exactly at T does not hold what was committed after its switch');
      p = await at(1200);
      assert.equal(p.job.id, full, 'T inside the Full: the Full (the agent judges whether its base reaches back that far)');
      p = await at(9000);
      assert.equal(p.job.id, inc2, 'no backup ended after T: the latest, still with T as target');
      assert.equal(p.recoveryTarget?.getTime(), 9000);
      p = await resolveRestorePoint(cat, 'latest', { name: 'pg', client: 'db1' });
      assert.equal(p.job.id, inc2);
      assert.equal(p.recoveryTarget, undefined, 'no time, no target: the latest point');
      p = await resolveRestorePoint(cat, inc1, { client: 'db1' });
      assert.equal(p.job.id, inc1);

      // A files job keeps the rule it always had: the last backup that ended at or before T, no target.
      const fsFull = await backup(cat, 'home', 'full', 'ok', 1000, false);
      await backup(cat, 'home', 'incremental', 'ok', 4000, false);
      p = await resolveRestorePoint(cat, 'latest', { asAt: new Date(3000), name: 'home', client: 'db1' });
      assert.equal(p.job.id, fsFull);
      assert.equal(p.recoveryTarget, undefined);
    } finally {
      await cat.close();
    }
  });
}
