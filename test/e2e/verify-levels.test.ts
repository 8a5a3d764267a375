/**
 * Acceptance: `cairn verify JOB --level catalog|volume|data`.
 *
 * volume: the SD re-reads the job's blocks (no data leaves it, no key is
 * involved) — clean volumes verify OK with the end label's counts; a byte
 * flipped in a data block is found and named by volume and block, with the
 * files whose bytes lie in that block (worked out beforehand by
 * test/e2e/volume-map.ts, a reader written from docs/volume-format.md).
 * data: the FD reads the data back and checks every digest (the verify mode
 * that existed before levels) still finds the same block.
 * catalog: live files against the catalog — modified, missing and new files
 * are listed; an unchanged tree verifies OK.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, closeSync, openSync, readSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { buildTree, file, generateSmallFiles, tempDir } from '../support/index.js';
import { cairn, cairnOk } from './cli-runner.js';
import { filesTouching, mapVolume } from './volume-map.js';

const MiB = 1024 * 1024;

async function backedUp(t: import('node:test').TestContext) {
  const tmp = tempDir(t, 'cairn-e2e-verify-');
  const repo = join(tmp, 'R');
  const src = join(tmp, 'src');
  await buildTree(src, {
    'a-big.bin': file(1, 3 * MiB + 11),
    'x-big.bin': file(3, 2 * MiB - 5),
    sub: { 'b-big.bin': file(4, 2 * MiB + 99), 'c.txt': file(5, 1000) },
  });
  generateSmallFiles(join(src, 'm-small'), { count: 150, dirs: 6, minSize: 100, maxSize: 24 * 1024, seed: 7 });
  const b = cairnOk(repo, ['backup', src, '--level', 'full', '--json']).json;
  assert.equal(b.status, 'ok');
  const volumeName = b.volumes[0];
  return { tmp, repo, src, jobId: b.jobId as number, volumeName, volumePath: join(repo, 'volumes', volumeName) };
}

test('verify --level volume: clean volumes verify OK with the end label counts; a flipped byte is named by volume, block and files, without any key', async (t) => {
  const s = await backedUp(t);
  const ok = cairnOk(s.repo, ['verify', String(s.jobId), '--level', 'volume', '--json']).json;
  assert.equal(ok.status, 'ok', JSON.stringify(ok));
  assert.equal(ok.verify.level, 'volume');
  assert.equal(ok.verify.endLabel, true);
  assert.equal(ok.verify.badBlocks, 0);
  assert.ok(ok.verify.records > ok.files && ok.files >= 150, JSON.stringify(ok.verify));
  assert.deepEqual(ok.problems, []);

  const map = mapVolume(s.volumePath);
  const data = map.blocks.filter((x) => x.kind === 3);
  assert.ok(data.length >= 4, `want several data blocks, got ${data.length}`);
  const target = data[Math.floor(data.length / 2)];
  const inBlock = filesTouching(map, (n) => n === target.block).map((f) => f.path);
  assert.ok(inBlock.length >= 1);
  const at = target.block * map.blockSize + target.headerLength + Math.floor(target.payloadLength / 2);
  const fd = openSync(s.volumePath, 'r+');
  try {
    const one = Buffer.alloc(1);
    readSync(fd, one, 0, 1, at);
    one[0] ^= 0x01;
    writeSync(fd, one, 0, 1, at);
  } finally {
    closeSync(fd);
  }
  t.diagnostic(`flipped one bit of block ${target.block}; files with bytes there: ${inBlock.join(', ')}`);

  const v = cairn(s.repo, ['verify', String(s.jobId), '--level', 'volume', '--json']);
  assert.equal(v.status, 3, v.describe);
  assert.equal(v.json.status, 'error');
  assert.equal(v.json.verify.badBlocks, 1, v.describe);
  const here = v.json.problems.filter((p: { volume?: string; block?: number }) => p.volume === s.volumeName && p.block === target.block);
  assert.ok(here.length > 0, `volume ${s.volumeName} block ${target.block} must be named: ${JSON.stringify(v.json.problems.slice(0, 5))}`);
  assert.ok(here.every((p: { code: string }) => p.code === 'CAIRN_E_VOLUME_BAD_BLOCK'));
  const named = new Set(here.map((p: { path?: string }) => p.path));
  for (const p of inBlock) assert.ok(named.has(p), `verify --level volume should name ${p}`);

  // The data level (the FD reads the records back and checks digests) finds the same block.
  const d = cairn(s.repo, ['verify', String(s.jobId), '--level', 'data', '--json']);
  assert.equal(d.status, 3, d.describe);
  assert.equal(d.json.verify.level, 'data');
  assert.ok(d.json.problems.some((p: { volume?: string; block?: number }) => p.volume === s.volumeName && p.block === target.block), d.describe);
});

test('verify --level volume: a cut volume names the truncation', async (t) => {
  const s = await backedUp(t);
  const map = mapVolume(s.volumePath);
  const data = map.blocks.filter((x) => x.kind === 3);
  const cut = data[Math.floor(data.length / 2)].block;
  const { truncateSync } = await import('node:fs');
  truncateSync(s.volumePath, cut * map.blockSize + 100);
  const v = cairn(s.repo, ['verify', String(s.jobId), '--level', 'volume', '--json']);
  assert.equal(v.status, 3, v.describe);
  assert.ok(v.json.problems.some((p: { code: string; block?: number }) => p.code === 'CAIRN_E_VOLUME_TRUNCATED' && p.block === cut), v.describe);
  const after = filesTouching(map, (n) => n >= cut).map((f) => f.path);
  const named = new Set(v.json.problems.map((p: { path?: string }) => p.path));
  assert.ok(after.some((p) => named.has(p)), 'the files past the cut are named');
});

test('verify --level catalog: modified, missing and new files against the live tree', async (t) => {
  const s = await backedUp(t);
  const clean = cairnOk(s.repo, ['verify', 'latest', '--level', 'catalog', '--json']).json;
  assert.equal(clean.status, 'ok', JSON.stringify(clean.problems.slice(0, 5)));
  assert.equal(clean.verify.level, 'catalog');
  assert.ok(clean.verify.checked >= 150);

  appendFileSync(join(s.src, 'sub', 'c.txt'), 'more');
  // Four bytes rewritten in place: same size, new content.
  const fd = openSync(join(s.src, 'x-big.bin'), 'r+');
  writeSync(fd, Buffer.from('ZZZZ'), 0, 4, 1000);
  closeSync(fd);
  unlinkSync(join(s.src, 'a-big.bin'));
  writeFileSync(join(s.src, 'sub', 'new.txt'), 'hello');
  chmodSync(join(s.src, 'sub'), 0o700);
  const v = cairn(s.repo, ['verify', 'latest', '--level', 'catalog', '--json']);
  assert.equal(v.status, 3, v.describe);
  const by = (kind: string) => new Set(v.json.problems.filter((p: { code: string }) => p.code === kind).map((p: { path: string }) => p.path));
  assert.ok(by('CAIRN_E_VERIFY_MODIFIED').has(join(s.src, 'sub', 'c.txt')), v.describe);
  assert.ok(by('CAIRN_E_VERIFY_MODIFIED').has(join(s.src, 'x-big.bin')), v.describe);
  assert.ok(by('CAIRN_E_VERIFY_MODIFIED').has(join(s.src, 'sub')), v.describe);
  assert.deepEqual([...by('CAIRN_E_VERIFY_MISSING')], [join(s.src, 'a-big.bin')]);
  assert.deepEqual([...by('CAIRN_E_VERIFY_NEW')], [join(s.src, 'sub', 'new.txt')]);
  // The source root changed too: an entry was removed from it and one added to sub.
  assert.ok(by('CAIRN_E_VERIFY_MODIFIED').has(s.src), v.describe);
  assert.equal(v.json.verify.modified, 4);
  assert.equal(v.json.verify.missing, 1);
  assert.equal(v.json.verify.new, 1);
});
