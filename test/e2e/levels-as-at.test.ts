/**
 * Acceptance: backup levels and point-in-time restore, through the console.
 *
 * Full → (change, add, delete) → Incremental → (delete a subtree, re-create
 * a deleted name, type changes) → Differential → (more) → Incremental. After
 * each backup the source is copied with `cp -a` to expected_N. Then for every
 * job, `restore --as-at <its endedAt>` and `restore <its id>` must give
 * exactly expected_N (deleted files absent, times and modes as they were).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertTreesEqual, buildTree, dir, file, generateSmallFiles, hardlink, symlink, tempDir, writeContentFile } from '../support/index.js';
import { cairn, cairnOk } from './cli-runner.js';

const MiB = 1024 * 1024;

interface Point {
  n: number;
  jobId: number;
  level: string;
  endedAt: string;
  baseJobId?: number;
  expected: string;
}

test('levels: Full → Incremental → Differential → Incremental; restore --as-at and by id give each point’s tree', async (t) => {
  const tmp = tempDir(t, 'cairn-e2e-levels-');
  const repo = join(tmp, 'R');
  const src = join(tmp, 'src');
  await buildTree(src, {
    'big.bin': file(1, 5 * MiB + 123),
    'mid.bin': file(2, 1 * MiB + 7),
    etc: { 'a.conf': file(3, 4000), 'b.conf': file(4, 100), 'c.conf': file(5, 2500, { mode: 0o600 }) },
    doomed: { 'x.txt': file(6, 10), deeper: { 'y.txt': file(7, 20), 'z.bin': file(8, 2 * MiB) } },
    links: { good: symlink('../etc/a.conf'), dangling: symlink('nowhere'), h1: file(9, 300, { hardlinkGroup: 'h' }), h2: hardlink('h') },
    'will-be-dir': file(10, 50),
    'will-be-file': dir({ inside: file(11, 60) }),
    empty: dir(),
  });
  generateSmallFiles(join(src, 'small'), { count: 300, dirs: 12, minSize: 100, maxSize: 8 * 1024, seed: 3 });

  const points: Point[] = [];
  const backup = (n: number, level: string): Point => {
    const r = cairnOk(repo, ['backup', src, '--level', level, '--json']);
    const rep = r.json;
    assert.equal(rep.status, 'ok', r.describe);
    const expected = join(tmp, `expected_${n}`);
    execFileSync('cp', ['-a', src, expected]);
    const p = { n, jobId: rep.jobId, level: rep.level, endedAt: rep.endedAt, baseJobId: rep.baseJobId, expected };
    points.push(p);
    return p;
  };

  // 1: Full.
  const p1 = backup(1, 'full');
  assert.equal(p1.level, 'full');

  // 2: change a file (same size, new bytes), grow another, add one, delete one → Incremental.
  writeContentFile(join(src, 'etc', 'a.conf'), 103, 4000);
  writeContentFile(join(src, 'mid.bin'), 102, 1 * MiB + 4000);
  writeContentFile(join(src, 'etc', 'new.conf'), 104, 777);
  unlinkSync(join(src, 'etc', 'b.conf'));
  unlinkSync(join(src, 'small', '000', '0003', 'f0000003.dat'));
  const p2 = backup(2, 'incremental');
  assert.equal(p2.level, 'incremental');
  assert.equal(p2.baseJobId, p1.jobId);

  // 3: delete a dir subtree, re-create the name deleted at 2, swap file↔dir,
  //    change the big file in its middle → Differential (against the Full: must carry step 2's changes too).
  rmSync(join(src, 'doomed'), { recursive: true });
  writeContentFile(join(src, 'etc', 'b.conf'), 204, 150);
  unlinkSync(join(src, 'will-be-dir'));
  mkdirSync(join(src, 'will-be-dir'));
  writeContentFile(join(src, 'will-be-dir', 'now-a-child'), 205, 33);
  rmSync(join(src, 'will-be-file'), { recursive: true });
  writeContentFile(join(src, 'will-be-file'), 206, 44);
  {
    const { openSync, writeSync, closeSync } = await import('node:fs');
    const fd = openSync(join(src, 'big.bin'), 'r+');
    writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, 3 * MiB);
    closeSync(fd);
  }
  const p3 = backup(3, 'differential');
  assert.equal(p3.level, 'differential');
  assert.equal(p3.baseJobId, p1.jobId, 'a Differential is based on the last Full');

  // 4: re-create the deleted subtree's name as a file, delete the re-created b.conf again,
  //    chmod a file, add files under an empty dir, change a symlink → Incremental (based on 3).
  writeFileSync(join(src, 'doomed'), 'i was a directory\n');
  unlinkSync(join(src, 'etc', 'b.conf'));
  execFileSync('chmod', ['0640', join(src, 'etc', 'c.conf')]);
  writeContentFile(join(src, 'empty', 'not-any-more'), 207, 5000);
  unlinkSync(join(src, 'links', 'good'));
  execFileSync('ln', ['-s', '../etc/new.conf', join(src, 'links', 'good')]);
  rmSync(join(src, 'small', '000', '0005'), { recursive: true });
  const p4 = backup(4, 'incremental');
  assert.equal(p4.level, 'incremental');
  assert.equal(p4.baseJobId, p3.jobId, 'an Incremental after a Differential is based on it');

  const jobs = cairnOk(repo, ['jobs', '--json']).json as Array<{ id: number; level: string; status: string }>;
  assert.deepEqual(
    jobs.filter((j) => points.some((p) => p.jobId === j.id)).map((j) => [j.id, j.level, j.status]).sort((a, b) => Number(a[0]) - Number(b[0])),
    points.map((p) => [p.jobId, p.level, 'ok']),
  );

  for (const p of points) {
    const asAt = join(tmp, `as-at_${p.n}`);
    const r = cairnOk(repo, ['restore', 'latest', '--as-at', p.endedAt, '--to', asAt, '--json']);
    assert.equal(r.json.status, 'ok', r.describe);
    assert.equal(r.json.chain.at(-1), p.jobId, `--as-at ${p.endedAt} should pick job ${p.jobId}: ${r.describe}`);
    assertTreesEqual(p.expected, join(asAt, src));

    const byId = join(tmp, `by-id_${p.n}`);
    const s = cairnOk(repo, ['restore', String(p.jobId), '--to', byId, '--json']);
    assert.equal(s.json.status, 'ok', s.describe);
    assertTreesEqual(p.expected, join(byId, src));
    rmSync(asAt, { recursive: true });
    rmSync(byId, { recursive: true });
  }
  // Chains: Full alone; Full+Inc; Full+Diff (skipping the first Incremental); Full+Diff+Inc.
  const chainOf = (p: Point) => cairnOk(repo, ['ls', String(p.jobId), join(src, 'etc'), '--json']).json.chain;
  assert.deepEqual(chainOf(p1), [p1.jobId]);
  assert.deepEqual(chainOf(p2), [p1.jobId, p2.jobId]);
  assert.deepEqual(chainOf(p3), [p1.jobId, p3.jobId]);
  assert.deepEqual(chainOf(p4), [p1.jobId, p3.jobId, p4.jobId]);

  // A time between two jobs restores the earlier one; a time before the first finds nothing.
  const between = new Date(new Date(p2.endedAt).getTime() + 1).toISOString();
  const mid = join(tmp, 'between');
  const m = cairnOk(repo, ['restore', 'latest', '--as-at', between, '--to', mid, '--json']);
  assert.equal(m.json.chain.at(-1), p2.jobId, m.describe);
  assertTreesEqual(points[1].expected, join(mid, src));
  const before = cairn(repo, ['restore', 'latest', '--as-at', '2000-01-01T00:00:00Z', '--to', join(tmp, 'never'), '--json']);
  assert.equal(before.status, 2, before.describe);
  assert.equal(before.json?.error?.code, 'CAIRN_E_JOB_NOT_FOUND', before.describe);
});
