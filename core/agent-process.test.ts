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
import { runConformance } from '../plugin-api/index.js';
import { platformFileServices } from '../native/index.js';
import { isolatedAgentModule, isolatedManifest } from './agent-process.js';
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
