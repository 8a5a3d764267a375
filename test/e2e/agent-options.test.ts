/**
 * Acceptance: agent options per job in local mode. Options come from the
 * fileset line and are overridden by `cairn backup --option` and
 * `cairn restore --option`; they are checked against the agent's schema
 * (CAIRN_E_AGENT_OPTIONS names agent and option); a secret given as
 * { env: NAME } reaches the agent (running in its own process) and is found
 * nowhere in the repository afterwards — not in the volumes, the catalog or
 * the logs — and neither is one given inline on the command line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTree, file, tempDir } from '../support/index.js';
import { cairn, cairnOk } from './cli-runner.js';

const SECRET = 'pw-9f2c41-never-stored';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** The agent checks it got the secret (by digest: the module file must not hold it) and names its file after `label`. */
const AGENT = `
import { createHash } from 'node:crypto';
export const manifest = {
  name: 'secretive', version: '1.0.0', api: '>=1 <2', formatMajor: 1,
  options: { type: 'object', additionalProperties: false, required: ['password'], properties: {
    password: { type: 'string', writeOnly: true }, label: { type: 'string', default: 'default' } } },
};
export function createAgent() {
  let job; let sent = false;
  return {
    async prepareBackup(j) {
      job = j;
      if (createHash('sha256').update(j.options.password).digest('hex') !== ${JSON.stringify(sha(SECRET))}) throw new Error('wrong password given to the agent');
    },
    async nextFile() {
      if (sent) return null;
      sent = true;
      return { path: Buffer.from('/secretive/' + job.options.label), kind: 'file', stat: { mode: 0o100644, uid: 0, gid: 0, size: 2, mtimeNs: 1n, atimeNs: 1n, ctimeNs: 1n, dev: 1n, ino: 1n, nlink: 1, rdev: 0 }, streams: [{ index: 0, name: 'data', layout: 'sequential', size: 2 }] };
    },
    async *readData() { yield Buffer.from('ok'); },
    async endBackup() { return { state: null }; },
    async prepareRestore() {}, async createFile() { return 'skip'; }, async writeData() {}, async endFile() {}, async endRestore() {},
  };
}
`;

/** Every regular file under `dir` whose bytes contain `needle`. */
function filesContaining(dir: string, needle: string, skip: string): string[] {
  const hits: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (p === skip) continue;
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  walk(dir);
  return hits;
}

test('agent options: fileset line, --option overrides, schema errors naming agent and option, secrets never stored', async (t) => {
  const tmp = tempDir(t, 'cairn-e2e-options-');
  const repo = join(tmp, 'R');
  cairnOk(repo, ['init']);
  mkdirSync(join(repo, 'plugins'));
  const mod = join(repo, 'plugins', 'secretive.mjs');
  writeFileSync(mod, AGENT);
  const fileset = join(tmp, 'fs.yaml');
  writeFileSync(fileset, ['name: secretive', 'agents:', `  - agent: ${mod}`, '    options:', '      label: from-fileset', '      password: { env: CAIRN_TEST_SECRET }', ''].join('\n'));
  const env = { CAIRN_TEST_SECRET: SECRET };

  const a = cairnOk(repo, ['backup', '--level', 'full', '--fileset', fileset, '--json'], 0, { env }).json;
  assert.equal(a.status, 'ok');
  assert.deepEqual(cairnOk(repo, ['ls', String(a.jobId), '--json']).json.files.map((f: { path: string }) => f.path), ['/secretive/from-fileset']);

  const b = cairnOk(repo, ['backup', '--level', 'full', '--fileset', fileset, '--option', 'secretive.label=from-cli', '--json'], 0, { env }).json;
  assert.equal(b.status, 'ok');
  assert.deepEqual(cairnOk(repo, ['ls', String(b.jobId), '--json']).json.files.map((f: { path: string }) => f.path), ['/secretive/from-cli'], '--option overrides the fileset line');

  // An inline secret on the command line works too, and is stored as [redacted].
  const c = cairnOk(repo, ['backup', '--level', 'full', '--fileset', fileset, '--option', `secretive.password=${SECRET}`, '--json'], 0, { env: {} }).json;
  assert.equal(c.status, 'ok');

  const unset = cairn(repo, ['backup', '--level', 'full', '--fileset', fileset, '--json'], { env: { CAIRN_TEST_SECRET: '' } });
  assert.equal(unset.json.error.code, 'CAIRN_E_AGENT_OPTIONS', unset.describe);
  assert.match(unset.json.error.message, /agent secretive: option "password" refers to environment variable CAIRN_TEST_SECRET, which is empty/);

  const typed = cairn(repo, ['backup', '--level', 'full', '--fileset', fileset, '--option', 'secretive.label=5', '--json'], { env });
  assert.equal(typed.json.error.code, 'CAIRN_E_AGENT_OPTIONS', typed.describe);
  assert.match(typed.json.error.message, /options for agent secretive: option "label" must be string, got integer/);

  const unknown = cairn(repo, ['backup', '--level', 'full', '--fileset', fileset, '--option', 'secretve.label=x', '--json'], { env });
  assert.equal(unknown.json.error.code, 'CAIRN_E_AGENT_OPTIONS', unknown.describe);
  assert.match(unknown.json.error.message, /options given for agent secretve, but no line of the fileset uses it/);

  const malformed = cairn(repo, ['backup', '--level', 'full', '--fileset', fileset, '--option', 'label=x', '--json'], { env });
  assert.equal(malformed.json.error.code, 'CAIRN_E_AGENT_OPTIONS', malformed.describe);

  // Per-restore options are checked before anything is restored.
  const src = join(tmp, 'src');
  await buildTree(src, { 'a.txt': file(1, 100) });
  cairnOk(repo, ['backup', src, '--json']);
  const badRestore = cairn(repo, ['restore', 'latest', '--to', join(tmp, 'out'), '--option', 'fs.restoreOwnership=maybe', '--json']);
  assert.equal(badRestore.json.error.code, 'CAIRN_E_AGENT_OPTIONS', badRestore.describe);
  assert.match(badRestore.json.error.message, /options for agent fs: option "restoreOwnership" must be boolean, got string/);
  const goodRestore = cairnOk(repo, ['restore', 'latest', '--to', join(tmp, 'out'), '--option', 'fs.restoreOwnership=false', '--json']).json;
  assert.equal(goodRestore.status, 'ok');
  assert.equal(readFileSync(join(tmp, 'out', src, 'a.txt')).length, 100);

  assert.deepEqual(filesContaining(repo, SECRET, mod), [], 'the secret is in no volume, catalog or log file');
});
