/**
 * Acceptance (issue 7, item 4, with a Director): a catalog job (type:
 * catalog) backs up the Director's catalog — a SQLite online copy, or
 * pg_dump of a PostgreSQL catalog — with its config and bootstrap files,
 * through the FD on the Director's host, to the SD like any job. Then the
 * Director's host is lost: its working directory is deleted and, for
 * PostgreSQL, the catalog database dropped and created empty as for a new
 * install. `cairn catalog-restore --from VOLUMES --dir-config cairn-dir.yaml`
 * (docs/cold-start.md, "With a Director") puts the catalog back from the
 * volumes; the restarted Director restores every job byte-exact and runs
 * new jobs beside the old data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertTreesEqual, buildTree, file, tempDir } from '../support/index.js';
import { postgresCatalog, type PostgresCatalogConfig } from '../support/postgres.js';
import { cairn } from './cli-runner.js';
import { startDaemonSet } from './daemon-set.js';

for (const engine of ['sqlite', 'postgres'] as const) {
  test(`three daemons (${engine} catalog): a catalog job, the Director's host lost, catalog-restore --dir-config, every job restores byte-exact`, async (t) => {
    const tmp = tempDir(t, 'cairn-dir-cold-');
    const src = join(tmp, 'src');
    await buildTree(src, { 'a.bin': file(1, 400_000), etc: { 'b.conf': file(2, 3000), 'c.conf': file(3, 90) } });
    let catalog: PostgresCatalogConfig | undefined;
    let recreate = async (): Promise<void> => undefined;
    if (engine === 'postgres') {
      const p = await postgresCatalog(t);
      if (!p) return;
      const { pg, catalog: c } = p;
      catalog = c;
      recreate = async () => {
        await pg.query(`DROP DATABASE ${c.database}`);
        await pg.query(`CREATE DATABASE ${c.database} OWNER ${pg.user}`);
      };
    }
    const d = await startDaemonSet(t, join(tmp, 'conf'), {
      source: src,
      edit: {
        dir: (doc) => {
          if (catalog) doc.director.catalog = catalog;
          doc.jobs.push({ name: 'catalog', type: 'catalog', client: doc.jobs[0].client, storage: doc.jobs[0].storage, pool: doc.jobs[0].pool, copyTo: join(tmp, 'second-place') });
        },
      },
    });
    const points: Array<{ jobId: number; expected: string }> = [];
    const backup = (level: string) => {
      const r = d.console(['run', 'demo', '--level', level, '--wait', '--json']);
      assert.equal(r.status, 0, r.describe);
      assert.equal(r.json.status, 'ok', r.describe);
      const expected = join(tmp, `expected_${points.length}`);
      execFileSync('cp', ['-a', src, expected]);
      points.push({ jobId: r.json.jobId, expected });
    };
    backup('full');
    writeFileSync(join(src, 'etc', 'b.conf'), 'changed after the full');
    rmSync(join(src, 'etc', 'c.conf'));
    backup('incremental');

    const cb = d.console(['run', 'catalog', '--wait', '--json']);
    assert.equal(cb.status, 0, cb.describe);
    assert.equal(cb.json.status, 'ok', cb.describe);
    assert.equal(cb.json.level, 'full');
    const dump = engine === 'sqlite' ? 'catalog.db' : 'catalog.pgdump';
    for (const f of [dump, 'cairn-dir.yaml', 'emergency-restore.json', 'emergency-restore.txt']) assert.ok(existsSync(join(tmp, 'second-place', f)), `copyTo holds ${f}`);
    const summary = JSON.parse(readFileSync(join(tmp, 'second-place', 'emergency-restore.json'), 'utf8'));
    assert.equal(summary.catalog.engine, engine);
    assert.deepEqual(summary.jobs.filter((j: { type: string }) => j.type === 'backup').map((j: { id: number }) => j.id), points.map((p) => p.jobId));
    const ls = d.console(['ls', String(cb.json.jobId), '--json']);
    assert.equal(ls.status, 0, ls.describe);
    assert.ok(ls.json.files.some((f: { path: string }) => f.path.endsWith(`/${dump}`)), `the job holds the dump: ${ls.describe}`);
    assert.equal(existsSync(join(tmp, 'conf', 'dir', 'catalog-backup-catalog')), false, 'the staging folder is removed after the job');

    // The Director's host is lost: working directory (SQLite catalog, bootstrap files, logs) gone; a
    // PostgreSQL catalog comes back as an empty database, as for a new install.
    assert.equal(await d.stop('dir'), 0);
    const work = join(tmp, 'conf', 'dir');
    rmSync(work, { recursive: true });
    await recreate();

    const volumes = join(tmp, 'conf', 'volumes');
    const rc = cairn(null, ['catalog-restore', '--from', volumes, '--dir-config', d.qs.files.dir, '--json']);
    assert.equal(rc.status, 0, rc.describe);
    assert.equal(rc.json.source.jobId, cb.json.jobId, 'the newest catalog job was read');
    assert.ok(rc.json.adopted.some((a: { volume: string }) => cb.json.volumes.includes(a.volume)), `the volume holding the catalog job is counted at its real size: ${rc.describe}`);
    assert.ok(existsSync(join(work, 'catalog-restore', 'cairn-dir.yaml')), 'the config copy is kept for the admin');
    // A second run refuses to overwrite the catalog it just put back.
    const again = cairn(null, ['catalog-restore', '--from', volumes, '--dir-config', d.qs.files.dir, '--json']);
    assert.equal(again.status, 2, again.describe);
    assert.match(again.json.error.message, /CAIRN_E_CATALOG_RESTORE_EXISTS|not empty/);
    // --force replaces it (PostgreSQL: pg_restore --clean --if-exists in one transaction).
    const forced = cairn(null, ['catalog-restore', '--from', volumes, '--dir-config', d.qs.files.dir, '--force', '--json']);
    assert.equal(forced.status, 0, forced.describe);
    assert.equal(forced.json.jobs, rc.json.jobs);
    assert.deepEqual(forced.json.adopted, rc.json.adopted, 'the catalog put back again is reconciled the same way');

    await d.start('dir');
    const jobs = d.console(['jobs', '--json']);
    assert.equal(jobs.status, 0, jobs.describe);
    const ids = (jobs.json as Array<{ id: number; type: string }>).filter((j) => j.type === 'backup').map((j) => j.id);
    for (const p of points) assert.ok(ids.includes(p.jobId), `job ${p.jobId} is in the restored catalog`);
    for (const p of points) {
      const out = join(tmp, `restored_${p.jobId}`);
      const r = d.console(['restore', String(p.jobId), '--to', out, '--wait', '--json']);
      assert.equal(r.status, 0, r.describe);
      assert.equal(r.json.status, 'ok', r.describe);
      await assertTreesEqual(join(out, src), p.expected);
    }
    // Life goes on: a new job after the cold start, and the old data is still whole.
    writeFileSync(join(src, 'after.txt'), 'written after the cold start');
    backup('incremental');
    const last = points.at(-1)!;
    const out = join(tmp, 'restored_after');
    const r = d.console(['restore', String(last.jobId), '--to', out, '--wait', '--json']);
    assert.equal(r.json.status, 'ok', r.describe);
    await assertTreesEqual(join(out, src), last.expected);
    const first = join(tmp, 'restored_first_again');
    const r1 = d.console(['restore', String(points[0].jobId), '--to', first, '--wait', '--json']);
    assert.equal(r1.json.status, 'ok', r1.describe);
    await assertTreesEqual(join(first, src), points[0].expected);
  });
}
