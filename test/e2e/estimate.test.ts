/**
 * `estimate` (issue 3 item 7): the files and bytes a backup would send,
 * nothing sent — in local mode against the files and the catalog's base,
 * and through the three daemons (`cairn --config console.yaml estimate
 * JOB`). No job is created and no volume grows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSmallFiles, tempDir } from '../support/index.js';
import { cairn } from './cli-runner.js';
import { startDaemonSet } from './daemon-set.js';

function treeSize(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) {
      const sub = treeSize(p);
      files += sub.files + 1;
      bytes += sub.bytes;
    } else {
      files++;
      bytes += st.size;
    }
  }
  return { files, bytes };
}

function volumeBytes(dir: string): number {
  return readdirSync(dir).filter((n) => !n.startsWith('.')).reduce((n, v) => n + statSync(join(dir, v)).size, 0);
}

test('local estimate: a Full counts every file and byte; an Incremental only what changed; no job, no volume growth', (t) => {
  const tmp = tempDir(t, 'cairn-estimate-');
  const src = join(tmp, 'src');
  generateSmallFiles(src, { count: 400, dirs: 6, minSize: 10, maxSize: 20_000, seed: 3 });
  const repo = join(tmp, 'repo');
  assert.equal(cairn(repo, ['init']).status, 0);
  const first = cairn(repo, ['estimate', src, '--json']);
  assert.equal(first.status, 0, first.describe);
  assert.equal(first.json.level, 'full');
  assert.match(first.json.levelUpgraded.reason, /no successful backup/);
  const want = treeSize(src);
  assert.equal(first.json.files, want.files + 1, 'every file and directory, and the include root');
  assert.equal(first.json.bytes, want.bytes);
  assert.equal(first.json.lines[0].method, 'walk');

  const full = cairn(repo, ['backup', src, '--json']);
  assert.equal(full.status, 0, full.describe);
  assert.equal(full.json.files, first.json.files, 'the estimate counted what the backup sent');
  assert.equal(full.json.bytes, first.json.bytes);
  const volumes = join(repo, 'volumes');
  const before = volumeBytes(volumes);

  writeFileSync(join(src, 'new.bin'), Buffer.alloc(12345, 1));
  const inc = cairn(repo, ['estimate', src, '--json']);
  assert.equal(inc.status, 0, inc.describe);
  assert.equal(inc.json.level, 'incremental');
  assert.equal(inc.json.baseJobId, full.json.jobId);
  assert.ok(inc.json.files >= 1 && inc.json.files <= 3, `incremental files: ${inc.json.files}`);
  assert.equal(inc.json.bytes, 12345);
  const text = cairn(repo, ['estimate', src, '--level', 'full']);
  assert.match(text.stdout, /estimate of paths-[0-9a-f]+ on .*: full/);
  assert.match(text.stdout, new RegExp(`${want.files + 2} files`));
  assert.equal(volumeBytes(volumes), before, 'an estimate writes nothing to the volumes');
  assert.equal(cairn(repo, ['jobs', '--json']).json.length, 1, 'an estimate creates no job');
});

test('estimate through the Director: the FD walks the job\'s fileset, nothing is sent to the SD', async (t) => {
  const tmp = tempDir(t, 'cairn-estimate-net-');
  const src = join(tmp, 'src');
  generateSmallFiles(src, { count: 300, dirs: 5, minSize: 10, maxSize: 9000, seed: 9 });
  const d = await startDaemonSet(t, join(tmp, 'conf'), { source: src });
  const e = d.console(['estimate', 'demo', '--json']);
  assert.equal(e.status, 0, e.describe);
  assert.equal(e.json.job, 'demo');
  assert.equal(e.json.level, 'full');
  assert.equal(e.json.bytes, treeSize(src).bytes);
  const run = d.console(['run', 'demo', '--wait', '--json']);
  assert.equal(run.status, 0, run.describe);
  assert.equal(run.json.files, e.json.files);
  const inc = d.console(['estimate', 'demo', '--level', 'incremental', '--json']);
  assert.equal(inc.json.level, 'incremental');
  assert.equal(inc.json.bytes, 0);
  assert.deepEqual(d.console(['jobs', '--json']).json.map((j: { status: string }) => j.status), ['ok']);
  const missing = d.console(['estimate', 'nojob', '--json']);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stdout, /CAIRN_E_JOB_NOT_FOUND/);
});
