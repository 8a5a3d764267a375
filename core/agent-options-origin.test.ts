import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentModule } from '../plugin-api/index.js';
import { applyOptionOrigin, assertNoLocalOnly } from './agent-options.js';

const mod = {
  manifest: { name: 'dbdump', version: '1.0.0', api: '>=1 <2', options: { type: 'object', properties: { binDir: { type: 'string', localOnly: true }, database: { type: 'string' } } } },
  createAgent: () => {
    throw new Error('not created here');
  },
} as unknown as AgentModule;

test("a Director's order may not set a local-only option (a program's folder): fileset line, job options and restore options are refused", () => {
  const line = { line: { agent: 'dbdump', options: { binDir: '/tmp/evil' } }, loaded: { module: mod } };
  assert.throws(() => applyOptionOrigin([line], undefined, { fromDirector: true }), (e: { code: string; message: string; fields: Record<string, unknown> }) => e.code === 'CAIRN_E_AGENT_OPTIONS' && e.fields.option === 'binDir' && /File Daemon's own configuration/.test(e.message) && /fileset/.test(e.message));
  const ok = { line: { agent: 'dbdump', options: { database: 'shop' } }, loaded: { module: mod } };
  assert.throws(() => applyOptionOrigin([ok], { dbdump: { binDir: '/tmp/evil' } }, { fromDirector: true }), /job options/);
  assert.throws(() => assertNoLocalOnly(mod, { binDir: '/x' }, 'restore options (--option)'), /restore options/);
});

test("the FD's own defaults may set it, under the Director's options; local mode (no Director) is not restricted", () => {
  const line = { line: { agent: 'dbdump', options: { database: 'shop' } }, loaded: { module: mod } };
  applyOptionOrigin([line], undefined, { fromDirector: true, localDefaults: { dbdump: { binDir: '/usr/lib/postgresql/15/bin', database: 'postgres' } } });
  assert.deepEqual(line.line.options, { binDir: '/usr/lib/postgresql/15/bin', database: 'shop' });
  const local = { line: { agent: 'dbdump', options: { binDir: '/opt/pg/bin' } }, loaded: { module: mod } };
  applyOptionOrigin([local], undefined, {});
  assert.deepEqual(local.line.options, { binDir: '/opt/pg/bin' });
});
