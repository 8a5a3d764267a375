// Tests of the native file services over the real addon: nanosecond times
// (also on a symlink itself), fifos, device nodes (root), data regions of
// sparse and dense files, directory fsync and its errno errors, and paths
// given as non-UTF-8 bytes. Without a built addon these skip loudly, except
// under CI=true where they fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PlatformFileServices } from '../plugin-api/index.js';
import { assertNativeLoaded, nativeStatus, platformFileServices, type FileServices } from './index.js';
import { splitNs } from './file-services.js';

// Compile-time pin: native's FileServices and plugin-api's interface are the
// same shape (plugin-api's batch members are optional for older hosts; native
// always provides them, so compare against their required form).
type Complete<P extends PlatformFileServices> = Required<Omit<P, 'available'>> & { readonly available: Required<P['available']> };
type Same = FileServices extends PlatformFileServices ? (Complete<PlatformFileServices> extends FileServices ? true : false) : false;
const pinned: Same = true;
void pinned;

const MiB = 1024 * 1024;
const status = nativeStatus();
const inCI = process.env.CI === 'true';
if (!status.loaded && !inCI) {
  console.error(`\n*** SKIPPING native/file-services tests: the addon is not loaded (${status.error}). Run \`npm run build:native\`. ***\n`);
}
const skip = !status.loaded && !inCI ? 'native addon not built' : false;

function tmpdir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-native-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function services(): PlatformFileServices {
  assertNativeLoaded();
  const s = platformFileServices();
  assert.deepEqual(s.available, { utimensat: true, mknod: true, seekData: true, fsyncDir: true, batch: true, xattrs: true });
  return s;
}

test('splitNs floors negative times into seconds and 0..1e9-1 ns', () => {
  assert.deepEqual(splitNs(1_700_000_000_987_654_321n), [1_700_000_000, 987_654_321]);
  assert.deepEqual(splitNs(-1n), [-1, 999_999_999]);
  assert.deepEqual(splitNs(-2_000_000_000n), [-2, 0]);
});

test('setTimes sets atime and mtime to the exact nanosecond', { skip }, async (t) => {
  const s = services();
  const file = path.join(tmpdir(t), 'f');
  fs.writeFileSync(file, 'x');
  const atime = 1_600_000_000_123_456_789n;
  const mtime = 1_700_000_000_987_654_321n;
  await s.setTimes(file, atime, mtime, true);
  const st = fs.lstatSync(file, { bigint: true });
  assert.equal(st.mtimeNs, mtime);
  assert.equal(st.atimeNs, atime);
});

test('setTimes without following sets the symlink itself, not its target', { skip }, async (t) => {
  const s = services();
  const dir = tmpdir(t);
  const target = path.join(dir, 'target');
  const link = path.join(dir, 'link');
  fs.writeFileSync(target, 'x');
  fs.symlinkSync('target', link);
  const targetTime = 1_500_000_000_000_000_001n;
  await s.setTimes(target, targetTime, targetTime, true);
  const linkTime = 1_650_000_000_111_222_333n;
  await s.setTimes(link, linkTime, linkTime, false);
  assert.equal(fs.lstatSync(link, { bigint: true }).mtimeNs, linkTime);
  assert.equal(fs.statSync(target, { bigint: true }).mtimeNs, targetTime);
  // following the link reaches the target
  await s.setTimes(link, 1_000_000_000_000_000_007n, 1_000_000_000_000_000_007n, true);
  assert.equal(fs.statSync(target, { bigint: true }).mtimeNs, 1_000_000_000_000_000_007n);
  assert.equal(fs.lstatSync(link, { bigint: true }).mtimeNs, linkTime);
});

test('setTimes on a missing file rejects with errno facts and the caller\'s path', { skip }, async (t) => {
  const s = services();
  const missing = path.join(tmpdir(t), 'missing');
  await assert.rejects(s.setTimes(missing, 0n, 0n, true), { code: 'ENOENT', errno: os.constants.errno.ENOENT, syscall: 'utimensat', path: missing });
});

test('mkfifo creates a fifo with the mode (less umask); EEXIST when present', { skip }, async (t) => {
  const s = services();
  const fifo = path.join(tmpdir(t), 'fifo');
  await s.mkfifo(fifo, 0o640);
  const st = fs.lstatSync(fifo);
  assert.ok(st.isFIFO());
  const umask = process.umask();
  assert.equal(st.mode & 0o777, 0o640 & ~umask);
  await assert.rejects(s.mkfifo(fifo, 0o640), { code: 'EEXIST', syscall: 'mkfifo', path: fifo });
});

test('mknod creates a character device (root only)', { skip }, async (t) => {
  if (process.getuid?.() !== 0) {
    if (inCI) assert.fail('CI=true but not running as root: mknod cannot be tested');
    console.error('\n*** SKIPPING mknod test: not running as root (CAP_MKNOD needed) ***\n');
    t.skip('not root');
    return;
  }
  const s = services();
  const dev = path.join(tmpdir(t), 'null');
  const rdev = (1 << 8) | 3; // makedev(1, 3): /dev/null on Linux
  await s.mknod(dev, fs.constants.S_IFCHR | 0o600, rdev);
  const st = fs.lstatSync(dev);
  assert.ok(st.isCharacterDevice());
  assert.equal(st.rdev, rdev);
  assert.equal(st.mode & 0o777, 0o600 & ~process.umask());
});

test('dataRegions finds the two data regions of a sparse file and not the hole', { skip }, async (t) => {
  const s = services();
  const file = path.join(tmpdir(t), 'sparse');
  const fd = fs.openSync(file, 'w+');
  t.after(() => fs.closeSync(fd));
  const block = Buffer.alloc(4096, 0).map((_, i) => i & 0xff);
  fs.ftruncateSync(fd, 20 * MiB);
  fs.writeSync(fd, block, 0, block.length, 0);
  fs.writeSync(fd, block, 0, block.length, 10 * MiB);
  fs.fsyncSync(fd);
  fs.readSync(fd, Buffer.alloc(100), 0, 100, null); // moves the fd offset to 100

  const regions = await s.dataRegions(fd, 20 * MiB);
  assert.equal(regions.length, 2, JSON.stringify(regions));
  const [[o1, l1], [o2, l2]] = regions;
  assert.equal(o1, 0);
  assert.ok(l1 >= 4096 && o1 + l1 < 5 * MiB, `first region ${o1}+${l1}`);
  assert.ok(o2 > 5 * MiB && o2 <= 10 * MiB && o2 + l2 >= 10 * MiB + 4096 && o2 + l2 < 15 * MiB, `second region ${o2}+${l2}`);

  const next = Buffer.alloc(1);
  fs.readSync(fd, next, 0, 1, null);
  assert.equal(next[0], 100, 'the fd offset is restored');
});

test('dataRegions: dense file is one region; all-hole and empty files none; bad fd rejects', { skip }, async (t) => {
  const s = services();
  const dir = tmpdir(t);
  const dense = path.join(dir, 'dense');
  fs.writeFileSync(dense, Buffer.alloc(MiB, 7));
  const fd = fs.openSync(dense, 'r');
  t.after(() => fs.closeSync(fd));
  assert.deepEqual(await s.dataRegions(fd, MiB), [[0, MiB]]);
  assert.deepEqual(await s.dataRegions(fd, 0), []);
  // a size smaller than the file clips the region
  assert.deepEqual(await s.dataRegions(fd, 1000), [[0, 1000]]);

  const holes = path.join(dir, 'holes');
  const hfd = fs.openSync(holes, 'w+');
  t.after(() => fs.closeSync(hfd));
  fs.ftruncateSync(hfd, 4 * MiB);
  assert.deepEqual(await s.dataRegions(hfd, 4 * MiB), []);

  const bad = fs.openSync(dense, 'r');
  fs.closeSync(bad);
  await assert.rejects(s.dataRegions(bad, MiB), { code: 'EBADF', syscall: 'lseek' });
});

test('fsyncDir syncs a directory; ENOENT and ENOTDIR reject with syscall and path', { skip }, async (t) => {
  const s = services();
  const dir = tmpdir(t);
  await s.fsyncDir(dir);
  const missing = path.join(dir, 'missing');
  await assert.rejects(s.fsyncDir(missing), { code: 'ENOENT', errno: os.constants.errno.ENOENT, syscall: 'open', path: missing });
  const file = path.join(dir, 'file');
  fs.writeFileSync(file, '');
  await assert.rejects(s.fsyncDir(file), { code: 'ENOTDIR', syscall: 'open' });
});

test('paths given as non-UTF-8 bytes work untouched', { skip }, async (t) => {
  const s = services();
  const dir = Buffer.from(tmpdir(t));
  const name = (tail: number[]) => Buffer.concat([dir, Buffer.from('/'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2d, ...tail])]);
  const file = name([0xff, 0xfe]);
  fs.writeFileSync(file, 'x');
  await s.setTimes(file, 1_234_567_890_000_000_001n, 1_234_567_890_999_999_999n, true);
  assert.equal(fs.lstatSync(file, { bigint: true }).mtimeNs, 1_234_567_890_999_999_999n);

  const fifo = name([0x80]);
  await s.mkfifo(new Uint8Array(fifo), 0o600);
  assert.ok(fs.lstatSync(fifo).isFIFO());

  const sub = name([0xc3]);
  fs.mkdirSync(sub);
  await s.fsyncDir(sub);

  const missing = name([0xfa, 0xfb]);
  const err = await s.fsyncDir(missing).then(() => undefined, (e: unknown) => e as { code: string; path: unknown });
  assert.equal(err?.code, 'ENOENT');
  assert.ok(Buffer.isBuffer(err?.path) && err.path.equals(missing), 'the error keeps the path bytes');
});

test('a path with a NUL byte is refused before any syscall', { skip }, async () => {
  const s = services();
  await assert.rejects(s.mkfifo(Buffer.from('a\0b'), 0o600), TypeError);
});

test('many calls run concurrently', { skip }, async (t) => {
  const s = services();
  const dir = tmpdir(t);
  const files = Array.from({ length: 64 }, (_, i) => path.join(dir, `f${i}`));
  for (const f of files) fs.writeFileSync(f, '');
  await Promise.all(files.map((f, i) => s.setTimes(f, BigInt(i), 1_000_000_000_000_000_000n + BigInt(i), true)));
  files.forEach((f, i) => assert.equal(fs.lstatSync(f, { bigint: true }).mtimeNs, 1_000_000_000_000_000_000n + BigInt(i)));
});
