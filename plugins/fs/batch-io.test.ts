import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { GlobSet, type EntryStat, type FileEntry, type ReadFileRequest, type ReadFileResult, type ScannedEntry } from '../../plugin-api/index.js';
import { platformFileServices } from '../../native/index.js';
import type { Candidate } from './entry-selector.js';
import { toEntryStat } from './fs-calls.js';
import { ReadAhead } from './read-ahead.js';
import { GROUPS_IN_FLIGHT, GROUP_FILES } from './small-file-batch.js';
import { backupAll, ioModes, rel, tempDir, toBase, type Backed } from './test-fixture.js';
import { walkTree, type WalkItem } from './tree-walker.js';

const native = platformFileServices();
const modes = ioModes(native);
const noBatch = native.available.batch === true ? false : 'native batched services not available (addon not built?)';

/** What must be equal whatever the I/O mode: everything but atime (reading moves it) and the data's digest. */
function summary(root: string, entries: Backed[]): string[] {
  return entries.map(({ entry: e, data }) => {
    const { atimeNs: _atime, ...stat } = e.stat;
    const digest = crypto.createHash('sha256').update(Buffer.concat(data)).digest('hex').slice(0, 16);
    const extra = [e.hardlinkTarget ? rel(root, e.hardlinkTarget) : '', e.linkTarget ? Buffer.from(e.linkTarget).toString() : ''];
    return [e.kind, rel(root, e.path), JSON.stringify(stat, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)), JSON.stringify(e.streams), digest, ...extra].join(' ');
  });
}

test('every I/O mode backs up the same entries and bytes: groups, large, sparse, links, excludes, incrementals', { skip: noBatch }, async () => {
  const root = tempDir('modes');
  try {
    for (let d = 0; d < 3; d++) {
      const dir = path.join(root, `d${d}`);
      fs.mkdirSync(dir);
      // More files than one readFiles group, sizes 0..20 KiB.
      for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(dir, `f${i}`), Buffer.alloc((i * 977 + d * 131) % (20 * 1024), i & 0xff));
    }
    fs.writeFileSync(path.join(root, 'large'), crypto.randomBytes(300 * 1024));
    const fd = fs.openSync(path.join(root, 'sparse'), 'w');
    fs.writeSync(fd, Buffer.alloc(4096, 7), 0, 4096, 1024 * 1024);
    fs.ftruncateSync(fd, 2 * 1024 * 1024);
    fs.closeSync(fd);
    fs.linkSync(path.join(root, 'd0/f5'), path.join(root, 'hard'));
    fs.symlinkSync('d1/f1', path.join(root, 'link'));
    execFileSync('mkfifo', [path.join(root, 'fifo')]);
    fs.mkdirSync(path.join(root, 'skip.d'));
    fs.writeFileSync(path.join(root, 'skip.d/x'), 'x');
    fs.writeFileSync(Buffer.from(`${root}/caf\xe9`, 'latin1'), 'latin1 name');

    const fulls = new Map<string, Backed[]>();
    const seen: Record<string, string[]> = {};
    for (const m of modes) {
      const r = await backupAll([root], { platform: m.platform, options: m.options, exclude: ['*.d'] });
      assert.deepEqual(r.messages, [], m.name);
      fulls.set(m.name, r.entries);
      seen[m.name] = summary(root, r.entries);
    }
    assert.equal(seen.batch.length, 1 + 3 * 301 + 6);
    assert.deepEqual(seen.batch, seen.syncIo);
    assert.deepEqual(seen.batch, seen.async);
    const sparse = fulls.get('batch')!.find((b) => rel(root, b.entry.path) === 'sparse')!;
    assert.equal(sparse.entry.streams[0].layout, 'sparse');

    fs.writeFileSync(path.join(root, 'd1/f7'), 'changed');
    fs.rmSync(path.join(root, 'd2'), { recursive: true });
    fs.writeFileSync(path.join(root, 'd0/new'), 'new');
    const incs: Record<string, string[]> = {};
    for (const m of modes) {
      const base = toBase(fulls.get(m.name)!);
      const r = await backupAll([root], { platform: m.platform, options: m.options, exclude: ['*.d'], level: 'incremental', base });
      assert.deepEqual(r.messages, [], m.name);
      incs[m.name] = summary(root, r.entries);
    }
    assert.deepEqual(incs.batch, incs.syncIo);
    assert.deepEqual(incs.batch, incs.async);
    const kinds = incs.batch.map((l) => l.split(' ').slice(0, 2).join(' '));
    assert.deepEqual(kinds.slice(0, 6), ['dir .', 'dir d0', 'file d0/new', 'file d1/f7', 'deleted d2', 'deleted d2/f0']);
    assert.equal(kinds.length, 4 + 301);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

function candidate(p: string, st: EntryStat): Candidate {
  const entry: FileEntry = { path: Buffer.from(p), kind: 'file', stat: { ...st }, streams: [{ index: 0, name: 'data', layout: 'sequential', size: st.size }] };
  return { entry, stat: st };
}

async function* fromArray<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

const degraded = platformFileServices({ forceDegraded: true, warn: () => undefined });

for (const [name, readFiles] of [
  ['native', native.readFiles!],
  ['degraded', degraded.readFiles!],
] as const) {
  test(`[${name} readFiles] a small file changed, vanished or swapped after the walk is a warning and skipped`, { skip: name === 'native' ? noBatch : false }, async () => {
    const root = tempDir('changed');
    try {
      const names = ['same', 'grew', 'shrank', 'retimed', 'gone', 'symlinked', 'noperm', 'last'];
      for (const n of names) fs.writeFileSync(path.join(root, n), `content of ${n}`);
      fs.chmodSync(path.join(root, 'noperm'), 0); // before the lstat: only the permission differs (root still reads it)
      const cands = names.map((n) => candidate(path.join(root, n), toEntryStat(fs.lstatSync(path.join(root, n), { bigint: true }))));
      fs.appendFileSync(path.join(root, 'grew'), '+');
      fs.truncateSync(path.join(root, 'shrank'), 3);
      fs.utimesSync(path.join(root, 'retimed'), 1, 1);
      fs.rmSync(path.join(root, 'gone'));
      fs.rmSync(path.join(root, 'symlinked'));
      fs.symlinkSync('same', path.join(root, 'symlinked'));
      const root0 = process.getuid?.() === 0;
      const warnings: string[] = [];
      const ra = new ReadAhead(fromArray(cands), (_t, p, code) => warnings.push(`${rel(root, p)} ${code}`), { readFiles });
      const got: string[] = [];
      for (let p = await ra.next(); p !== null; p = await ra.next()) got.push(`${rel(root, p.entry.path)}=${p.data!.toString()}`);
      await ra.drain();
      assert.deepEqual(got, ['same=content of same', ...(root0 ? ['noperm=content of noperm'] : []), 'last=content of last']);
      assert.deepEqual(warnings, [
        'grew CAIRN_E_FS_FILE_CHANGED',
        'shrank CAIRN_E_FS_FILE_CHANGED',
        'retimed CAIRN_E_FS_FILE_CHANGED',
        'gone CAIRN_E_FS_VANISHED',
        'symlinked CAIRN_E_FS_FILE_CHANGED',
        ...(root0 ? [] : ['noperm CAIRN_E_FS_UNREADABLE']),
      ]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
}

test('batched reads keep order, group at most GROUP_FILES files, run at most GROUPS_IN_FLIGHT calls, and drain cancels the rest', async () => {
  const root = tempDir('groups');
  try {
    const cands: Candidate[] = [];
    for (let i = 0; i < 2000; i++) {
      const p = path.join(root, `f${String(i).padStart(4, '0')}`);
      fs.writeFileSync(p, `file ${i}`);
      cands.push(candidate(p, toEntryStat(fs.lstatSync(p, { bigint: true }))));
    }
    let inFlight = 0;
    let maxInFlight = 0;
    const groups: number[] = [];
    const counting = async (files: readonly ReadFileRequest[], o?: { readonly maxBytes?: number }): Promise<ReadFileResult[]> => {
      groups.push(files.length);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        return await degraded.readFiles!(files, o);
      } finally {
        inFlight--;
      }
    };
    const ra = new ReadAhead(fromArray(cands), () => assert.fail('no warning expected'), { readFiles: counting });
    for (let i = 0; i < 1500; i++) assert.equal((await ra.next())!.data!.toString(), `file ${i}`);
    await ra.drain();
    assert.ok(groups.every((n) => n <= GROUP_FILES), String(groups));
    assert.ok(maxInFlight <= GROUPS_IN_FLIGHT, String(maxInFlight));
    const read = groups.reduce((a, b) => a + b, 0);
    assert.ok(read >= 1500 && read <= 2000, `read ${read} files for 1500 taken`);
    assert.ok(groups.length < 20, `${groups.length} calls`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('the batched walk: vanished and unreadable entries, unlistable directories and other filesystems', async () => {
  const st = (mode: number, dev: bigint, ino: bigint): EntryStat => ({ mode, uid: 0, gid: 0, size: 0, mtimeNs: 1n, atimeNs: 1n, ctimeNs: 1n, dev, ino, nlink: 1, rdev: 0, blocks: 0 });
  const dir = (dev: bigint, ino: bigint): EntryStat => st(0o040755, dev, ino);
  const listings: Record<string, ScannedEntry[]> = {
    '/r': [
      { name: Buffer.from('a'), stat: st(0o100644, 1n, 2n) },
      { name: Buffer.from('gone'), stat: null, errno: 'ENOENT' },
      { name: Buffer.from('locked'), stat: dir(1n, 3n) },
      { name: Buffer.from('mnt'), stat: dir(2n, 4n) },
      { name: Buffer.from('secret'), stat: null, errno: 'EACCES' },
      { name: Buffer.from('sub'), stat: dir(1n, 5n) },
    ],
    '/r/sub': [{ name: Buffer.from('b'), stat: st(0o100644, 1n, 6n) }],
  };
  const scanned: string[] = [];
  const scanDirectory = async (d: Buffer): Promise<ScannedEntry[]> => {
    scanned.push(d.toString());
    const l = listings[d.toString()];
    if (l) return l;
    throw Object.assign(new Error('denied'), { code: 'EACCES', syscall: 'opendir' });
  };
  const warnings: string[] = [];
  const items: WalkItem[] = [];
  for await (const w of walkTree({
    roots: [{ path: Buffer.from('/r'), stat: dir(1n, 1n) }],
    exclude: new GlobSet([]),
    oneFileSystem: true,
    signal: new AbortController().signal,
    warn: (_t, p, code) => warnings.push(`${p.toString()} ${code}`),
    scanDirectory,
  })) items.push(w);
  assert.deepEqual(
    items.map((w) => `${w.type} ${w.path.toString()}${w.type === 'entry' && w.pruneChildren ? ' (pruned)' : ''}`),
    ['entry /r', 'entry /r/a', 'entry /r/locked (pruned)', 'entry /r/mnt (pruned)', 'prune /r/secret', 'entry /r/sub', 'entry /r/sub/b'],
  );
  assert.deepEqual(warnings, ['/r/gone CAIRN_E_FS_VANISHED', '/r/locked CAIRN_E_FS_UNREADABLE', '/r/secret CAIRN_E_FS_UNREADABLE']);
  assert.deepEqual(scanned, ['/r', '/r/locked', '/r/sub']);
});
