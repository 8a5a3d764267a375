/**
 * Acceptance: damaged volumes, through the console.
 *
 * (a) Bytes flipped in the middle of a data block: `verify latest` exits 3
 *     naming the volume and the block; `restore latest` restores every file
 *     that has no bytes in that block byte-exact and names (problems[].path)
 *     exactly those that do, which must be absent from the target (no half
 *     file under a real name, no temporary left behind).
 * (b) The volume truncated mid-way (inside a block): files wholly before the
 *     cut restore, every file with bytes at or after the cut is named.
 *
 * Which files "have bytes in a block" is worked out before the damage by
 * test/e2e/volume-map.ts, a reader written from docs/volume-format.md.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readSync, readdirSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { buildTree, compareTrees, file, formatDifference, generateSmallFiles, tempDir, type Difference } from '../support/index.js';
import { cairn, cairnOk } from './cli-runner.js';
import { filesTouching, mapVolume, type VolumeMap } from './volume-map.js';

const MiB = 1024 * 1024;

interface Setup {
  tmp: string;
  repo: string;
  src: string;
  volumePath: string;
  volumeName: string;
  map: VolumeMap;
}

/** A few hundred files, six of them 1.5–4 MiB (they span blocks), backed up once. */
async function setup(t: TestContext): Promise<Setup> {
  const tmp = tempDir(t, 'cairn-e2e-damage-');
  const repo = join(tmp, 'R');
  const src = join(tmp, 'src');
  await buildTree(src, {
    'a-big.bin': file(1, 3 * MiB + 11),
    'k-big.bin': file(2, 1.5 * MiB),
    'x-big.bin': file(3, 4 * MiB - 5),
    sub: { 'b-big.bin': file(4, 2 * MiB + 99), 'c-mid.bin': file(5, 1 * MiB + 1), 'n-big.bin': file(6, 2.5 * MiB) },
  });
  generateSmallFiles(join(src, 'm-small'), { count: 200, dirs: 8, minSize: 100, maxSize: 24 * 1024, seed: 7 });
  generateSmallFiles(join(src, 'sub', 'p-small'), { count: 200, dirs: 8, minSize: 100, maxSize: 24 * 1024, seed: 8 });
  const b = cairnOk(repo, ['backup', src, '--json']).json;
  assert.equal(b.status, 'ok');
  assert.equal(b.volumes.length, 1, `expected one volume: ${JSON.stringify(b.volumes)}`);
  const volumeName = b.volumes[0];
  const volumePath = join(repo, 'volumes', volumeName);
  assert.ok(readdirSync(join(repo, 'volumes')).includes(volumeName));
  const map = mapVolume(volumePath);
  assert.equal(map.volumeName, volumeName);
  assert.equal(map.blockSize, MiB, 'the repository block size is 1 MiB');
  const dataBlocks = map.blocks.filter((x) => x.kind === 3);
  assert.ok(dataBlocks.length >= 6, `want several data blocks to damage one in the middle, got ${dataBlocks.length}`);
  return { tmp, repo, src, volumePath, volumeName, map };
}

/** Kind of every entry by absolute source path. */
function kindsOf(s: Setup): Map<string, string> {
  return new Map([...s.map.files.values()].map((f) => [f.path, f.kind]));
}

/** Absolute source paths a restore must name, for the damage described by `hit`. */
function expectedNamed(s: Setup, hit: (block: number) => boolean): Set<string> {
  const files = filesTouching(s.map, hit);
  for (const f of files) assert.ok(f.path, `volume-map: file index ${f.fileIndex} has bytes in a damaged block but no ATTRIBUTES record was read`);
  return new Set(files.map((f) => f.path));
}

/**
 * The target must hold the source tree except the named entries, which must
 * be absent; nothing else may differ (no half files, no temporaries, no
 * extras). A named directory may exist if some of its descendants were
 * restored (their parent had to be made), with only its own attributes off.
 */
function assertRestoredExceptNamed(s: Setup, to: string, named: Set<string>, kinds: Map<string, string>): void {
  const restoredRoot = join(to, s.src);
  const diffs = compareTrees(s.src, restoredRoot);
  const abs = (d: Difference) => (d.path === '' ? s.src : join(s.src, d.path));
  const allowed = (d: Difference) => {
    const p = abs(d);
    if (!named.has(p)) return false;
    if (d.kind === 'missing') return true;
    return kinds.get(p) === 'dir' && ['mode', 'mtime', 'uid', 'gid'].includes(d.kind);
  };
  const unexpected = diffs.filter((d) => !allowed(d));
  assert.deepEqual(unexpected.map(formatDifference), [], 'the restored tree differs from the source beyond the named files');
  const missing = new Set(diffs.filter((d) => d.kind === 'missing').map(abs));
  const present = [...named].filter((p) => !missing.has(p) && kinds.get(p) !== 'dir');
  assert.deepEqual(present, [], 'files named as not restored must be absent from the target');
}

test('a flipped byte in a data block: verify names volume and block; restore names exactly the files in it', async (t) => {
  const s = await setup(t);
  // The data block holding bytes of the most files (small files and their
  // directories), not the first or the last one.
  const data = s.map.blocks.filter((x) => x.kind === 3);
  const touching = (b: number) => filesTouching(s.map, (n) => n === b).length;
  const target = data.slice(1, -1).sort((a, b) => touching(b.block) - touching(a.block))[0];
  const named = expectedNamed(s, (n) => n === target.block);
  assert.ok(named.size >= 1);
  t.diagnostic(`damaging block ${target.block} of ${s.map.blocks.length}: ${named.size} file(s) have bytes in it`);

  // Flip 16 bytes in the middle of the block's payload (inside the CRC's coverage).
  const at = target.block * s.map.blockSize + target.headerLength + Math.floor(target.payloadLength / 2);
  const fd = openSync(s.volumePath, 'r+');
  try {
    const buf = Buffer.alloc(16);
    assert.equal(readSync(fd, buf, 0, 16, at), 16);
    for (let i = 0; i < buf.length; i++) buf[i] ^= 0xff;
    assert.equal(writeSync(fd, buf, 0, 16, at), 16);
  } finally {
    closeSync(fd);
  }

  const v = cairn(s.repo, ['verify', 'latest', '--json']);
  assert.equal(v.status, 3, v.describe);
  assert.equal(v.json.status, 'error', v.describe);
  const blockProblems = v.json.problems.filter((p: { volume?: string; block?: number }) => p.volume === s.volumeName && p.block === target.block);
  assert.ok(blockProblems.length > 0, `verify must name volume ${s.volumeName} block ${target.block}: ${JSON.stringify(v.json.problems.slice(0, 10))}`);
  const verifyNamed = new Set(v.json.problems.map((p: { path?: string }) => p.path).filter(Boolean));
  for (const p of named) assert.ok(verifyNamed.has(p), `verify should name ${p} (it has bytes in block ${target.block})`);

  const to = join(s.tmp, 'out');
  const r = cairn(s.repo, ['restore', 'latest', '--to', to, '--json']);
  assert.equal(r.status, 3, r.describe);
  assert.equal(r.json.status, 'error');
  const restoreNamed = new Set<string>(r.json.problems.map((p: { path?: string }) => p.path).filter(Boolean));
  assert.deepEqual([...restoreNamed].sort(), [...named].sort(), 'restore must name exactly the files with bytes in the damaged block');
  assertRestoredExceptNamed(s, to, named, kindsOf(s));
});

test('a truncated volume: files before the cut restore, every file at or after it is named', async (t) => {
  const s = await setup(t);
  const data = s.map.blocks.filter((x) => x.kind === 3);
  const cutBlock = data[Math.floor(data.length / 2)].block;
  // Cut inside the block: the partial block must never be interpreted.
  const cutAt = cutBlock * s.map.blockSize + Math.floor(s.map.blockSize / 2);
  const named = expectedNamed(s, (n) => n >= cutBlock);
  const before = [...s.map.files.values()].filter((f) => [...f.blocks].every((n) => n < cutBlock));
  assert.ok(named.size >= 1 && before.length >= 1, 'the cut must fall between files');
  t.diagnostic(`cutting inside block ${cutBlock} of ${s.map.blocks.length}: ${before.length} entries before, ${named.size} at or after`);
  truncateSync(s.volumePath, cutAt);

  const v = cairn(s.repo, ['verify', 'latest', '--json']);
  assert.equal(v.status, 3, v.describe);
  assert.equal(v.json.status, 'error', v.describe);
  const verifyNamed = new Set(v.json.problems.map((p: { path?: string }) => p.path).filter(Boolean));
  for (const p of named) assert.ok(verifyNamed.has(p), `verify should name ${p} (it has bytes past the cut)`);

  const to = join(s.tmp, 'out');
  const r = cairn(s.repo, ['restore', 'latest', '--to', to, '--json']);
  assert.equal(r.status, 3, r.describe);
  assert.equal(r.json.status, 'error');
  const restoreNamed = new Set<string>(r.json.problems.map((p: { path?: string }) => p.path).filter(Boolean));
  assert.deepEqual([...restoreNamed].sort(), [...named].sort(), 'restore must name exactly the files with bytes at or after the cut');
  assertRestoredExceptNamed(s, to, named, kindsOf(s));
});
