import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isCairnError, type AgentModule } from '../plugin-api/index.js';
import { REDACTED, mergeOverrides, parseOptionArgs, prepareAgentOptions } from './agent-options.js';

const mod: AgentModule = {
  manifest: {
    name: 'vault',
    version: '1.0.0',
    api: '>=1 <2',
    formatMajor: 1,
    options: {
      type: 'object',
      additionalProperties: false,
      required: ['user'],
      properties: {
        user: { type: 'string' },
        password: { type: 'string', writeOnly: true },
        port: { type: 'integer', default: 5432 },
        files: { type: 'array', items: { type: 'object', additionalProperties: false, required: ['path'], properties: { path: { type: 'string', minLength: 1 }, argv: { type: 'array', items: { type: 'string' } } } } },
      },
    },
  },
  createAgent: () => {
    throw new Error('not used');
  },
};

function optionsError(fn: () => unknown): { message: string; fields: Record<string, unknown> } {
  try {
    fn();
  } catch (err) {
    assert.ok(isCairnError(err), String(err));
    assert.equal(err.code, 'CAIRN_E_AGENT_OPTIONS');
    return { message: err.message, fields: err.fields };
  }
  assert.fail('expected CAIRN_E_AGENT_OPTIONS');
}

test('--option words: AGENT.KEY=VALUE, VALUE as JSON when it parses, else text; later layers win', () => {
  const o = parseOptionArgs(['fs.oneFileSystem=false', 'pipe.files=[{"path":"/x"}]', 'pg.password=hunter2', 'pg.port=5433', 'pg.dsn=a=b']);
  assert.deepEqual(o, { fs: { oneFileSystem: false }, pipe: { files: [{ path: '/x' }] }, pg: { password: 'hunter2', port: 5433, dsn: 'a=b' } });
  assert.deepEqual(mergeOverrides({ pg: { port: 1, user: 'a' } }, undefined, { pg: { port: 2 } }), { pg: { port: 2, user: 'a' } });
  const e = optionsError(() => parseOptionArgs(['oneFileSystem=false']));
  assert.match(e.message, /is not AGENT\.KEY=VALUE/);
});

test('secret references are resolved on the host and recorded as references; inline write-only values are redacted', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-opts-'));
  try {
    const pwFile = path.join(dir, 'pw');
    fs.writeFileSync(pwFile, 'from-a-file\n', { mode: 0o600 });
    const env = { VAULT_PW: 'from-the-env' };
    const a = prepareAgentOptions(mod, { user: 'u', password: { env: 'VAULT_PW' } }, 'backup', env);
    assert.deepEqual(a.options, { user: 'u', password: 'from-the-env', port: 5432 });
    assert.deepEqual(a.recorded, { user: 'u', password: { env: 'VAULT_PW' }, port: 5432 });
    const b = prepareAgentOptions(mod, { user: 'u', password: { file: pwFile } }, 'backup', env);
    assert.equal(b.options.password, 'from-a-file', 'one trailing newline removed');
    assert.deepEqual(b.recorded.password, { file: pwFile });
    const c = prepareAgentOptions(mod, { user: 'u', password: 'inline-secret' }, 'backup', env);
    assert.equal(c.options.password, 'inline-secret');
    assert.equal(c.recorded.password, REDACTED);
    assert.ok(!JSON.stringify(c.recorded).includes('inline-secret'));

    const unset = optionsError(() => prepareAgentOptions(mod, { user: 'u', password: { env: 'NOPE_PW' } }, 'backup', env));
    assert.match(unset.message, /options for agent vault: option "password" refers to environment variable NOPE_PW, which is not set/);
    assert.equal(unset.fields.agent, 'vault');
    assert.equal(unset.fields.option, 'password');
    assert.equal(unset.fields.variable, 'NOPE_PW');
    const missing = optionsError(() => prepareAgentOptions(mod, { user: 'u', password: { file: path.join(dir, 'nope') } }, 'backup', env));
    assert.match(missing.message, /cannot read \(ENOENT\)/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('options are checked against the schema, nested, naming agent and option; restore does not require backup options', () => {
  assert.match(optionsError(() => prepareAgentOptions(mod, { password: 'x' })).message, /options for agent vault: required option "user" is missing/);
  const t = optionsError(() => prepareAgentOptions(mod, { user: 'u', port: '5432' }));
  assert.match(t.message, /option "port" must be integer, got string/);
  assert.equal(t.fields.option, 'port');
  const n = optionsError(() => prepareAgentOptions(mod, { user: 'u', files: [{ path: '/a' }, { path: '/b', argv: ['x', 3] }] }));
  assert.match(n.message, /option "files\[1\]\.argv\[1\]" must be string, got integer/);
  assert.equal(n.fields.key, 'files');
  assert.match(optionsError(() => prepareAgentOptions(mod, { user: 'u', files: [{ path: '/a', shell: true }] })).message, /unknown option "files\[0\]\.shell"/);
  assert.match(optionsError(() => prepareAgentOptions(mod, { user: 'u', files: [{}] })).message, /option "files\[0\]\.path" is missing/);
  assert.match(optionsError(() => prepareAgentOptions(mod, { user: 'u', colour: 'red' })).message, /unknown option "colour"/);
  assert.deepEqual(prepareAgentOptions(mod, {}, 'restore').options, { port: 5432 });
});
