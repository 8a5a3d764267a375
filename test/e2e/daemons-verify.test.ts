/**
 * Acceptance: verify levels and bootstrap files through the three daemons.
 * `cairn --config console.yaml verify latest --level volume` has the SD check
 * the job's blocks (no data to the Director or FD), `--level data` the FD
 * check every digest, `--level catalog` the FD compare its live files with
 * the catalog's tree (streamed to it in pages); a flipped byte on the SD's
 * volume is named by volume and block. The Director writes a bootstrap file after the job into
 * director.bootstrapDirectory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, closeSync, openSync, readFileSync, readSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { buildTree, file, generateSmallFiles, tempDir } from '../support/index.js';
import { startDaemonSet, findFiles } from './daemon-set.js';
import { mapVolume } from './volume-map.js';

test('three daemons: verify --level volume, data and catalog through the Director; bootstrap file written', async (t) => {
  const tmp = tempDir(t, 'cairn-daemons-verify-');
  const src = join(tmp, 'src');
  await buildTree(src, { 'big.bin': file(1, 3 * 1024 * 1024 + 1), etc: { 'a.conf': file(2, 500) } });
  generateSmallFiles(join(src, 'small'), { count: 1100, dirs: 4, minSize: 10, maxSize: 9000, seed: 5 });
  const d = await startDaemonSet(t, join(tmp, 'conf'), { source: src });
  const full = d.console(['run', 'demo', '--wait', '--json']);
  assert.equal(full.status, 0, full.describe);

  const bsr = findFiles(d.dir, (n) => n.endsWith('.bsr'));
  assert.equal(bsr.length, 1, `one bootstrap file: ${bsr.join(', ')}`);
  assert.match(readFileSync(bsr[0], 'utf8'), new RegExp(`^job id=${full.json.jobId} name=demo `, 'm'));

  const vol = d.console(['verify', 'latest', '--job-name', 'demo', '--level', 'volume', '--wait', '--json']);
  assert.equal(vol.status, 0, vol.describe);
  assert.equal(vol.json.verify.level, 'volume');
  assert.equal(vol.json.verify.endLabel, true);
  const data = d.console(['verify', 'latest', '--job-name', 'demo', '--level', 'data', '--wait', '--json']);
  assert.equal(data.status, 0, data.describe);
  assert.equal(data.json.verify.level, 'data');
  // Level catalog: the FD compares its live files with the tree the Director streams to it in pages (§9.4).
  const cat = d.console(['verify', 'latest', '--job-name', 'demo', '--level', 'catalog', '--wait', '--json']);
  assert.equal(cat.json.status, 'ok', cat.describe);
  assert.equal(cat.json.verify.level, 'catalog');
  assert.ok(cat.json.verify.checked > 1100, `more than one page of 1,000 entries: ${cat.json.verify.checked}`);
  assert.ok(cat.json.verify.digests >= 1100, `every file with a digest was hashed on the FD: ${cat.json.verify.digests}`);
  appendFileSync(join(src, 'etc', 'a.conf'), 'changed on the client');
  unlinkSync(join(src, 'big.bin'));
  writeFileSync(join(src, 'etc', 'new.conf'), 'not in the backup');
  const changed = d.console(['verify', 'latest', '--job-name', 'demo', '--level', 'catalog', '--wait', '--json']);
  assert.equal(changed.status, 3, changed.describe);
  const by = (code: string) => changed.json.problems.filter((p: { code: string }) => p.code === code).map((p: { path: string }) => p.path).sort();
  assert.deepEqual(by('CAIRN_E_VERIFY_MISSING'), [join(src, 'big.bin')]);
  assert.deepEqual(by('CAIRN_E_VERIFY_NEW'), [join(src, 'etc', 'new.conf')]);
  assert.deepEqual(by('CAIRN_E_VERIFY_MODIFIED'), [src, join(src, 'etc'), join(src, 'etc', 'a.conf')].sort(), changed.describe);
  assert.match(changed.json.error.message, /3 modified, 1 missing, 1 new/);

  const volumes = findFiles(d.dir, (n) => /-\d{4}$/.test(n));
  assert.equal(volumes.length, 1, volumes.join(', '));
  const map = mapVolume(volumes[0]);
  const target = map.blocks.filter((b) => b.kind === 3)[1];
  const at = target.block * map.blockSize + target.headerLength + 100;
  const fd = openSync(volumes[0], 'r+');
  const one = Buffer.alloc(1);
  readSync(fd, one, 0, 1, at);
  one[0] ^= 0x80;
  writeSync(fd, one, 0, 1, at);
  closeSync(fd);
  const bad = d.console(['verify', String(full.json.jobId), '--level', 'volume', '--wait', '--json']);
  assert.equal(bad.status, 3, bad.describe);
  assert.ok(bad.json.problems.some((p: { volume: string; block: number }) => p.volume === map.volumeName && p.block === target.block), bad.describe);
  for (const k of ['dir', 'fd', 'sd'] as const) assert.equal(await d.stop(k), 0, d.log(k).slice(-2000));
});
