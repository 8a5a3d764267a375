/**
 * Tests of compareTrees: a tree equals its identical rebuild, and each kind
 * of damage a restore could do is reported as exactly one difference.
 */
import assert from 'node:assert/strict';
import { chmodSync, closeSync, copyFileSync, openSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { assertTreesEqual, compareTrees, type Difference } from './compare-trees.js';
import { contentBytes } from './content.js';
import { setTimesNs } from './file-times.js';
import { everyKindSpec, SAMPLE_MTIME_NS, SAMPLE_RAW_NAME } from './sample-trees.js';
import { tempDir } from './temp.js';
import { buildTree } from './tree.js';

const T = SAMPLE_MTIME_NS + 1n;

/** Two identical builds of the every-kind tree, both with every time fixed. */
async function twoTrees(t: TestContext): Promise<{ a: string; b: string }> {
  const base = tempDir(t);
  const a = join(base, 'a');
  const b = join(base, 'b');
  await buildTree(a, everyKindSpec(), { mtimeNs: T });
  await buildTree(b, everyKindSpec(), { mtimeNs: T });
  return { a, b };
}

/** Undo the mtime side effects of a mutation: `paths` (relative) get time T back. */
async function resetTimes(root: string, ...paths: string[]): Promise<void> {
  await setTimesNs(paths.map((p) => ({ path: join(root, p), ns: T })));
}

function kinds(diffs: Difference[]): string[] {
  return diffs.map((d) => `${d.kind} ${d.path}`);
}

test('a tree equals its identical rebuild', async (t) => {
  const { a, b } = await twoTrees(t);
  assert.deepEqual(compareTrees(a, b), []);
  assert.deepEqual(compareTrees(a, b, { owner: true, root: false }), []);
  assertTreesEqual(a, b);
});

test('one nanosecond of mtime on a file and on a directory is reported', async (t) => {
  const { a, b } = await twoTrees(t);
  await setTimesNs([{ path: join(b, 'etc', 'a.conf'), ns: T + 1n }, { path: join(b, 'dir'), ns: SAMPLE_MTIME_NS - 1n }]);
  const diffs = compareTrees(a, b);
  assert.deepEqual(kinds(diffs), ['mtime dir', 'mtime etc/a.conf']);
  assert.equal(diffs[1].a, '1600000000.123456790');
  assert.equal(diffs[1].b, '1600000000.123456791');
  assert.deepEqual(compareTrees(a, b, { mtime: false }), []);
});

test('one changed byte is reported with its offset', async (t) => {
  const { a, b } = await twoTrees(t);
  const original = contentBytes(12, 200_001, 1)[0];
  const fd = openSync(join(b, 'etc', 'big.bin'), 'r+');
  writeSync(fd, Buffer.from([original ^ 0xff]), 0, 1, 200_001);
  closeSync(fd);
  await resetTimes(b, 'etc/big.bin');
  const diffs = compareTrees(a, b);
  assert.deepEqual(kinds(diffs), ['content etc/big.bin']);
  assert.equal(diffs[0].a, 'bytes differ from offset 200001');
});

test('a different symlink target is reported', async (t) => {
  const { a, b } = await twoTrees(t);
  unlinkSync(join(b, 'etc', 'link'));
  symlinkSync('a.conf.orig', join(b, 'etc', 'link'));
  await resetTimes(b, 'etc/link', 'etc');
  assert.deepEqual(kinds(compareTrees(a, b)), ['symlink etc/link']);
});

test('a broken hard link is reported, in either direction', async (t) => {
  const { a, b } = await twoTrees(t);
  copyFileSync(join(b, 'etc', 'hl2'), join(b, 'etc', 'hl2.tmp'));
  renameSync(join(b, 'etc', 'hl2.tmp'), join(b, 'etc', 'hl2'));
  await resetTimes(b, 'etc/hl2', 'etc');
  const diffs = compareTrees(a, b);
  assert.deepEqual(kinds(diffs), ['hardlink etc/hl1']);
  assert.match(diffs[0].a ?? '', /etc\/hl1, etc\/hl2 share one inode/);
  assert.deepEqual(kinds(compareTrees(b, a)), ['hardlink etc/hl1']);
});

test('mode bits (sticky), a filled hole, a missing raw name and a type change are reported', async (t) => {
  const { a, b } = await twoTrees(t);
  chmodSync(join(b, 'dir'), 0o777);
  // Fill the sparse file's holes with zeros: same bytes, no longer sparse.
  const fd = openSync(join(b, 'etc', 'sparse'), 'r+');
  const zeros = Buffer.alloc(1 << 20);
  for (let off = 4096; off < 10 << 20; off += zeros.length) writeSync(fd, zeros, 0, Math.min(zeros.length, (10 << 20) - off), off);
  closeSync(fd);
  rmSync(Buffer.concat([Buffer.from(join(b, 'etc') + '/'), SAMPLE_RAW_NAME]));
  rmSync(join(b, 'etc', 'pipe'));
  writeFileSync(join(b, 'etc', 'pipe'), '');
  chmodSync(join(b, 'etc', 'pipe'), 0o640);
  await resetTimes(b, 'etc/sparse', 'etc/pipe', 'etc');
  const diffs = compareTrees(a, b);
  assert.deepEqual(kinds(diffs).sort(), ['missing etc/f\\xffo', 'mode dir', 'sparse etc/sparse', 'type etc/pipe']);
  assert.deepEqual(diffs.find((d) => d.kind === 'mode')?.b, '0777');
  assert.throws(() => assertTreesEqual(a, b), (err: Error) => {
    assert.match(err.message, /trees differ \(4 differences\)/);
    assert.match(err.message, /missing +etc\/f\\xffo: a=file/);
    return true;
  });
});
