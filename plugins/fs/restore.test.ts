import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { EntryStat, FileEntry } from '../../plugin-api/index.js';
import { createAgent } from './index.js';
import { toEntryStat } from './fs-calls.js';
import { ReadAhead } from './read-ahead.js';
import { backupAll, tempDir, testContext } from './test-fixture.js';

function entry(p: string, kind: FileEntry['kind'], extra: Partial<FileEntry> = {}): FileEntry {
  const mode = kind === 'dir' ? 0o040755 : kind === 'symlink' ? 0o120777 : 0o100644;
  return {
    path: Buffer.from(p),
    kind,
    stat: { mode, uid: 0, gid: 0, size: 4, mtimeNs: 1_600_000_000_000_000_000n, atimeNs: 1_600_000_000_000_000_000n, ctimeNs: 0n, dev: 0n, ino: 0n, nlink: 1, rdev: 0 },
    streams: kind === 'file' ? [{ index: 0, name: 'data', layout: 'sequential', size: 4 }] : [],
    ...extra,
  };
}

test('restore refuses ../ paths and never follows a symlink the backup planted', async () => {
  const where = tempDir('where');
  const outside = tempDir('outside');
  try {
    const { ctx, messages } = testContext();
    const agent = createAgent(ctx);
    await agent.prepareRestore({ jobId: 1, where, replace: 'always', options: {} });
    // A name no one else uses beside `where`: a stray /tmp/x of another program must not fail the test.
    const escape = `${path.basename(where)}-escaped`;
    assert.equal(await agent.createFile(entry(`../${escape}`, 'file')), 'skip');
    assert.equal(await agent.createFile(entry(`/src/../../${escape}`, 'file')), 'skip');
    assert.equal(await agent.createFile(entry('/src', 'dir')), 'created');
    assert.equal(await agent.createFile(entry('/src/evil', 'symlink', { linkTarget: Buffer.from(outside) })), 'created');
    const file = entry('/src/evil/file', 'file');
    assert.equal(await agent.createFile(file), 'skip');
    await agent.endRestore();
    assert.deepEqual(fs.readdirSync(outside), []);
    assert.equal(fs.existsSync(path.join(path.dirname(where), escape)), false);
    assert.equal(fs.readlinkSync(path.join(where, 'src/evil')), outside);
    assert.deepEqual(messages.map((m) => m.code), ['CAIRN_E_FS_RESTORE_UNSAFE_PATH', 'CAIRN_E_FS_RESTORE_UNSAFE_PATH', 'CAIRN_E_FS_RESTORE_UNSAFE_PATH']);
  } finally {
    fs.rmSync(where, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  }
});

test('a file whose data failed leaves nothing under its name; replace=never keeps what exists', async () => {
  const where = tempDir('where');
  try {
    const { ctx } = testContext();
    const agent = createAgent(ctx);
    await agent.prepareRestore({ jobId: 1, where, replace: 'never', options: {} });
    const f = entry('/d/half', 'file');
    assert.equal(await agent.createFile(f), 'extract');
    await agent.writeData(f, f.streams[0], Buffer.from('ab'));
    await agent.endFile(f, false);
    assert.deepEqual(fs.readdirSync(path.join(where, 'd')), []);
    fs.writeFileSync(path.join(where, 'd/kept'), 'old');
    assert.equal(await agent.createFile(entry('/d/kept', 'file')), 'skip');
    const g = entry('/d/new', 'file');
    assert.equal(await agent.createFile(g), 'extract');
    await agent.writeData(g, g.streams[0], Buffer.from('data'));
    await agent.endFile(g, true);
    await agent.endRestore();
    assert.equal(fs.readFileSync(path.join(where, 'd/kept'), 'utf8'), 'old');
    assert.equal(fs.readFileSync(path.join(where, 'd/new'), 'utf8'), 'data');
    assert.equal(fs.statSync(path.join(where, 'd/new')).mtimeMs, 1_600_000_000_000);
    assert.deepEqual(fs.readdirSync(path.join(where, 'd')).sort(), ['kept', 'new']);
  } finally {
    fs.rmSync(where, { recursive: true, force: true });
  }
});

test('a sparse file yields SparseChunks and restores with its holes', async () => {
  const root = tempDir('sparse');
  const where = tempDir('where');
  try {
    const file = path.join(root, 'holes');
    const fd = fs.openSync(file, 'w');
    fs.writeSync(fd, Buffer.alloc(4096, 7), 0, 4096, 1024 * 1024);
    fs.writeSync(fd, Buffer.alloc(4096, 9), 0, 4096, 6 * 1024 * 1024);
    fs.ftruncateSync(fd, 8 * 1024 * 1024);
    fs.closeSync(fd);
    const { entries } = await backupAll([root]);
    const e = entries.find((x) => x.entry.kind === 'file')!;
    assert.equal(e.entry.streams[0].layout, 'sparse');
    const chunks = e.chunks[0] as Array<{ offset: number; data: Uint8Array }>;
    assert.deepEqual(chunks.map((c) => [c.offset, c.data.length]), [[1024 * 1024, 4096], [6 * 1024 * 1024, 4096]]);
    const { ctx } = testContext();
    const agent = createAgent(ctx);
    await agent.prepareRestore({ jobId: 1, where, replace: 'always', options: {} });
    for (const x of entries) {
      const r = await agent.createFile(x.entry);
      if (r === 'extract') for (const c of x.chunks[0]) await agent.writeData(x.entry, x.entry.streams[0], c);
      if (r !== 'skip') await agent.endFile(x.entry, true);
    }
    await agent.endRestore();
    const restored = path.join(where, file);
    const st = fs.statSync(restored);
    assert.equal(st.size, 8 * 1024 * 1024);
    assert.ok(st.blocks * 512 < 64 * 1024, `restored file uses ${st.blocks} blocks`);
    assert.ok(fs.readFileSync(restored).equals(fs.readFileSync(file)));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(where, { recursive: true, force: true });
  }
});

test('a file that vanished before it was read is a warning, and the backup goes on', async () => {
  const root = tempDir('vanish');
  try {
    fs.writeFileSync(path.join(root, 'gone'), 'x');
    fs.writeFileSync(path.join(root, 'big'), Buffer.alloc(300 * 1024, 1));
    const st = toEntryStat(fs.lstatSync(path.join(root, 'gone'), { bigint: true }));
    const bst = toEntryStat(fs.lstatSync(path.join(root, 'big'), { bigint: true }));
    fs.rmSync(path.join(root, 'gone'));
    fs.rmSync(path.join(root, 'big'));
    const warnings: string[] = [];
    const mk = (p: string, s: EntryStat) => ({ entry: { ...entry(p, 'file'), stat: { ...entry(p, 'file').stat, size: s.size } }, stat: s });
    const source = (async function* () {
      yield mk(path.join(root, 'gone'), st);
      yield mk(path.join(root, 'big'), bst);
      yield { entry: entry('/x', 'dir') };
    })();
    const ra = new ReadAhead(source, (_t, _p, code) => warnings.push(code));
    const first = await ra.next();
    assert.equal(first?.entry.kind, 'dir');
    assert.equal(await ra.next(), null);
    assert.deepEqual(warnings, ['CAIRN_E_FS_VANISHED', 'CAIRN_E_FS_VANISHED']);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a large file that changes while it is read is a warning, not a failure', async () => {
  const root = tempDir('change');
  try {
    const big = path.join(root, 'big');
    fs.writeFileSync(big, Buffer.alloc(3 * 1024 * 1024, 1));
    const { ctx, messages } = testContext();
    const agent = createAgent(ctx);
    await agent.prepareBackup({ jobId: 1, jobName: 't', level: 'full', state: null, options: { xattrs: false }, include: [root], exclude: [] });
    await agent.nextFile();
    const e = (await agent.nextFile())!;
    let n = 0;
    for await (const c of agent.readData(e, e.streams[0])) {
      if (n++ === 0) fs.appendFileSync(big, 'more');
      assert.ok((c as Uint8Array).length <= 1024 * 1024);
    }
    assert.equal(await agent.nextFile(), null);
    await agent.endBackup();
    assert.deepEqual(messages.map((m) => m.code), ['CAIRN_E_FS_FILE_CHANGED']);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('restore of fifos, hard links and modes through a real round trip', async () => {
  const root = tempDir('rt');
  const where = tempDir('where');
  try {
    fs.writeFileSync(path.join(root, 'a'), 'A');
    fs.linkSync(path.join(root, 'a'), path.join(root, 'b'));
    execFileSync('mkfifo', [path.join(root, 'p')]);
    fs.chmodSync(path.join(root, 'a'), 0o4750);
    const { entries } = await backupAll([root]);
    const { ctx, messages } = testContext();
    const agent = createAgent(ctx);
    await agent.prepareRestore({ jobId: 1, where, replace: 'always', options: {} });
    for (const x of entries) {
      const r = await agent.createFile(x.entry);
      if (r === 'extract') for (const c of x.chunks[0] ?? []) await agent.writeData(x.entry, x.entry.streams[0], c);
      if (r !== 'skip') await agent.endFile(x.entry, true);
    }
    await agent.endRestore();
    const ra = fs.statSync(path.join(where, root, 'a'));
    assert.equal(ra.mode & 0o7777, 0o4750);
    assert.equal(ra.ino, fs.statSync(path.join(where, root, 'b')).ino);
    assert.ok(fs.lstatSync(path.join(where, root, 'p')).isFIFO());
    assert.deepEqual(messages, []);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(where, { recursive: true, force: true });
  }
});
