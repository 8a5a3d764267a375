// Every agent hears jobEnded with the job's final outcome, after the catalog
// commit: 'ok' for a good job and 'error' for one that failed in the agent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/index.js';
import { cairn } from './cli-runner.js';

function agentModule(marker: string, failInNextFile: boolean): string {
  return `import fs from 'node:fs';
export const manifest = { name: 'ender', version: '1.0.0', api: '>=1 <2', formatMajor: 1 };
export function createAgent() {
  let sent = false;
  return {
    async prepareBackup() {},
    async nextFile() {
      ${failInNextFile ? "throw new Error('boom');" : ''}
      if (sent) return null;
      sent = true;
      return { path: Buffer.from('/v/x'), kind: 'file', stat: { mode: 0o100644, uid: 0, gid: 0, size: 1, mtimeNs: 1n, atimeNs: 1n, ctimeNs: 1n, dev: 0n, ino: 1n, nlink: 1, rdev: 0 }, streams: [{ index: 0, name: 'data', layout: 'sequential', size: 1 }] };
    },
    async *readData() { yield Buffer.from('x'); },
    async endBackup() { return { state: null }; },
    async jobEnded(status) { fs.appendFileSync(${JSON.stringify(marker)}, status + '\\n'); },
    async prepareRestore() {}, async createFile() { return 'skip'; }, async writeData() {}, async endFile() {}, async endRestore() {},
  };
}
`;
}

for (const [name, fail, want] of [['a good job', false, 'ok'], ['a job that fails in the agent', true, 'error']] as const) {
  test(`jobEnded reports ${want} for ${name}`, (t) => {
    const dir = tempDir(t, 'cairn-jobended-');
    const repo = join(dir, 'repo');
    assert.equal(cairn(repo, ['init']).status, 0);
    mkdirSync(join(repo, 'plugins'), { recursive: true });
    const marker = join(dir, 'ended.txt');
    const mod = join(repo, 'plugins', 'ender.mjs');
    writeFileSync(mod, agentModule(marker, fail));
    const fileset = join(dir, 'fileset.yaml');
    writeFileSync(fileset, `name: ender\nagents:\n  - agent: ${mod}\n`);
    const r = cairn(repo, ['backup', '--fileset', fileset, '--json']);
    assert.equal(r.status, fail ? 3 : 0, r.describe);
    assert.equal(readFileSync(marker, 'utf8'), `${want}\n`);
  });
}
