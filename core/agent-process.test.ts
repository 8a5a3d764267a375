/**
 * Process isolation: the bundled agents (fs, pipe) pass the plugin API
 * conformance kit with their agents in child processes, and every child is
 * reaped afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { kitContext, nodePlatformFileServices, runConformance } from '../plugin-api/index.js';
import { platformFileServices } from '../native/index.js';
import { CHUNK_WINDOW_BYTES, isolatedAgentModule, isolatedManifest, type ChunkQueue } from './agent-process.js';
import { PIPE_KIT_FILES, compareToFiles } from '../plugins/pipe/test-fixture.js';

const fsUrl = new URL('../plugins/fs/index.js', import.meta.url).href;
const pipeUrl = new URL('../plugins/pipe/index.js', import.meta.url).href;

function tree(src: string): void {
  fs.mkdirSync(path.join(src, 'etc/deep'), { recursive: true });
  fs.writeFileSync(path.join(src, 'etc/a.conf'), 'conf\n');
  fs.writeFileSync(path.join(src, 'etc/deep/x'), Buffer.alloc(5000, 3));
  fs.writeFileSync(path.join(src, 'big'), Buffer.alloc(3 * 1024 * 1024 + 17, 5));
  const fd = fs.openSync(path.join(src, 'sparse'), 'w');
  fs.writeSync(fd, Buffer.alloc(4096, 1), 0, 4096, 2 * 1024 * 1024);
  fs.ftruncateSync(fd, 4 * 1024 * 1024);
  fs.closeSync(fd);
  fs.symlinkSync('etc/a.conf', path.join(src, 'link'));
  fs.writeFileSync(Buffer.from(`${src}/caf\xe9`, 'latin1'), 'latin1 name');
}

test('[process] the fs agent passes the conformance kit in a child process', async () => {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-iso-fs-'));
  const src = path.join(top, 'src');
  tree(src);
  const mod = isolatedAgentModule(fsUrl, 'fs', await isolatedManifest(fsUrl, 'fs'));
  try {
    const report = await runConformance(mod, {
      platform: platformFileServices(),
      include: [src],
      scratch: path.join(top, 'scratch'),
      mutate: async () => {
        fs.writeFileSync(path.join(src, 'etc/a.conf'), 'changed conf\n');
        fs.rmSync(path.join(src, 'etc/deep'), { recursive: true });
        fs.writeFileSync(path.join(src, 'new'), 'new');
      },
    });
    assert.deepEqual(report.checks.filter((c) => !c.ok), []);
    assert.equal(report.ok, true);
  } finally {
    await mod.closeAll();
    fs.rmSync(top, { recursive: true, force: true });
  }
});

test('[process] the pipe agent passes the conformance kit in a child process', async () => {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-iso-pipe-'));
  const mod = isolatedAgentModule(pipeUrl, 'pipe', await isolatedManifest(pipeUrl, 'pipe'));
  try {
    const report = await runConformance(mod, {
      include: [],
      scratch: path.join(top, 'scratch'),
      options: { files: PIPE_KIT_FILES },
      restoreOptions: { toFiles: true },
      commands: [process.execPath],
      compare: compareToFiles,
    });
    assert.deepEqual(report.checks.filter((c) => !c.ok), []);
    assert.equal(report.ok, true);
  } finally {
    await mod.closeAll();
    fs.rmSync(top, { recursive: true, force: true });
  }
});

test('[process] readData back-pressure: a fast agent stays at most the credit window ahead of a slow host', async () => {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-iso-credit-'));
  const modPath = path.join(top, 'gush.mjs');
  fs.writeFileSync(modPath, `
export const manifest = { name: 'gush', version: '1.0.0', api: '>=1.2 <2', formatMajor: 1 };
export function createAgent(ctx) {
  let sent = false;
  return {
    async prepareBackup() {}, async endBackup() { return { state: null }; },
    async nextFile() { if (sent) return null; sent = true; return { path: Buffer.from('/gush'), kind: 'file', stat: { mode: 0o100644, uid: 0, gid: 0, size: 0, mtimeNs: 0n, atimeNs: 0n, ctimeNs: 0n, dev: 0n, ino: 1n, nlink: 1, rdev: 0 }, streams: [{ index: 0, name: 'data', layout: 'sequential' }] }; },
    async *readData() { for (let i = 0; i < 48; i++) { const b = ctx.chunkBuffer(1 << 20); b.fill(i); yield b; } },
    async prepareRestore() {}, async createFile() { return 'skip'; }, async writeData() {}, async endFile() {}, async endRestore() {},
  };
}
`);
  const url = pathToFileURL(modPath).href;
  const mod = isolatedAgentModule(url, modPath, await isolatedManifest(url, modPath));
  try {
    const kc = kitContext(mod.manifest, { major: 1, minor: 5 }, nodePlatformFileServices(), []);
    const agent = await mod.createAgent(kc.ctx);
    await agent.prepareBackup({ jobId: 1, jobName: 't', level: 'full', state: null, options: {}, include: [], exclude: [] });
    const entry = (await agent.nextFile())!;
    const q = agent.readData(entry, entry.streams[0]) as ChunkQueue;
    let most = 0;
    let n = 0;
    for await (const c of q) {
      assert.equal((c as Uint8Array)[0], n, 'chunks arrive in order, intact');
      n++;
      kc.chunks.done(c as Uint8Array);
      await new Promise((r) => setTimeout(r, 25)); // a slow host: the agent could run far ahead
      most = Math.max(most, q.buffered);
    }
    assert.equal(n, 48);
    assert.ok(most <= CHUNK_WINDOW_BYTES + (1 << 20), `at most the window was queued on the host (${most} bytes)`);
    assert.ok(most >= 4 << 20, `the agent did read ahead (${most} bytes)`);
  } finally {
    await mod.closeAll();
    fs.rmSync(top, { recursive: true, force: true });
  }
});

test('[process] restore writes are pipelined, yet a failed writeData fails its file: the agent hears endFile(false)', async () => {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-iso-write-'));
  const modPath = path.join(top, 'sink.mjs');
  fs.writeFileSync(modPath, `
export const manifest = { name: 'sink', version: '1.0.0', api: '>=1 <2', formatMajor: 1 };
export function createAgent(ctx) {
  let n = 0;
  return {
    async prepareBackup() {}, async nextFile() { return null; }, async *readData() {}, async endBackup() { return { state: null }; },
    async prepareRestore() {}, async createFile() { n = 0; return 'extract'; },
    async writeData(file, stream, chunk) { if (++n === 2 && Buffer.from(file.path).toString() === '/bad') throw new Error('disk full'); },
    async endFile(file, ok) { ctx.jobMessage('info', 'endFile ' + Buffer.from(file.path).toString() + ' ' + ok + ' after ' + n); },
    async endRestore() {},
  };
}
`);
  const url = pathToFileURL(modPath).href;
  const mod = isolatedAgentModule(url, modPath, await isolatedManifest(url, modPath));
  try {
    const kc = kitContext(mod.manifest, { major: 1, minor: 5 }, nodePlatformFileServices(), []);
    const agent = await mod.createAgent(kc.ctx);
    await agent.prepareRestore({ jobId: 1, replace: 'always', options: {} });
    const entry = (p: string) => ({ path: Buffer.from(p), kind: 'file' as const, stat: { mode: 0o100644, uid: 0, gid: 0, size: 0, mtimeNs: 0n, atimeNs: 0n, ctimeNs: 0n, dev: 0n, ino: 1n, nlink: 1, rdev: 0 }, streams: [{ index: 0, name: 'data', layout: 'sequential' as const }] });
    for (const p of ['/good', '/bad']) {
      const e = entry(p);
      assert.equal(await agent.createFile(e), 'extract');
      let failed: unknown = null;
      for (let i = 0; i < 6 && !failed; i++) await agent.writeData(e, e.streams[0], Buffer.alloc(1 << 20, i)).catch((err) => (failed = err));
      await agent.endFile(e, failed === null).catch((err) => (failed = err));
      if (p === '/good') assert.equal(failed, null);
      else assert.match(String((failed as Error)?.message), /disk full/, 'the failed write is reported for its file');
    }
    await agent.endRestore();
    const ends = kc.messages.map((m) => m.text).filter((t) => t.startsWith('endFile'));
    assert.deepEqual(ends.map((t) => t.split(' after ')[0]), ['endFile /good true', 'endFile /bad false']);
  } finally {
    await mod.closeAll();
    fs.rmSync(top, { recursive: true, force: true });
  }
});
