import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { comparePathsTreeOrder } from '../../plugin-api/index.js';
import { platformFileServices } from '../../native/index.js';
import { backupAll, ioModes, rel, tempDir, toBase, type BackupAllOptions } from './test-fixture.js';

// Every backup test runs in each I/O mode: native batched calls, sync node:fs, async node:fs.
for (const mode of ioModes(platformFileServices())) {
  const backup = (include: string[], o: BackupAllOptions = {}) =>
    backupAll(include, { ...o, platform: mode.platform, options: { ...mode.options, ...o.options } });
  const t = (name: string) => `[${mode.name}] ${name}`;

  test(t('walk order is tree order: a/b before a-b, names as bytes'), { skip: mode.skip }, async () => {
    const root = tempDir('order');
    try {
      for (const d of ['a', 'a-b', 'a/b', 'a/b/c', 'B', 'z']) fs.mkdirSync(path.join(root, d), { recursive: true });
      for (const f of ['a/x', 'a-b/y', 'a.txt', 'a/b/c/d', 'B/q']) fs.writeFileSync(path.join(root, f), f);
      fs.writeFileSync(Buffer.concat([Buffer.from(root + '/'), Buffer.from([0xff, 0x41])]), 'non-utf8');
      fs.symlinkSync('dangling-target', path.join(root, 'z/link'));
      const { entries, messages } = await backup([root]);
      const paths = entries.map((e) => e.entry.path);
      const sorted = [...paths].sort(comparePathsTreeOrder);
      assert.deepEqual(paths.map((p) => Buffer.from(p).toString('hex')), sorted.map((p) => Buffer.from(p).toString('hex')));
      assert.deepEqual(entries.map((e) => rel(root, e.entry.path)).slice(0, 9), ['.', 'B', 'B/q', 'a', 'a/b', 'a/b/c', 'a/b/c/d', 'a/x', 'a-b']);
      const link = entries.find((e) => e.entry.kind === 'symlink')!;
      assert.equal(Buffer.from(link.entry.linkTarget!).toString(), 'dangling-target');
      assert.ok(entries.some((e) => Buffer.from(e.entry.path).subarray(-2).equals(Buffer.from([0xff, 0x41]))));
      assert.deepEqual(messages, []);
      const x = entries.find((e) => rel(root, e.entry.path) === 'a/x')!;
      assert.equal(Buffer.concat(x.data).toString(), 'a/x');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test(t('kinds: empty file, fifo, hard links, setuid and sticky modes, exclude globs'), { skip: mode.skip }, async () => {
    const root = tempDir('kinds');
    try {
      fs.writeFileSync(path.join(root, 'empty'), '');
      fs.writeFileSync(path.join(root, 'h1'), 'linked');
      fs.linkSync(path.join(root, 'h1'), path.join(root, 'h2'));
      fs.writeFileSync(path.join(root, 'suid'), '#!');
      fs.chmodSync(path.join(root, 'suid'), 0o4755);
      fs.mkdirSync(path.join(root, 'sticky'));
      fs.chmodSync(path.join(root, 'sticky'), 0o1777);
      fs.mkdirSync(path.join(root, 'cache'));
      fs.writeFileSync(path.join(root, 'cache/big'), 'x');
      fs.writeFileSync(path.join(root, 'note.tmp'), 'x');
      const { execFileSync } = await import('node:child_process');
      execFileSync('mkfifo', [path.join(root, 'pipe')]);
      const { entries, messages } = await backup([root], { exclude: ['cache', '*.tmp'] });
      const by = new Map(entries.map((e) => [rel(root, e.entry.path), e]));
      assert.equal(by.get('empty')!.entry.kind, 'file');
      assert.equal(by.get('empty')!.data.length, 0);
      assert.equal(by.get('h1')!.entry.kind, 'file');
      assert.equal(by.get('h2')!.entry.kind, 'hardlink');
      assert.equal(Buffer.from(by.get('h2')!.entry.hardlinkTarget!).toString(), path.join(root, 'h1'));
      assert.equal(by.get('h2')!.entry.streams.length, 0);
      assert.equal(by.get('suid')!.entry.stat.mode & 0o7777, 0o4755);
      assert.equal(by.get('sticky')!.entry.stat.mode & 0o7777, 0o1777);
      assert.equal(by.get('pipe')!.entry.kind, 'fifo');
      assert.equal(by.has('cache'), false);
      assert.equal(by.has('cache/big'), false);
      assert.equal(by.has('note.tmp'), false);
      assert.ok(by.get('h1')!.entry.stat.mtimeNs > 0n);
      assert.deepEqual(messages, []);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test(t('incremental merge: modified, added and deleted are emitted, unchanged are not; excluded paths are not deleted'), { skip: mode.skip }, async () => {
    const root = tempDir('incr');
    try {
      fs.mkdirSync(path.join(root, 'd/sub'), { recursive: true });
      for (const f of ['keep', 'change', 'gone', 'd/sub/gone2', 'd/excl.o']) fs.writeFileSync(path.join(root, f), f);
      const full = await backup([root]);
      const base = toBase(full.entries);
      // a base path outside the roots is never "deleted"
      base.push({ path: Buffer.from('/zzz-outside/x'), kind: 'file', size: 1, mtimeNs: 1n, ctimeNs: 1n, ino: 1n, dev: 1n, mode: 0o100644 });
      fs.writeFileSync(path.join(root, 'change'), 'changed!');
      fs.rmSync(path.join(root, 'gone'));
      fs.rmSync(path.join(root, 'd/sub'), { recursive: true });
      fs.writeFileSync(path.join(root, 'new'), 'new');
      const inc = await backup([root], { level: 'incremental', base, exclude: ['*.o'] });
      const got = inc.entries.map((e) => `${e.entry.kind}:${rel(root, e.entry.path)}`);
      assert.deepEqual(got, ['dir:.', 'file:change', 'dir:d', 'deleted:d/sub', 'deleted:d/sub/gone2', 'deleted:gone', 'file:new']);
      assert.equal(Buffer.concat(inc.entries[1].data).toString(), 'changed!');
      const del = inc.entries.find((e) => e.entry.kind === 'deleted')!;
      assert.equal(del.entry.stat.size, 0);
      assert.deepEqual(del.entry.streams, []);
      // no change at all: nothing emitted
      const again = await backup([root], { level: 'incremental', base: toBase((await backup([root])).entries) });
      assert.deepEqual(again.entries.map((e) => rel(root, e.entry.path)), []);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test(t('a missing include root fails the job; a root no longer a mount point fails too'), { skip: mode.skip }, async () => {
    const root = tempDir('missing');
    fs.rmSync(root, { recursive: true });
    await assert.rejects(backup([root]), { code: 'CAIRN_E_FS_ROOT_MISSING' });
    const other = tempDir('mount');
    try {
      const state = { roots: { [other]: { dev: '1', wasMountPoint: true } } };
      await assert.rejects(backup([other], { state }), { code: 'CAIRN_E_FS_ROOT_NOT_MOUNTED' });
      const ok = await backup([other]);
      const roots = (ok.state as { roots: Record<string, { wasMountPoint: boolean }> }).roots;
      assert.equal(roots[other].wasMountPoint, false);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  test(t('an unreadable file is a warning, not a failure, and the rest is backed up'), { skip: mode.skip }, async () => {
    const root = tempDir('eacces');
    try {
      fs.chmodSync(root, 0o755);
      fs.writeFileSync(path.join(root, 'a'), 'a');
      fs.writeFileSync(path.join(root, 'b'), 'b');
      fs.chmodSync(path.join(root, 'b'), 0o644);
      fs.chmodSync(path.join(root, 'a'), 0);
      // Root reads every file, so as root the backup runs in a child process as nobody (uid 65534).
      const { paths, codes } = process.getuid?.() === 0 ? backupAsNobody(mode.name, root) : await (async () => {
        const { entries, messages } = await backup([root]);
        return { paths: entries.map((e) => rel(root, e.entry.path)), codes: messages.map((m) => m.code) };
      })();
      assert.deepEqual(paths, ['.', 'b']);
      assert.equal(codes[0], 'CAIRN_E_FS_UNREADABLE');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
}

/** Runs the fs agent's backup of `root` as uid/gid 65534 in a child process; returns the entries' relative paths and the message codes. */
function backupAsNobody(modeName: string, root: string): { paths: string[]; codes: Array<string | undefined> } {
  const here = new URL('.', import.meta.url).pathname;
  const script = `
    const { backupAll, ioModes, rel } = await import(${JSON.stringify(path.join(here, 'test-fixture.js'))});
    const { platformFileServices } = await import(${JSON.stringify(path.join(here, '../../native/index.js'))});
    const mode = ioModes(platformFileServices({ warn: () => {} })).find((m) => m.name === ${JSON.stringify(modeName)});
    const { entries, messages } = await backupAll([${JSON.stringify(root)}], { platform: mode.platform, options: mode.options });
    process.stdout.write(JSON.stringify({ paths: entries.map((e) => rel(${JSON.stringify(root)}, e.entry.path)), codes: messages.map((m) => m.code) }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: '/' });
  assert.equal(r.status, 0, `child as nobody failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { paths: string[]; codes: Array<string | undefined> };
}
