/**
 * Acceptance (issue 7): cold start. Back up data (Full, Incremental,
 * Differential, Incremental), then the catalog; throw away the repository —
 * catalog, settings, SD state, logs — keeping only the volume files, as on
 * an empty machine; then run the commands docs/cold-start.md lists (read
 * from the page itself, the block after `<!-- cold-start-commands -->`) and
 * check that every job restores byte-exact, and that the rebuilt repository
 * takes new backups without touching the old data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { assertTreesEqual, buildTree, file, tempDir, writeContentFile } from '../support/index.js';
import { PROJECT_ROOT, cairn, cairnOk } from './cli-runner.js';

/** The documented commands: one argv per `cairn …` line, $NAME placeholders left in. */
function documentedCommands(): string[][] {
  const doc = readFileSync(join(PROJECT_ROOT, 'docs', 'cold-start.md'), 'utf8');
  const block = doc.split('<!-- cold-start-commands -->')[1]?.split('```')[1];
  assert.ok(block, 'docs/cold-start.md has the marked command block');
  return block
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('cairn '))
    .map((l) => [...l.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]).slice(1));
}

const fill = (argv: string[], vars: Record<string, string>) => argv.map((a) => a.replace(/\$([A-Z]+)/g, (_, k: string) => vars[k] ?? `$${k}`));

test('cold start: the catalog comes back from its own backup on the volumes, following docs/cold-start.md; every job restores byte-exact', async (t) => {
  const tmp = tempDir(t, 'cairn-cold-');
  const repo = join(tmp, 'R');
  const src = join(tmp, 'src');
  await buildTree(src, { 'a.bin': file(1, 300_000), etc: { 'b.conf': file(2, 4000), 'c.conf': file(3, 100) }, 'gone.txt': file(4, 50) });
  const points: Array<{ jobId: number; expected: string }> = [];
  const backup = (n: number, level: string) => {
    const r = cairnOk(repo, ['backup', src, '--level', level, '--json']).json;
    assert.equal(r.status, 'ok');
    const expected = join(tmp, `expected_${n}`);
    execFileSync('cp', ['-a', src, expected]);
    points.push({ jobId: r.jobId, expected });
  };
  backup(1, 'full');
  writeContentFile(join(src, 'etc', 'b.conf'), 20, 5000);
  unlinkSync(join(src, 'gone.txt'));
  backup(2, 'incremental');
  writeContentFile(join(src, 'new.bin'), 21, 70_000);
  backup(3, 'differential');
  writeContentFile(join(src, 'a.bin'), 22, 300_000);
  backup(4, 'incremental');

  const copy = join(tmp, 'second-place');
  const cb = cairnOk(repo, ['catalog-backup', '--copy-to', copy, '--json']).json;
  assert.equal(cb.status, 'ok');
  assert.deepEqual(cb.catalogBackup.files.sort(), ['cairn-repo.json', 'catalog.db', 'emergency-restore.json', 'emergency-restore.txt']);
  const summary = JSON.parse(readFileSync(join(copy, 'emergency-restore.json'), 'utf8'));
  assert.deepEqual(summary.jobs.map((j: { id: number }) => j.id), points.map((p) => p.jobId));
  for (const j of summary.jobs) assert.ok(j.media.length > 0, `job ${j.id}: where its data is`);
  assert.match(readFileSync(join(copy, 'emergency-restore.txt'), 'utf8'), /restore reads jobs/);

  // The empty machine: nothing but the volume files.
  const volumes = join(tmp, 'volumes-disk');
  renameSync(join(repo, 'volumes'), volumes);
  rmSync(join(volumes, '.cairn-sd-state.json'));
  rmSync(repo, { recursive: true });
  assert.ok(!existsSync(repo));

  const newRepo = join(tmp, 'rebuilt');
  const [restoreCatalog, listJobs, restoreJob] = documentedCommands();
  assert.deepEqual([restoreCatalog[0], listJobs[0], restoreJob[0]], ['catalog-restore', 'jobs', 'restore']);
  const vars = { VOLUMES: volumes, REPO: newRepo };
  const rc = cairn(null, [...fill(restoreCatalog, vars), '--json']);
  assert.equal(rc.status, 0, rc.describe);
  assert.equal(rc.json.jobs, 4, 'the four data jobs (the copy was made before its own job)');
  assert.ok(rc.json.adopted.length >= 1, 'the volume holding the catalog backup was adopted at its real size');
  const jobs = cairn(null, [...fill(listJobs, vars), '--json']);
  assert.equal(jobs.status, 0, jobs.describe);
  assert.deepEqual((jobs.json as Array<{ id: number }>).map((j) => j.id).sort((a, b) => a - b), points.map((p) => p.jobId));

  for (const p of points) {
    const target = join(tmp, `restored_${p.jobId}`);
    const r = cairn(null, [...fill(restoreJob, { ...vars, JOB: String(p.jobId), TARGET: target }), '--json']);
    assert.equal(r.status, 0, r.describe);
    assert.equal(r.json.status, 'ok', r.describe);
    assertTreesEqual(p.expected, join(target, src));
  }

  // The rebuilt repository goes on: a new backup, and the old jobs still restore.
  writeContentFile(join(src, 'after.bin'), 30, 1000);
  const after = cairnOk(newRepo, ['backup', src, '--json']).json;
  assert.equal(after.status, 'ok');
  const again = join(tmp, 'again');
  assert.equal(cairnOk(newRepo, ['restore', String(points[0].jobId), '--to', again, '--json']).json.status, 'ok');
  assertTreesEqual(points[0].expected, join(again, src));
  assert.notEqual(after.volumes[0], undefined);

  // From the second place too: the copy's catalog, the volumes reconciled the same way.
  const fromCopy = join(tmp, 'from-copy');
  const rc2 = cairn(null, ['catalog-restore', '--from', copy, '--volumes', volumes, '--repo', fromCopy, '--json']);
  assert.equal(rc2.status, 0, rc2.describe);
  assert.equal(rc2.json.jobs, 4);
  const viaCopy = join(tmp, 'via-copy');
  assert.equal(cairnOk(fromCopy, ['restore', String(points[3].jobId), '--to', viaCopy, '--json']).json.status, 'ok');
  assertTreesEqual(points[3].expected, join(viaCopy, src));
  // A repository with a catalog is not overwritten.
  const refused = cairn(null, ['catalog-restore', '--from', volumes, '--repo', newRepo, '--json']);
  assert.equal(refused.json?.error?.code, 'CAIRN_E_CATALOG_RESTORE_EXISTS', refused.describe);
});
