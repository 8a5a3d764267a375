/**
 * cairn-bscan --config cairn-dir.yaml DEVICE: rebuilds the catalog a
 * Director's config names — here PostgreSQL — from a device folder. The jobs
 * keep their ids (and the identity sequence moves past them: the next job
 * created gets a new id), their trees list as the local catalog did, and a
 * second run adds nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { catalog as catalogPart } from '../../director/index.js';
import { writeQuickstart } from '../../config/index.js';
import { buildTree, file, generateSmallFiles, requireTool, tempDir, writeContentFile } from '../support/index.js';
import { startPostgres } from '../support/postgres.js';
import { PROJECT_ROOT, cairnOk, lastJson } from './cli-runner.js';
import { editYaml } from './daemon-set.js';

const { Catalog, PgDriver } = catalogPart;

test('cairn-bscan --config: a PostgreSQL Director catalog rebuilt from a device folder', async (t) => {
  const pg = await startPostgres(t);
  if (!pg) {
    requireTool('initdb', t);
    return;
  }
  t.after(() => pg.stop());
  const tmp = tempDir(t, 'cairn-bscan-pg-');
  const repo = join(tmp, 'R');
  const src = join(tmp, 'src');
  await buildTree(src, { 'a.bin': file(1, 1024 * 1024 + 3), etc: { 'b.conf': file(2, 300) } });
  generateSmallFiles(join(src, 'small'), { count: 80, dirs: 3, minSize: 10, maxSize: 5000, seed: 4 });
  const full = cairnOk(repo, ['backup', src, '--level', 'full', '--json']).json;
  writeContentFile(join(src, 'etc', 'b.conf'), 9, 301);
  const inc = cairnOk(repo, ['backup', src, '--level', 'incremental', '--json']).json;
  const lsBefore = cairnOk(repo, ['ls', String(inc.jobId), '--json']).json;

  const database = await pg.createDatabase();
  const qs = await writeQuickstart(join(tmp, 'conf'), { source: src });
  editYaml(qs.files.dir, (d) => (d.director.catalog = { engine: 'postgres', socketDir: pg.host, port: pg.port, user: pg.user, database }));
  const run = () => {
    const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'cairn-bscan.js'), '--config', qs.files.dir, join(repo, 'volumes'), '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    return lastJson(r.stdout) as { jobs: Array<{ jobId: number; added: boolean; status: string }> };
  };
  const scan = run();
  assert.deepEqual(scan.jobs.map((j) => [j.jobId, j.added, j.status]), [[full.jobId, true, 'ok'], [inc.jobId, true, 'ok']]);
  assert.ok(run().jobs.every((j) => !j.added));

  const catalog = await Catalog.openWith(await PgDriver.open({ host: pg.host, port: pg.port, user: pg.user, database }));
  try {
    const chain = (await catalog.restoreChain(inc.jobId)).map((j) => j.id);
    assert.deepEqual(chain, [full.jobId, inc.jobId]);
    const paths: string[] = [];
    for await (const r of catalog.treeAsAt(chain)) paths.push(Buffer.from(r.path).toString());
    assert.deepEqual(paths, lsBefore.files.map((f: { path: string }) => f.path));
    assert.equal((await catalog.jobMedia(inc.jobId)).length, 1);
    const next = await catalog.createJob({ name: 'after', type: 'restore', level: null, client: 'x', startedAt: new Date() });
    assert.ok(next > inc.jobId, `a new job id (${next}) comes after the rebuilt ones`);
  } finally {
    await catalog.close();
  }
});
