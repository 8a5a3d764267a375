/**
 * Acceptance: the one big round trip, through the console.
 *
 * A tree with a file over 1 GiB (semi-compressible, written in chunks),
 * 20,000 small files in 200 directories, a symlink and a dangling one, a
 * hard-link pair, an empty file, a 128 MiB sparse file with data at 0 and at
 * 64 MiB, a FIFO, non-UTF-8 names, nanosecond mtimes on files and
 * directories, setuid/setgid files, sticky and setgid directories, and
 * foreign owners when running as root. `cairn backup`, `cairn verify` and
 * `cairn restore` it; the restored copy must equal the source in every
 * respect compareTrees knows (bytes, holes, types, modes, owners, ns mtimes,
 * link targets, hard-link grouping, raw names).
 *
 * Takes a few minutes and ~3 GB of temp space; one file, one test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  assertTreesEqual, buildTree, dir, fifo, file, generateSmallFiles, hardlink, isRoot, rawName, requireTool, sparse, symlink, tempDir, type TreeSpec,
} from '../support/index.js';
import { cairnOk } from './cli-runner.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
/** 2020-09-13T12:26:40.123456789Z: all nine nanosecond digits significant. */
const T = 1_600_000_000_123_456_789n;

function spec(root: boolean): TreeSpec {
  // Foreign owners only when we can set them (root); modes chosen so chown-after-chmod would lose setuid.
  const owner = root ? { uid: 1234, gid: 5678 } : {};
  return {
    'huge.bin': file(101, GiB + 12_345, { mtimeNs: T + 1n }),
    'empty': file(102, 0, { mtimeNs: T + 2n }),
    'holes.img': sparse([[0, 64 * KiB], [64 * MiB, 64 * KiB]], 128 * MiB, { seed: 103, mtimeNs: T + 3n }),
    'pipe': fifo({ mode: 0o640, mtimeNs: T + 4n }),
    links: dir({
      'to-huge': symlink('../huge.bin', { mtimeNs: T + 5n }),
      'dangling': symlink('../no/such/target', { mtimeNs: T + 6n }),
      'hl-a': file(104, 5000, { hardlinkGroup: 'pair', mtimeNs: T + 7n }),
      'hl-b': hardlink('pair'),
      [rawName([0x6c, 0xe9, 0x6e, 0x6b])]: symlink(Buffer.from([0x74, 0xff, 0x72, 0x67]), { mtimeNs: T + 8n }),
    }, { mtimeNs: T + 9n }),
    perms: dir({
      'setuid': file(105, 3000, { mode: 0o4755, mtimeNs: T + 10n, ...owner }),
      'setgid': file(106, 3000, { mode: 0o2750, mtimeNs: T + 11n, ...owner }),
      'private': file(107, 100, { mode: 0o600, mtimeNs: T + 12n }),
      'sticky': dir({ inside: file(108, 10, { mtimeNs: T + 13n }) }, { mode: 0o1777, mtimeNs: T + 14n }),
      'sgid-dir': dir({ inside: file(109, 10, { mtimeNs: T + 15n, ...owner }) }, { mode: 0o2775, mtimeNs: T + 16n, ...owner }),
      'locked': dir({ inside: file(110, 10, { mtimeNs: T + 17n }) }, { mode: 0o500, mtimeNs: T + 18n }),
    }, { mtimeNs: T + 19n }),
    [rawName([0x66, 0xff, 0x6f])]: file(111, 42, { mtimeNs: T + 20n }),
    [rawName([0xe9, 0x74, 0xe9])]: dir({ [rawName([0x80, 0x81])]: file(112, 7, { mtimeNs: T + 21n }), plain: file(113, 9, { mtimeNs: T + 22n }) }, { mtimeNs: T + 23n }),
    'naïve ütf8 ✓': file(114, 100, { mtimeNs: T + 24n }),
    deep: { a: { b: { c: { d: { e: file(115, 1, { mtimeNs: T + 25n }) } } } } },
  };
}

test('big tree: 1 GiB file, 20,000 small files and every entry kind survive backup → verify → restore', { timeout: 30 * 60_000 }, async (t) => {
  if (!requireTool('mkfifo', t) || !requireTool('touch', t)) return;
  const root = isRoot();
  if (!root) t.diagnostic('not root: owners are not set or compared');
  const tmp = tempDir(t, 'cairn-e2e-big-');
  const repo = join(tmp, 'R');
  const src = join(tmp, 'src');

  const built = await buildTree(src, spec(root), { mtimeNs: T + 1000n });
  const small = generateSmallFiles(join(src, 'small'), { count: 20_000, dirs: 200, minSize: 0, maxSize: 12 * KiB, seed: 42 });
  assert.equal(small.files, 20_000);
  // Nanosecond mtimes on the small-file directories too (generateSmallFiles leaves creation times).
  const { execFileSync } = await import('node:child_process');
  execFileSync('find', [join(src, 'small'), '-depth', '-type', 'd', '-exec', 'touch', '-h', '-c', '-d', '@1650000000.987654321', '{}', '+']);

  // Entries the tree holds, for the report checks: spec entries, small files, their dirs and group dirs, `small` itself, and the root.
  const groupDirs = Math.ceil(200 / 32);
  const expectedEntries = built.entries + small.files + small.dirs + groupDirs + 1 + 1;
  t.diagnostic(`source: ${expectedEntries} entries, ${((built.bytes + small.bytes) / GiB).toFixed(2)} GiB apparent`);

  const b = cairnOk(repo, ['backup', src, '--json'], 0, { timeoutMs: 20 * 60_000 }).json;
  assert.equal(b.status, 'ok');
  assert.deepEqual(b.warnings, []);
  assert.equal(b.files, expectedEntries, 'every entry backed up once');
  assert.ok(b.bytes >= GiB + 12_345 + small.bytes, `bytes read ${b.bytes}`);
  assert.ok(b.storedBytes < b.bytes, `stored ${b.storedBytes} of ${b.bytes}: the content is compressible and holes are not stored`);
  t.diagnostic(`backup: ${(b.durationMs / 1000).toFixed(1)} s, stored ${(b.storedBytes / MiB).toFixed(0)} MiB of ${(b.bytes / MiB).toFixed(0)} MiB`);

  const v = cairnOk(repo, ['verify', 'latest', '--json'], 0, { timeoutMs: 20 * 60_000 }).json;
  assert.equal(v.status, 'ok');
  assert.deepEqual(v.problems, []);
  t.diagnostic(`verify: ${(v.durationMs / 1000).toFixed(1)} s`);

  const out = join(tmp, 'restored');
  const r = cairnOk(repo, ['restore', 'latest', '--to', out, '--json'], 0, { timeoutMs: 20 * 60_000 }).json;
  assert.equal(r.status, 'ok');
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.files, expectedEntries);
  t.diagnostic(`restore: ${(r.durationMs / 1000).toFixed(1)} s`);

  assertTreesEqual(src, join(out, src), { owner: root });
});
