// Tests of the extended-attribute services over the real addon: set / list /
// get / remove round trips with binary values, many attributes and a large
// value; never following a symlink; errno errors (ENODATA, ENOENT, EPERM and
// EOPNOTSUPP on a filesystem without xattrs, distinguishable by code);
// readXattrs' selection; scanDirectory's xattr option; paths as non-UTF-8
// bytes; the degraded services (no addon). Native tests skip loudly without a
// built addon, except under CI=true where they fail.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isCairnError } from '../plugin-api/index.js';
import { nativeStatus, platformFileServices, type FileServices } from './index.js';

const status = nativeStatus();
const inCI = process.env.CI === 'true';
if (!status.loaded && !inCI) {
  console.error(`\n*** SKIPPING native xattr tests: the addon is not loaded (${status.error}). Run \`npm run build:native\`. ***\n`);
}
const skip = !status.loaded && !inCI ? 'native addon not built' : false;
const native = (): FileServices => {
  const s = platformFileServices();
  assert.equal(s.available.xattrs, true, 'the native addon is loaded, on Linux');
  return s;
};

/** A temp dir on a filesystem with user xattrs; /dev/shm (tmpfs) first: it takes values over 4 KiB, ext4 does not. */
function xattrDir(t: TestContext): { dir: string; large: number } {
  for (const where of ['/dev/shm', os.tmpdir()]) {
    let dir: string;
    try {
      dir = fs.mkdtempSync(path.join(where, 'cairn-xattr-'));
    } catch {
      continue;
    }
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const probe = path.join(dir, '.probe');
    fs.writeFileSync(probe, '');
    const ok = (size: number): boolean => spawnSync('python3', ['-c', `import os; os.setxattr(${JSON.stringify(probe)}, 'user.p', b'x' * ${size})`]).status === 0;
    const large = ok(8192) ? 8192 : ok(3000) ? 3000 : 0;
    fs.rmSync(probe);
    if (large > 0) return { dir, large };
  }
  throw new Error('no filesystem with user xattr support under /dev/shm or the temp directory');
}

const names = (list: Buffer[]): string[] => list.map((b) => b.toString('latin1')).sort();

test('lsetxattr / llistxattr / lgetxattr / lremovexattr round-trip binary values, many names and a large value', { skip }, async (t) => {
  const s = native();
  const { dir, large } = xattrDir(t);
  const f = path.join(dir, 'f');
  fs.writeFileSync(f, 'data');
  const binary = Buffer.from([0, 1, 0xff, 0, 0x80, 10]);
  const big = Buffer.from(Array.from({ length: large }, (_, i) => (i * 37) & 0xff));
  await s.lsetxattr(f, 'user.bin', binary);
  await s.lsetxattr(f, Buffer.from('user.big'), big);
  await s.lsetxattr(f, 'user.empty', new Uint8Array(0));
  for (let i = 0; i < 30; i++) await s.lsetxattr(f, `user.n${i}`, Buffer.from(`v${i}`));
  const listed = names(await s.llistxattr(f));
  assert.equal(listed.length, 33);
  assert.ok(listed.includes('user.bin') && listed.includes('user.n29'));
  assert.deepEqual(await s.lgetxattr(f, 'user.bin'), binary);
  assert.deepEqual(await s.lgetxattr(f, 'user.big'), big);
  assert.deepEqual(await s.lgetxattr(f, 'user.empty'), Buffer.alloc(0));
  const all = await s.readXattrs(f);
  assert.equal(all.length, 33);
  assert.deepEqual(Buffer.from(all.find((x) => Buffer.from(x.name).toString() === 'user.big')!.value), big);
  await s.lremovexattr(f, 'user.bin');
  await assert.rejects(s.lgetxattr(f, 'user.bin'), { code: 'ENODATA', errno: os.constants.errno.ENODATA, syscall: 'lgetxattr', path: f });
  // flags: create refuses an existing name, replace a missing one.
  await assert.rejects(s.lsetxattr(f, 'user.n1', Buffer.from('x'), 'create'), { code: 'EEXIST', syscall: 'lsetxattr' });
  await assert.rejects(s.lsetxattr(f, 'user.missing', Buffer.from('x'), 'replace'), { code: 'ENODATA' });
  await s.lsetxattr(f, 'user.n1', Buffer.from('replaced'), 'replace');
  assert.equal((await s.lgetxattr(f, 'user.n1')).toString(), 'replaced');
  // The value was copied at the call: changing the caller's buffer afterwards changes nothing.
  const mine = Buffer.from('original');
  const pending = s.lsetxattr(f, 'user.copy', mine);
  mine.fill(0);
  await pending;
  assert.equal((await s.lgetxattr(f, 'user.copy')).toString(), 'original');
});

test('paths are bytes: a non-UTF-8 name works; a missing path is ENOENT with the path as given', { skip }, async (t) => {
  const s = native();
  const { dir } = xattrDir(t);
  const raw = Buffer.concat([Buffer.from(`${dir}/caf`), Buffer.from([0xe9, 0xff])]);
  fs.writeFileSync(raw, 'x');
  await s.lsetxattr(raw, 'user.k', Buffer.from('v'));
  assert.deepEqual(names(await s.llistxattr(raw)), ['user.k']);
  const missing = path.join(dir, 'missing');
  await assert.rejects(s.llistxattr(missing), { code: 'ENOENT', syscall: 'llistxattr', path: missing });
  await assert.rejects(s.readXattrs(missing), { code: 'ENOENT', syscall: 'llistxattr' });
  await assert.rejects(s.lsetxattr(raw, 'user.a\0b', Buffer.from('v')), TypeError);
  await assert.rejects(async () => s.lgetxattr(raw, ''), TypeError);
});

test('the calls never follow a symlink: the link has its own attributes, user.* on it is EPERM', { skip }, async (t) => {
  const s = native();
  const { dir } = xattrDir(t);
  const target = path.join(dir, 'target');
  const link = path.join(dir, 'link');
  fs.writeFileSync(target, 'x');
  fs.symlinkSync('target', link);
  await s.lsetxattr(target, 'user.on-target', Buffer.from('t'));
  assert.deepEqual(names(await s.llistxattr(link)).filter((n) => n.startsWith('user.')), []);
  await assert.rejects(s.lsetxattr(link, 'user.x', Buffer.from('v')), { code: 'EPERM', syscall: 'lsetxattr' });
  if (process.geteuid?.() === 0) {
    await s.lsetxattr(link, 'trusted.on-link', Buffer.from('l'));
    assert.deepEqual((await s.readXattrs(link, ['trusted.'])).map((x) => Buffer.from(x.name).toString()), ['trusted.on-link']);
    assert.deepEqual(await s.readXattrs(target, ['trusted.']), []);
  }
});

test('readXattrs selects by namespace prefix and exact name', { skip }, async (t) => {
  const s = native();
  const { dir } = xattrDir(t);
  const f = path.join(dir, 'f');
  fs.writeFileSync(f, 'x');
  await s.lsetxattr(f, 'user.a', Buffer.from('1'));
  await s.lsetxattr(f, 'user.b', Buffer.from('2'));
  const root = process.geteuid?.() === 0;
  if (root) await s.lsetxattr(f, 'trusted.c', Buffer.from('3'));
  const pick = async (sel?: 'all' | string[]) => (await s.readXattrs(f, sel)).map((x) => Buffer.from(x.name).toString()).sort();
  assert.deepEqual(await pick(['user.']), ['user.a', 'user.b']);
  assert.deepEqual(await pick(['user.b']), ['user.b']);
  assert.deepEqual(await pick(['user.a', 'trusted.']), root ? ['trusted.c', 'user.a'] : ['user.a']);
  assert.deepEqual(await pick(['user.ab']), [], 'an entry without a trailing dot is an exact name, not a prefix');
  assert.deepEqual(await pick('all'), root ? ['trusted.c', 'user.a', 'user.b'] : ['user.a', 'user.b']);
  await assert.rejects(async () => s.readXattrs(f, []), TypeError);
});

test('scanDirectory with xattrs returns each entry’s selected attributes in the same call', { skip }, async (t) => {
  const s = native();
  const { dir } = xattrDir(t);
  fs.writeFileSync(path.join(dir, 'plain'), '');
  fs.writeFileSync(path.join(dir, 'tagged'), '');
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.symlinkSync('tagged', path.join(dir, 'link'));
  await s.lsetxattr(path.join(dir, 'tagged'), 'user.t', Buffer.from([0, 1]));
  await s.lsetxattr(path.join(dir, 'tagged'), 'user.other', Buffer.from('o'));
  await s.lsetxattr(path.join(dir, 'sub'), 'user.d', Buffer.from('dir'));
  const scanned = await s.scanDirectory(dir, { xattrs: ['user.t', 'user.d'] });
  const by = new Map(scanned.map((e) => [e.name.toString(), e]));
  assert.deepEqual(by.get('tagged')!.xattrs!.map((x) => [Buffer.from(x.name).toString(), Buffer.from(x.value)]), [['user.t', Buffer.from([0, 1])]]);
  assert.deepEqual(by.get('sub')!.xattrs!.map((x) => Buffer.from(x.value).toString()), ['dir']);
  assert.equal(by.get('plain')!.xattrs, undefined);
  assert.equal(by.get('link')!.xattrs, undefined, 'the link itself, not its target');
  for (const e of scanned) assert.equal(e.xattrErrno, undefined);
  // Without the option: no attributes are read.
  for (const e of await s.scanDirectory(dir)) assert.equal(e.xattrs, undefined);
});

test('a filesystem without xattr support rejects with EOPNOTSUPP, distinguishable by code (ramfs, root only)', { skip }, async (t) => {
  const s = native();
  if (process.geteuid?.() !== 0) {
    console.warn('!! SKIPPED (not root): mounting a ramfs needs root; fs agent tests inject EOPNOTSUPP instead');
    t.skip('not root');
    return;
  }
  const where = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-ramfs-'));
  t.after(() => fs.rmSync(where, { recursive: true, force: true }));
  const m = spawnSync('mount', ['-t', 'ramfs', 'cairn-test', where], { encoding: 'utf8' });
  if (m.status !== 0) {
    if (inCI) throw new Error(`cannot mount a ramfs in CI: ${m.stderr}`);
    console.warn(`!! SKIPPED: cannot mount a ramfs here (${m.stderr.trim()})`);
    t.skip('no ramfs');
    return;
  }
  try {
    const f = path.join(where, 'f');
    fs.writeFileSync(f, 'x');
    await assert.rejects(s.lsetxattr(f, 'user.a', Buffer.from('v')), { code: 'EOPNOTSUPP', errno: os.constants.errno.EOPNOTSUPP, syscall: 'lsetxattr', path: f });
    await assert.rejects(s.lsetxattr(f, 'system.posix_acl_access', Buffer.from([2, 0, 0, 0])), { code: 'EOPNOTSUPP' });
    assert.deepEqual(await s.readXattrs(f, ['user.']), [], 'listing works there and finds nothing');
  } finally {
    spawnSync('umount', [where]); // before the temp dir is removed (t.after)
  }
});

test('degraded (no addon): the xattr calls reject with CAIRN_E_PLATFORM_UNSUPPORTED; scans ignore the option', async (t) => {
  const d = platformFileServices({ forceDegraded: true, warn: () => undefined });
  assert.equal(d.available.xattrs, false);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-xattr-degraded-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const f = path.join(dir, 'f');
  fs.writeFileSync(f, 'x');
  for (const call of [() => d.llistxattr(f), () => d.lgetxattr(f, 'user.a'), () => d.lsetxattr(f, 'user.a', Buffer.from('v')), () => d.lremovexattr(f, 'user.a'), () => d.readXattrs(f)]) {
    const err = await call().then(() => undefined, (e: unknown) => e);
    assert.ok(isCairnError(err));
    assert.equal(err.code, 'CAIRN_E_PLATFORM_UNSUPPORTED');
    assert.match(err.message, /xattrs not supported without the native addon/);
    assert.equal(err.fields.path, f);
  }
  const scanned = await d.scanDirectory(dir, { xattrs: ['user.'] });
  assert.deepEqual(scanned.map((e) => [e.name.toString(), e.xattrs, e.xattrErrno]), [['f', undefined, undefined]]);
});
