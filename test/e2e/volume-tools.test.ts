/**
 * Acceptance: everything the catalog knows can be rebuilt from the volumes.
 *
 * Full → Incremental (changes, deletions) → Differential (subtree deleted,
 * file↔dir swaps) → Incremental, each point copied with `cp -a`. Then:
 *  - the catalog is deleted and `cairn-bscan --repo` rebuilds it: the jobs
 *    (ids, levels, statuses) and `ls` of every job are as before, and
 *    `restore --as-at` each job's end time gives that point's tree; a second
 *    bscan adds nothing; the next Incremental is based on the rebuilt chain;
 *  - `cairn-bextract` with only the volumes (no catalog, no repository)
 *    restores the latest tree byte-exact, and an earlier job by --job;
 *  - the bootstrap file written after the last job restores byte-exact with
 *    an empty catalog (`cairn restore --bootstrap`), and through
 *    `cairn-bextract --bootstrap`;
 *  - `cairn-bls` lists the volume, the four sessions and their files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertTreesEqual, buildTree, dir, file, generateSmallFiles, hardlink, symlink, tempDir, writeContentFile } from '../support/index.js';
import { PROJECT_ROOT, cairnOk, lastJson } from './cli-runner.js';

const MiB = 1024 * 1024;

function tool(name: string, args: string[], expect = 0): { json: any; stdout: string } {
  const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', `${name}.js`), ...args], { cwd: PROJECT_ROOT, encoding: 'utf8', maxBuffer: 256 * MiB, timeout: 5 * 60_000 });
  const describe = `${name} ${args.join(' ')} → ${r.status}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`;
  assert.equal(r.status, expect, describe);
  return { json: lastJson(r.stdout), stdout: r.stdout };
}

interface Point {
  jobId: number;
  level: string;
  endedAt: string;
  expected: string;
}

test('bscan rebuilds the catalog from volumes; bextract and bootstrap files restore without a catalog', async (t) => {
  const tmp = tempDir(t, 'cairn-e2e-tools-');
  const repo = join(tmp, 'R');
  const src = join(tmp, 'src');
  await buildTree(src, {
    'big.bin': file(1, 3 * MiB + 123),
    etc: { 'a.conf': file(3, 4000), 'b.conf': file(4, 100) },
    doomed: { 'x.txt': file(6, 10), deeper: { 'z.bin': file(8, 1 * MiB) } },
    links: { good: symlink('../etc/a.conf'), h1: file(9, 300, { hardlinkGroup: 'h' }), h2: hardlink('h') },
    'will-be-dir': file(10, 50),
    empty: dir(),
  });
  generateSmallFiles(join(src, 'small'), { count: 200, dirs: 8, minSize: 100, maxSize: 8 * 1024, seed: 3 });
  const points: Point[] = [];
  const backup = (level: string): Point => {
    const rep = cairnOk(repo, ['backup', src, '--level', level, '--json']).json;
    assert.equal(rep.status, 'ok');
    const expected = join(tmp, `expected_${points.length + 1}`);
    execFileSync('cp', ['-a', src, expected]);
    const p = { jobId: rep.jobId, level: rep.level, endedAt: rep.endedAt, expected };
    points.push(p);
    return p;
  };
  backup('full');
  writeContentFile(join(src, 'etc', 'a.conf'), 103, 4000);
  writeContentFile(join(src, 'etc', 'new.conf'), 104, 777);
  unlinkSync(join(src, 'etc', 'b.conf'));
  unlinkSync(join(src, 'small', '000', '0003', 'f0000003.dat'));
  backup('incremental');
  rmSync(join(src, 'doomed'), { recursive: true });
  unlinkSync(join(src, 'will-be-dir'));
  mkdirSync(join(src, 'will-be-dir'));
  writeContentFile(join(src, 'will-be-dir', 'child'), 205, 33);
  backup('differential');
  writeFileSync(join(src, 'doomed'), 'i was a directory\n');
  writeContentFile(join(src, 'empty', 'not-any-more'), 207, 5000);
  backup('incremental');
  assert.deepEqual(points.map((p) => p.level), ['full', 'incremental', 'differential', 'incremental']);

  const jobsBefore = cairnOk(repo, ['jobs', '--json']).json.filter((j: { type: string }) => j.type === 'backup');
  const lsBefore = points.map((p) => cairnOk(repo, ['ls', String(p.jobId), '--json']).json);
  const bootstraps = readdirSync(join(repo, 'bootstrap'));
  assert.equal(bootstraps.length, 1, `one bootstrap file per job name: ${bootstraps.join(', ')}`);
  const bootstrap = join(tmp, 'last.bsr');
  execFileSync('cp', [join(repo, 'bootstrap', bootstraps[0]), bootstrap]);

  // --- cairn-bls: the volume, its sessions and files.
  const volumeDir = join(repo, 'volumes');
  const bls = tool('cairn-bls', [volumeDir, '--json']).json;
  assert.equal(bls.volumes.length, 1);
  assert.deepEqual(bls.volumes[0].sessions.map((s: { jobId: number }) => s.jobId), points.map((p) => p.jobId));
  assert.ok(bls.volumes[0].sessions.every((s: { end?: { status: string } }) => s.end?.status === 'ok'));
  assert.ok(bls.files.some((f: { path: string; jobId: number }) => f.path === join(src, 'big.bin') && f.jobId === points[0].jobId));
  const blsJobs = tool('cairn-bls', [volumeDir, '--jobs']).stdout;
  for (const p of points) assert.match(blsJobs, new RegExp(`job ${p.jobId} `));

  // --- the catalog is lost; cairn-bscan rebuilds it from the volumes.
  for (const f of readdirSync(repo)) if (f.startsWith('catalog.db')) unlinkSync(join(repo, f));
  const scan = tool('cairn-bscan', ['--repo', repo, '--json']).json;
  assert.deepEqual(scan.jobs.map((j: { jobId: number; added: boolean }) => [j.jobId, j.added]), points.map((p) => [p.jobId, true]));
  assert.equal(scan.volumes.length, 1);
  assert.deepEqual(scan.badBlocks, []);
  const jobsAfter = cairnOk(repo, ['jobs', '--json']).json;
  const pick = (j: Record<string, unknown>) => [j.id, j.name, j.level, j.status, j.client, j.fileset, j.filesetHash, j.files, j.bytes, j.sessionId];
  assert.deepEqual(jobsAfter.map(pick), jobsBefore.map(pick), 'the rebuilt jobs are the jobs that were');
  points.forEach((p, i) => assert.deepEqual(cairnOk(repo, ['ls', String(p.jobId), '--json']).json, lsBefore[i], `ls of job ${p.jobId}`));
  for (const [i, p] of points.entries()) {
    const to = join(tmp, `as-at_${i + 1}`);
    const r = cairnOk(repo, ['restore', 'latest', '--as-at', p.endedAt, '--to', to, '--json']).json;
    assert.equal(r.chain.at(-1), p.jobId);
    assertTreesEqual(p.expected, join(to, src));
    rmSync(to, { recursive: true });
  }
  const between = new Date(new Date(points[1].endedAt).getTime() + 1).toISOString();
  const mid = cairnOk(repo, ['restore', 'latest', '--as-at', between, '--to', join(tmp, 'between'), '--json']).json;
  assert.equal(mid.chain.at(-1), points[1].jobId);
  assertTreesEqual(points[1].expected, join(tmp, 'between', src));
  // Idempotent: nothing more to add.
  const again = tool('cairn-bscan', ['--repo', repo, '--json']).json;
  assert.ok(again.jobs.every((j: { added: boolean }) => !j.added) && again.volumes.every((v: { added: boolean }) => !v.added));
  // The agent states came back: the next Incremental is based on the last job and carries only the change.
  writeContentFile(join(src, 'etc', 'late.conf'), 301, 10);
  const inc = cairnOk(repo, ['backup', src, '--level', 'incremental', '--json']).json;
  assert.equal(inc.level, 'incremental');
  assert.equal(inc.baseJobId, points[3].jobId);
  assert.ok(inc.files <= 3, `an Incremental after the rebuild holds only what changed: ${inc.files} files`);

  // --- cairn-bextract: only the volumes (copied away from any repository).
  const bare = join(tmp, 'bare-volumes');
  mkdirSync(bare);
  for (const v of readdirSync(volumeDir)) if (!v.startsWith('.')) execFileSync('cp', [join(volumeDir, v), join(bare, v)]);
  const ex = tool('cairn-bextract', [bare, '--to', join(tmp, 'bx-latest'), '--job', String(points[3].jobId), '--json']).json;
  assert.equal(ex.status, 'ok', JSON.stringify(ex));
  assertTreesEqual(points[3].expected, join(tmp, 'bx-latest', src));
  const ex2 = tool('cairn-bextract', [bare, '--to', join(tmp, 'bx-2'), '--job', String(points[1].jobId), '--json']).json;
  assert.equal(ex2.status, 'ok');
  assertTreesEqual(points[1].expected, join(tmp, 'bx-2', src));
  // Include: one subtree only.
  tool('cairn-bextract', [bare, '--to', join(tmp, 'bx-etc'), '--job', String(points[3].jobId), '--include', join(src, 'etc'), '--json']);
  assertTreesEqual(join(points[3].expected, 'etc'), join(tmp, 'bx-etc', src, 'etc'));
  assert.ok(!existsSync(join(tmp, 'bx-etc', src, 'big.bin')));

  // --- the bootstrap file of the fourth job: restore with an empty catalog, and with bextract.
  const empty = join(tmp, 'E');
  cairnOk(empty, ['init', '--json']);
  rmSync(join(empty, 'volumes'), { recursive: true });
  execFileSync('cp', ['-a', bare, join(empty, 'volumes')]);
  const br = cairnOk(empty, ['restore', '--bootstrap', bootstrap, '--to', join(tmp, 'bsr-out'), '--json']).json;
  assert.equal(br.status, 'ok', JSON.stringify(br));
  assertTreesEqual(points[3].expected, join(tmp, 'bsr-out', src));
  const bx = tool('cairn-bextract', [bare, '--bootstrap', bootstrap, '--to', join(tmp, 'bx-bsr'), '--json']).json;
  assert.equal(bx.status, 'ok');
  assertTreesEqual(points[3].expected, join(tmp, 'bx-bsr', src));
});

test('sessions that roll over onto further volumes: bscan, verify --level volume, bls and bextract follow them', async (t) => {
  const tmp = tempDir(t, 'cairn-e2e-tools-roll-');
  const repo = join(tmp, 'R');
  const src = join(tmp, 'src');
  cairnOk(repo, ['init', '--json']);
  // Small volumes and blocks: each job spans several volumes, records span blocks and volumes.
  const metaFile = join(repo, 'cairn-repo.json');
  const meta = JSON.parse(readFileSync(metaFile, 'utf8'));
  meta.settings = { ...meta.settings, maxVolumeBytes: 1 * MiB, blockSize: 64 * 1024 };
  writeFileSync(metaFile, JSON.stringify(meta));
  await buildTree(src, { 'a.bin': file(1, 3 * MiB + 5), b: { 'c.bin': file(2, 1 * MiB + 77), 'd.txt': file(3, 999) } });
  generateSmallFiles(join(src, 'small'), { count: 120, dirs: 4, minSize: 100, maxSize: 16 * 1024, seed: 9 });
  const full = cairnOk(repo, ['backup', src, '--level', 'full', '--json']).json;
  assert.ok(full.volumes.length >= 3, `the Full spans volumes: ${full.volumes}`);
  const expected1 = join(tmp, 'expected_1');
  execFileSync('cp', ['-a', src, expected1]);
  unlinkSync(join(src, 'b', 'd.txt'));
  writeContentFile(join(src, 'b', 'c.bin'), 55, 1 * MiB + 3000);
  const inc = cairnOk(repo, ['backup', src, '--level', 'incremental', '--json']).json;
  const expected2 = join(tmp, 'expected_2');
  execFileSync('cp', ['-a', src, expected2]);

  const vFull = cairnOk(repo, ['verify', String(full.jobId), '--level', 'volume', '--json']).json;
  assert.equal(vFull.status, 'ok', JSON.stringify(vFull));
  assert.deepEqual(vFull.volumes, full.volumes);

  const jobsBefore = cairnOk(repo, ['jobs', '--json']).json.filter((j: { type: string }) => j.type === 'backup');
  const before = new Map<string, unknown>();
  for (const v of readdirSync(join(repo, 'volumes'))) if (!v.startsWith('.')) before.set(v, null);
  for (const f of readdirSync(repo)) if (f.startsWith('catalog.db')) unlinkSync(join(repo, f));
  const scan = tool('cairn-bscan', ['--repo', repo, '--json']).json;
  assert.deepEqual(scan.volumes.map((v: { name: string }) => v.name).sort(), [...before.keys()].sort());
  assert.ok(scan.volumes.filter((v: { status: string }) => v.status === 'full').length >= 2, JSON.stringify(scan.volumes));
  const pick = (j: Record<string, unknown>) => [j.id, j.level, j.status, j.files, j.bytes];
  assert.deepEqual(cairnOk(repo, ['jobs', '--json']).json.map(pick), jobsBefore.map(pick));
  const r1 = cairnOk(repo, ['restore', String(full.jobId), '--to', join(tmp, 'r1'), '--json']).json;
  assert.equal(r1.status, 'ok');
  assertTreesEqual(expected1, join(tmp, 'r1', src));
  const r2 = cairnOk(repo, ['restore', 'latest', '--as-at', inc.endedAt, '--to', join(tmp, 'r2'), '--json']).json;
  assert.equal(r2.chain.at(-1), inc.jobId);
  assertTreesEqual(expected2, join(tmp, 'r2', src));
  // The rebuilt job media serve the volume-level verify of a job that spans volumes.
  const vAfter = cairnOk(repo, ['verify', String(full.jobId), '--level', 'volume', '--json']).json;
  assert.equal(vAfter.status, 'ok', JSON.stringify(vAfter.problems));
  // The rebuilt volume rows let the repository append again (committed ends right, no name clash).
  writeContentFile(join(src, 'late.bin'), 77, 300 * 1024);
  const next = cairnOk(repo, ['backup', src, '--level', 'incremental', '--json']).json;
  assert.equal(next.status, 'ok');
  assert.ok(!next.volumes.some((v: string) => before.has(v) && scan.volumes.find((s: { name: string; status: string }) => s.name === v)?.status === 'full'));

  const bls = tool('cairn-bls', [join(repo, 'volumes'), '--json']).json;
  const continued = bls.volumes.flatMap((v: { sessions: Array<{ jobId: number; continued: boolean }> }) => v.sessions).filter((s: { jobId: number; continued: boolean }) => s.jobId === full.jobId && s.continued);
  assert.equal(continued.length, full.volumes.length - 1);
  const bx = tool('cairn-bextract', [join(repo, 'volumes'), '--to', join(tmp, 'bx'), '--job', String(inc.jobId), '--json']).json;
  assert.equal(bx.status, 'ok');
  assertTreesEqual(expected2, join(tmp, 'bx', src));
});

test('a bootstrap restore over a damaged block names the files it could not restore', async (t) => {
  const tmp = tempDir(t, 'cairn-e2e-tools-bsr-');
  const repo = join(tmp, 'R');
  const src = join(tmp, 'src');
  await buildTree(src, { 'a.bin': file(1, 3 * MiB + 1), 'b.bin': file(2, 3 * MiB + 2), 'c.txt': file(3, 10) });
  const b = cairnOk(repo, ['backup', src, '--level', 'full', '--json']).json;
  const bsr = join(repo, 'bootstrap', readdirSync(join(repo, 'bootstrap'))[0]);
  const volume = join(repo, 'volumes', b.volumes[0]);
  const { mapVolume, filesTouching } = await import('./volume-map.js');
  const map = mapVolume(volume);
  const target = map.blocks.filter((x) => x.kind === 3)[2];
  const hit = filesTouching(map, (n) => n === target.block).map((f) => f.path);
  const { openSync, readSync, writeSync, closeSync } = await import('node:fs');
  const fd = openSync(volume, 'r+');
  const one = Buffer.alloc(1);
  const at = target.block * map.blockSize + target.headerLength + 50;
  readSync(fd, one, 0, 1, at);
  one[0] ^= 1;
  writeSync(fd, one, 0, 1, at);
  closeSync(fd);
  const empty = join(tmp, 'E');
  cairnOk(empty, ['init', '--json']);
  execFileSync('cp', [volume, join(empty, 'volumes', b.volumes[0])]);
  const r = cairnOk(empty, ['restore', '--bootstrap', bsr, '--to', join(tmp, 'out'), '--json'], 3).json;
  assert.equal(r.status, 'error');
  // With no catalog, a file whose attributes lay in the damaged block can only be named by job and file index.
  const named = new Set(r.problems.map((p: { path?: string }) => p.path));
  const byIndex = [...named].filter((p) => /^\(job \d+, file index \d+\)$/.test(String(p)));
  const byPath = hit.filter((p) => named.has(p));
  assert.ok(byPath.length >= 1, JSON.stringify(r.problems));
  assert.equal(byPath.length + byIndex.length, hit.length, `every file with bytes in the block is named: ${JSON.stringify(r.problems)}`);
  for (const p of hit) assert.ok(!existsSync(join(tmp, 'out', p)), `${p} was not restored whole and must not be left under its name`);
  for (const p of [join(src, 'a.bin'), join(src, 'b.bin'), join(src, 'c.txt')].filter((x) => !hit.includes(x))) assert.ok(existsSync(join(tmp, 'out', p)), `${p} restored`);
});
