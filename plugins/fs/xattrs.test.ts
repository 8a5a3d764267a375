// The fs agent's extended attributes, hook by hook over the native platform:
// which names a backup takes (user.* always; security.*, trusted.*, ACLs as
// root) on files, directories and symlinks but not on a hard link's later
// members; a restore sets them after data, owner and mode and before times;
// a filesystem without xattr support (injected EOPNOTSUPP on a real tree) is
// ONE warning per job, backup and restore; a host without the addon or
// before API 1.4 says so once. Native parts skip loudly without the addon,
// except under CI=true where they fail.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { FileEntry, PlatformFileServices, Xattr } from '../../plugin-api/index.js';
import { nativeStatus, platformFileServices } from '../../native/index.js';
import { createAgent } from './index.js';
import { backupAll, tempDir, testContext, type Backed } from './test-fixture.js';
import { fsOptions } from './manifest.js';
import { XattrRestorer } from './xattr-restore.js';
import { ROOT_XATTRS, USER_XATTRS, settableWithoutRoot, xattrSelection } from './xattr-policy.js';

const status = nativeStatus();
const inCI = process.env.CI === 'true';
if (!status.loaded && !inCI) console.error(`\n*** SKIPPING fs xattr tests over the addon: it is not loaded (${status.error}). ***\n`);
const skip = !status.loaded && !inCI ? 'native addon not built' : false;
const API_14 = { major: 1, minor: 4 };
const root = process.geteuid?.() === 0;

function dirFor(t: TestContext, tag: string): string {
  const d = tempDir(tag);
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

const nameOf = (x: Xattr): string => Buffer.from(x.name).toString('latin1');
const byPath = (entries: Backed[], root: string) => new Map(entries.map((b) => [path.relative(root, Buffer.from(b.entry.path).toString()) || '.', b.entry]));

/** A tree with attributes on a file, a directory, a hard-link pair and (root) a symlink. */
async function tree(t: TestContext, p: PlatformFileServices): Promise<string> {
  const src = dirFor(t, 'xsrc');
  fs.writeFileSync(path.join(src, 'f'), 'data');
  fs.writeFileSync(path.join(src, 'plain'), 'none');
  fs.mkdirSync(path.join(src, 'd'));
  fs.writeFileSync(path.join(src, 'h1'), 'linked');
  fs.linkSync(path.join(src, 'h1'), path.join(src, 'h2'));
  fs.symlinkSync('f', path.join(src, 'l'));
  await p.lsetxattr!(path.join(src, 'f'), 'user.a', Buffer.from([0, 1, 2]));
  await p.lsetxattr!(path.join(src, 'd'), 'user.dir', Buffer.from('dv'));
  await p.lsetxattr!(path.join(src, 'h1'), 'user.h', Buffer.from('hv'));
  if (root) {
    await p.lsetxattr!(path.join(src, 'f'), 'trusted.t', Buffer.from('tv'));
    await p.lsetxattr!(path.join(src, 'l'), 'trusted.l', Buffer.from('lv'));
  }
  return src;
}

test('the names backed up: user.* always; security.*, trusted.* and the POSIX ACLs only as root (option xattrs, on by default)', () => {
  assert.equal(fsOptions({}).xattrs, true);
  assert.equal(fsOptions({ xattrs: false }).xattrs, false);
  assert.deepEqual(xattrSelection(false), USER_XATTRS);
  assert.deepEqual(xattrSelection(true), ROOT_XATTRS);
  assert.deepEqual(ROOT_XATTRS, ['user.', 'security.', 'trusted.', 'system.posix_acl_access', 'system.posix_acl_default']);
  assert.equal(settableWithoutRoot(Buffer.from('user.x')), true);
  assert.equal(settableWithoutRoot(Buffer.from('system.posix_acl_default')), true);
  assert.equal(settableWithoutRoot(Buffer.from('trusted.x')), false);
  assert.equal(settableWithoutRoot(Buffer.from('security.selinux')), false);
});

test('backup: entries carry their attributes (file, dir, symlink as root), not a hard link’s later member', { skip }, async (t) => {
  const p = platformFileServices();
  const src = await tree(t, p);
  for (const options of [{ xattrs: true }, { xattrs: true, syncIo: false }]) {
    const { entries, messages } = await backupAll([src], { platform: p, api: API_14, options });
    assert.deepEqual(messages, []);
    const m = byPath(entries, src);
    assert.deepEqual(m.get('f')!.xattrs!.map(nameOf).sort(), root ? ['trusted.t', 'user.a'] : ['user.a']);
    assert.deepEqual(Buffer.from(m.get('f')!.xattrs!.find((x) => nameOf(x) === 'user.a')!.value), Buffer.from([0, 1, 2]));
    assert.deepEqual(m.get('d')!.xattrs!.map(nameOf), ['user.dir']);
    assert.equal(m.get('plain')!.xattrs, undefined);
    assert.deepEqual(m.get('h1')!.xattrs!.map(nameOf), ['user.h']);
    assert.equal(m.get('h2')!.kind, 'hardlink');
    assert.equal(m.get('h2')!.xattrs, undefined);
    if (root) assert.deepEqual(m.get('l')!.xattrs!.map(nameOf), ['trusted.l']);
  }
  // The root itself (not from a scan) gets its attributes too; `xattrs: false` turns it all off.
  await p.lsetxattr!(src, 'user.root', Buffer.from('r'));
  const again = byPath((await backupAll([src], { platform: p, api: API_14, options: { xattrs: true } })).entries, src);
  assert.deepEqual(again.get('.')!.xattrs!.map(nameOf), ['user.root']);
  const off = await backupAll([src], { platform: p, api: API_14, options: { xattrs: false } });
  assert.ok(off.entries.every((b) => b.entry.xattrs === undefined));
});

/** The native platform with every scan reporting `errno` for every entry's attributes. */
function failingScans(p: PlatformFileServices, errno: string): PlatformFileServices {
  return {
    ...p,
    available: p.available,
    scanDirectory: async (dir, opts) => (await p.scanDirectory!(dir, opts)).map((e) => (opts?.xattrs && e.stat ? { ...e, xattrs: undefined, xattrErrno: errno, xattrSyscall: 'llistxattr' } : e)),
    readXattrs: () => Promise.reject(Object.assign(new Error(`${errno}: injected`), { code: errno, syscall: 'llistxattr' })),
  };
}

test('backup: a filesystem without xattr support (EOPNOTSUPP on every entry) is ONE warning for the job; another errno is one per file', { skip }, async (t) => {
  const p = platformFileServices();
  const src = dirFor(t, 'xnosup');
  for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(src, `f${i}`), `file ${i}`);
  fs.mkdirSync(path.join(src, 'sub'));
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(src, 'sub', `g${i}`), `file ${i}`);
  const r = await backupAll([src], { platform: failingScans(p, 'EOPNOTSUPP'), api: API_14, options: { xattrs: true } });
  assert.equal(r.entries.length, 72, 'every file is still backed up');
  assert.deepEqual(r.messages.map((m) => [m.level, m.code]), [['warning', 'CAIRN_E_FS_XATTRS_UNSUPPORTED']]);
  assert.match(r.messages[0].text, /filesystem without xattr support \(EOPNOTSUPP\)/);
  assert.equal((r.state as { counters: { warnings: number } }).counters.warnings, 1);
  const denied = await backupAll([path.join(src, 'sub')], { platform: failingScans(p, 'EACCES'), api: API_14, options: { xattrs: true } });
  assert.equal(denied.messages.length, 21, 'the root and its 20 files');
  assert.ok(denied.messages.every((m) => m.code === 'CAIRN_E_FS_XATTR_FAILED' && /EACCES/.test(m.text)));
});

test('backup: without the addon, or on a host before API 1.4, one warning says extended attributes are not backed up', async (t) => {
  const src = dirFor(t, 'xhost');
  for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(src, `f${i}`), 'x');
  const degraded = platformFileServices({ forceDegraded: true, warn: () => undefined });
  const a = await backupAll([src], { platform: degraded, api: API_14, options: { xattrs: true } });
  assert.deepEqual(a.messages.map((m) => m.code), ['CAIRN_E_FS_XATTRS_UNSUPPORTED']);
  assert.match(a.messages[0].text, /xattrs not supported without the native addon/);
  const old = await backupAll([src], { platform: degraded, api: { major: 1, minor: 3 }, options: { xattrs: true } });
  assert.deepEqual(old.messages.map((m) => m.code), ['CAIRN_E_FS_XATTRS_UNSUPPORTED']);
  assert.match(old.messages[0].text, /plugin API 1\.3/);
  const off = await backupAll([src], { platform: degraded, api: API_14, options: { xattrs: false } });
  assert.deepEqual(off.messages, []);
});

function entry(p: string, kind: FileEntry['kind'], xattrs: Xattr[], data = ''): FileEntry {
  const mode = kind === 'dir' ? 0o040750 : kind === 'symlink' ? 0o120777 : kind === 'fifo' ? 0o010640 : 0o100640;
  const t = 1_600_000_000_123_456_789n;
  return {
    path: Buffer.from(p),
    kind,
    stat: { mode, uid: 0, gid: 0, size: data.length, mtimeNs: t, atimeNs: t, ctimeNs: 0n, dev: 0n, ino: 0n, nlink: 1, rdev: 0 },
    streams: kind === 'file' ? [{ index: 0, name: 'data', layout: 'sequential', size: data.length }] : [],
    linkTarget: kind === 'symlink' ? Buffer.from('f') : undefined,
    xattrs,
  };
}

/** Restores `entries` through the hooks (one writeData per file with data). */
async function restoreAll(where: string, p: PlatformFileServices, entries: Array<{ e: FileEntry; data?: Buffer }>) {
  const { ctx, messages } = testContext(p, API_14);
  const agent = createAgent(ctx);
  await agent.prepareRestore({ jobId: 1, where, replace: 'always', options: {} });
  for (const { e, data } of entries) {
    const action = await agent.createFile(e);
    if (action === 'extract' && data) await agent.writeData(e, e.streams[0], data);
    await agent.endFile(e, true);
  }
  await agent.endRestore();
  return messages;
}

const xa = (name: string, value: string): Xattr => ({ name: Buffer.from(name), value: Buffer.from(value) });

test('restore: attributes land on small and large files, directories, fifos and (root) symlinks, and the times are the backup’s', { skip }, async (t) => {
  const p = platformFileServices();
  const where = dirFor(t, 'xwhere');
  const big = Buffer.alloc(600 * 1024, 3);
  const list = [
    { e: entry('/s', 'dir', [xa('user.dir', 'd')]) },
    { e: entry('/s/small', 'file', [xa('user.a', 'small')], 'tiny'), data: Buffer.from('tiny') },
    { e: entry('/s/plain', 'file', [], 'no attrs'), data: Buffer.from('no attrs') },
    { e: { ...entry('/s/big', 'file', [xa('user.b', 'big')]), stat: { ...entry('/s/big', 'file', []).stat, size: big.length }, streams: [{ index: 0, name: 'data', layout: 'sequential' as const, size: big.length }] }, data: big },
    { e: entry('/s/fifo', 'fifo', [xa('user.never', 'fifo')]) },
    ...(root ? [{ e: entry('/s/l', 'symlink', [xa('trusted.l', 'link')]) }] : []),
  ];
  const messages = await restoreAll(where, p, list);
  const fifoRefused = messages.filter((m) => m.code === 'CAIRN_E_FS_XATTR_FAILED');
  assert.deepEqual(fifoRefused.map((m) => m.path), ['/s/fifo'], 'user.* on a fifo is refused by Linux (EPERM): one per-file warning');
  assert.equal(messages.length, 1);
  const at = (rel: string) => path.join(where, 's', rel);
  assert.equal((await p.lgetxattr!(at('small'), 'user.a')).toString(), 'small');
  assert.equal((await p.lgetxattr!(at('big'), 'user.b')).toString(), 'big');
  assert.equal((await p.lgetxattr!(path.join(where, 's'), 'user.dir')).toString(), 'd');
  assert.deepEqual((await p.readXattrs!(at('plain'), ['user.'])), []);
  if (root) assert.equal((await p.lgetxattr!(at('l'), 'trusted.l')).toString(), 'link');
  for (const rel of ['small', 'big', 'fifo', ...(root ? ['l'] : [])]) {
    assert.equal(fs.lstatSync(at(rel), { bigint: true }).mtimeNs, 1_600_000_000_123_456_789n, rel);
  }
  assert.equal(fs.lstatSync(path.join(where, 's'), { bigint: true }).mtimeNs, 1_600_000_000_123_456_789n);
  assert.equal(fs.statSync(at('small')).mode & 0o7777, 0o640);
});

test('restore: a target filesystem without xattr support (EOPNOTSUPP from lsetxattr) is ONE warning for the job; the files are restored', { skip }, async (t) => {
  const p = platformFileServices();
  let calls = 0;
  const noXattrs: PlatformFileServices = {
    ...p,
    available: p.available,
    lsetxattr: () => {
      calls++;
      return Promise.reject(Object.assign(new Error('EOPNOTSUPP: Operation not supported, lsetxattr'), { code: 'EOPNOTSUPP', errno: 95, syscall: 'lsetxattr' }));
    },
  };
  const where = dirFor(t, 'xnowhere');
  const list = [{ e: entry('/n', 'dir', [xa('user.dir', 'd')]) }];
  for (let i = 0; i < 40; i++) list.push({ e: entry(`/n/f${i}`, 'file', [xa('user.a', String(i)), xa('user.b', 'x')], `data ${i}`), data: Buffer.from(`data ${i}`) } as (typeof list)[number]);
  const messages = await restoreAll(where, noXattrs, list);
  assert.deepEqual(messages.map((m) => [m.level, m.code]), [['warning', 'CAIRN_E_FS_XATTRS_UNSUPPORTED']]);
  assert.match(messages[0].text, /filesystem without xattr support \(EOPNOTSUPP\).*not restored/);
  assert.equal(calls, 41, 'one attempt per entry: the first refusal of a file ends its attributes');
  for (let i = 0; i < 40; i++) assert.equal(fs.readFileSync(path.join(where, 'n', `f${i}`), 'utf8'), `data ${i}`);
});

test('restore without the addon: one warning for the job, files restored', async (t) => {
  const degraded = platformFileServices({ forceDegraded: true, warn: () => undefined });
  const where = dirFor(t, 'xdegraded');
  const list = Array.from({ length: 10 }, (_, i) => ({ e: entry(`/g${i}`, 'file', [xa('user.a', 'v')], 'abc'), data: Buffer.from('abc') }));
  const messages = await restoreAll(where, degraded, list);
  assert.deepEqual(messages.map((m) => m.code), ['CAIRN_E_FS_XATTRS_UNSUPPORTED']);
  assert.match(messages[0].text, /xattrs not supported without the native addon/);
  assert.equal(fs.readFileSync(path.join(where, 'g9'), 'utf8'), 'abc');
});

test('restore as non-root: user.* and ACLs are set, security.* and trusted.* skipped with one info line per job', { skip }, async (t) => {
  const p = platformFileServices();
  const where = dirFor(t, 'xnonroot');
  const { ctx, messages } = testContext(p, API_14);
  const restorer = new XattrRestorer(ctx, true, false);
  for (const name of ['a', 'b']) {
    const f = path.join(where, name);
    fs.writeFileSync(f, name);
    await restorer.apply(Buffer.from(f), entry(`/${name}`, 'file', [xa('user.kept', name), xa('trusted.skipped', 'x'), xa('security.skipped', 'y')]));
    assert.deepEqual((await p.readXattrs!(f, ['user.', 'trusted.', 'security.'])).map(nameOf), ['user.kept']);
  }
  assert.deepEqual(messages.map((m) => [m.level, m.code]), [['info', 'CAIRN_E_FS_XATTRS_UNSUPPORTED']]);
  assert.match(messages[0].text, /only when running as root \(first skipped: trusted\.skipped, security\.skipped\)/);
});
