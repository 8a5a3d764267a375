/**
 * Acceptance (issue 7) through the three daemons: the Director's config
 * pool (label template, one job per volume, keep the last job) is applied
 * by the catalog the SD asks; autoprune after each job removes the older
 * job, purges its volume and has the SD truncate it; the next job reuses
 * the recycled volume; `volumes`, `pools`, `jobs` and `prune --dry-run`
 * answer through the console; the kept job restores byte-exact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertTreesEqual, buildTree, file, tempDir } from '../support/index.js';
import { startDaemonSet } from './daemon-set.js';

test('three daemons: config pools, autoprune, recycling through the SD, reporting on the console', async (t) => {
  const tmp = tempDir(t, 'cairn-daemons-retention-');
  const src = join(tmp, 'src');
  await buildTree(src, { 'a.bin': file(1, 200_000), etc: { 'b.conf': file(2, 3000) } });
  const d = await startDaemonSet(t, join(tmp, 'conf'), {
    source: src,
    edit: {
      dir: (doc) => {
        doc.pools = [{ name: 'Default', labelFormat: 'Q-${Counter:3}', maxVolumeJobs: 1, keep: { last: 1 } }];
        doc.jobs[0].level = 'full';
      },
      sd: (doc) => (doc.devices[0].blockSize = 4096),
    },
  });
  const run = () => {
    const r = d.console(['run', 'demo', '--wait', '--json']);
    assert.equal(r.status, 0, r.describe);
    assert.equal(r.json.status, 'ok', r.describe);
    return r.json as { jobId: number; volumes: string[] };
  };
  const j1 = run();
  assert.deepEqual(j1.volumes, ['Q-001']);
  writeFileSync(join(src, 'etc', 'b.conf'), 'second');
  const j2 = run();
  assert.deepEqual(j2.volumes, ['Q-002'], 'one job per volume: the second job labels the next');
  writeFileSync(join(src, 'etc', 'b.conf'), 'third');
  const j3 = run();
  assert.deepEqual(j3.volumes, ['Q-001'], 'the third job reuses the volume recycled after the second');

  const jobs = d.console(['jobs', '--json']);
  assert.deepEqual(jobs.json.filter((j: { type: string }) => j.type === 'backup').map((j: { id: number }) => j.id), [j3.jobId]);
  assert.deepEqual(jobs.json[0].retention.reasons, ['last snapshot']);
  const vols = d.console(['volumes', '--json']);
  assert.equal(vols.status, 0, vols.describe);
  const byName = Object.fromEntries((vols.json as Array<{ name: string; status: string; recycleCount: number; heldBy: number[] }>).map((v) => [v.name, v]));
  assert.equal(byName['Q-001'].status, 'append');
  assert.equal(byName['Q-001'].recycleCount, 1);
  assert.deepEqual(byName['Q-001'].heldBy, [j3.jobId]);
  assert.equal(byName['Q-002'].status, 'recycle');
  assert.equal(statSync(join(d.dir, 'volumes', 'Q-002')).size, 4096, 'the SD cut the purged volume to its label');
  const pools = d.console(['pools', '--json']);
  assert.equal(pools.json[0].name, 'Default');
  assert.equal(pools.json[0].settings.labelFormat, 'Q-${Counter:3}');
  const dry = d.console(['prune', '--dry-run', '--json']);
  assert.equal(dry.status, 0, dry.describe);
  assert.deepEqual(dry.json.remove, []);

  const out = join(tmp, 'out');
  const rest = d.console(['restore', 'latest', '--job', 'demo', '--to', out, '--wait', '--json']);
  assert.equal(rest.json.status, 'ok', rest.describe);
  assertTreesEqual(src, join(out, src));

  // protect through the Director: the protected job outlives "keep the last one"; --off lets the next prune take it.
  const prot = d.console(['protect', String(j3.jobId), '--json']);
  assert.equal(prot.status, 0, prot.describe);
  assert.deepEqual(prot.json, { jobId: j3.jobId, protected: true });
  writeFileSync(join(src, 'etc', 'b.conf'), 'fourth');
  const j4 = run();
  const backups = () => d.console(['jobs', '--json']).json.filter((j: { type: string }) => j.type === 'backup').map((j: { id: number }) => j.id).sort((a: number, b: number) => a - b);
  assert.deepEqual(backups(), [j3.jobId, j4.jobId], 'the protected job is kept');
  const unknown = d.console(['protect', 'NoSuchVolume', '--json']);
  assert.notEqual(unknown.status, 0, unknown.describe);
  assert.match(unknown.json.error.message, /no volume NoSuchVolume/);
  assert.equal(d.console(['protect', String(j3.jobId), '--off', '--json']).json.protected, false);
  const pruned = d.console(['prune', '--json']);
  assert.equal(pruned.status, 0, pruned.describe);
  assert.deepEqual(pruned.json.remove, [j3.jobId]);
  assert.deepEqual(backups(), [j4.jobId]);
  for (const k of ['dir', 'fd', 'sd'] as const) assert.equal(await d.stop(k), 0, d.log(k).slice(-2000));
});
