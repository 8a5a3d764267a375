/**
 * Tests of the tree builder and content generator: every entry kind lands on
 * disk with the requested bytes, names, modes, links and nanosecond times.
 */
import assert from 'node:assert/strict';
import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { contentBytes, fillContent } from './content.js';
import { generateSmallFiles, smallFileSize } from './small-files.js';
import { isRoot, tempDir } from './temp.js';
import { everyKindSpec, SAMPLE_MTIME_NS, SAMPLE_RAW_NAME } from './sample-trees.js';
import { buildTree, file, hardlink, symlink } from './tree.js';

const T = SAMPLE_MTIME_NS;
const RAW = SAMPLE_RAW_NAME;

test('buildTree creates every entry kind with exact attributes', async (t) => {
  const root = tempDir(t);
  const result = await buildTree(root, everyKindSpec(), { mtimeNs: T + 1n });
  assert.equal(result.files, 9);

  const etc = join(root, 'etc');
  assert.deepEqual(readFileSync(join(etc, 'a.conf')), contentBytes(11, 0, 4096));
  assert.equal(lstatSync(join(etc, 'big.bin')).mode & 0o7777, 0o4755);
  assert.equal(readlinkSync(join(etc, 'link')), 'a.conf');
  assert.equal(readlinkSync(join(etc, 'dangling')), 'nope');
  assert.equal(lstatSync(join(etc, 'hl1')).ino, lstatSync(join(etc, 'hl2')).ino);
  assert.equal(lstatSync(join(etc, 'empty')).size, 0);
  assert.ok(lstatSync(join(etc, 'pipe')).isFIFO());
  assert.equal(lstatSync(join(etc, 'pipe')).mode & 0o777, 0o640);

  const sp = lstatSync(join(etc, 'sparse'));
  assert.equal(sp.size, 20 << 20);
  assert.ok(sp.blocks * 512 < 1 << 20, `sparse file allocates ${sp.blocks * 512} bytes`);
  const spBytes = readFileSync(join(etc, 'sparse'));
  assert.deepEqual(spBytes.subarray(10 << 20, (10 << 20) + 4096), contentBytes(1, 10 << 20, 4096));
  assert.ok(spBytes.subarray(4096, 10 << 20).every((b) => b === 0));

  const names = readdirSync(etc, { encoding: 'buffer' });
  assert.ok(names.some((n) => n.equals(RAW)), 'raw-byte name exists as bytes');
  assert.ok(!names.some((n) => n.toString().startsWith('.cairn-raw-')), 'no stand-in names left');
  const rawPath = Buffer.concat([Buffer.from(etc + '/'), RAW]);
  assert.deepEqual(readFileSync(rawPath), contentBytes(3, 0, 10));

  // Nanosecond times: explicit, default, on symlinks, and on a raw-named directory after its rename.
  const ns = (p: string | Buffer): bigint => lstatSync(p, { bigint: true }).mtimeNs;
  assert.equal(ns(join(root, 'dir')), T);
  assert.equal(lstatSync(join(root, 'dir')).mode & 0o7777, 0o1777);
  assert.equal(ns(join(etc, 'a.conf')), T + 1n);
  assert.equal(ns(join(etc, 'link')), T + 1n);
  assert.equal(ns(join(etc, 'pipe')), T + 1n);
  assert.equal(ns(etc), T + 1n, 'directory time set after its children were created and renamed');
  const rawDir = Buffer.from(root + '/\xe9t\xe9', 'latin1');
  assert.equal(ns(rawDir), T + 7n);
  assert.equal(ns(Buffer.concat([rawDir, Buffer.from('/inner')])), T + 5n);
  assert.equal(ns(join(root, 'deep', 'a', 'b')), T + 1n);
});

test('buildTree sets owners when running as root', { skip: isRoot() ? false : 'needs root' }, async (t) => {
  const root = tempDir(t);
  await buildTree(root, { f: file(1, 5, { uid: 1234, gid: 4321, mode: 0o2750 }), l: symlink('f', { uid: 99 }) });
  const st = lstatSync(join(root, 'f'));
  assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [1234, 4321, 0o2750]);
  assert.equal(lstatSync(join(root, 'l')).uid, 99);
});

test('buildTree rejects a hardlink to an undeclared group', async (t) => {
  const root = tempDir(t);
  await assert.rejects(buildTree(root, { x: hardlink('missing') }), /no file declares \{ hardlinkGroup: "missing" \}/);
});

test('content is the same whatever the chunking', () => {
  const whole = contentBytes(9, 0, 50_000);
  const parts = Buffer.concat([contentBytes(9, 0, 4095), contentBytes(9, 4095, 1), contentBytes(9, 4096, 12_345), contentBytes(9, 16_441, 33_559)]);
  assert.deepEqual(parts, whole);
  const odd = Buffer.allocUnsafe(10_001).subarray(1); // unaligned destination
  assert.deepEqual(fillContent(9, 0, odd), whole.subarray(0, 10_000));
  assert.notDeepEqual(contentBytes(10, 0, 4096), contentBytes(9, 0, 4096));
});

test('generateSmallFiles is deterministic and spreads files over directories', (t) => {
  const a = tempDir(t);
  const r = generateSmallFiles(a, { count: 500, dirs: 40, minSize: 1, maxSize: 2000, seed: 77 });
  assert.equal(r.files, 500);
  assert.equal(r.dirs, 40);
  const file7 = join(a, '000', '0007', 'f0000007.dat');
  assert.equal(lstatSync(file7).size, smallFileSize(77, 7, 1, 2000));
  let total = 0;
  let count = 0;
  for (const g of readdirSync(a)) {
    for (const d of readdirSync(join(a, g))) {
      for (const f of readdirSync(join(a, g, d))) {
        total += lstatSync(join(a, g, d, f)).size;
        count++;
      }
    }
  }
  assert.equal(count, 500);
  assert.equal(total, r.bytes);
});
