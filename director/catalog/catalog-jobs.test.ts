import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Catalog, LATEST_SCHEMA_VERSION, SqliteDriver } from './index.js';
import { ENGINES, openPostgres, postgresCluster } from './test-engines.js';
import { migrate } from './migrations.js';
import type { Level } from '../../plugin-api/index.js';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-catalog-test-'));
}

test('migrations from empty create every table and record the version', async () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'cat.db');
    const cat = await Catalog.open(file);
    assert.equal(await cat.schemaVersion(), LATEST_SCHEMA_VERSION);
    await cat.close();
    // reopening is a no-op migration
    const again = await Catalog.open(file);
    assert.equal(await again.schemaVersion(), LATEST_SCHEMA_VERSION);
    await again.close();
    const d = SqliteDriver.open(file);
    const tables = await d.all({ text: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name", params: [] });
    assert.deepEqual(
      tables.map((t) => t.name),
      ['agent_state', 'clients', 'files', 'filesets', 'job_crypto', 'job_key_wraps', 'job_log', 'job_media', 'jobs', 'pools', 'schema_version', 'volumes'],
    );
    assert.equal((await d.get({ text: 'PRAGMA journal_mode', params: [] }))?.journal_mode, 'wal');
    await d.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a catalog with a newer schema version is refused', async () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'cat.db');
    const d = SqliteDriver.open(file);
    const v = await migrate(d, [
      { version: 1, description: 'v1', statements: () => ['CREATE TABLE "a" ("x" INTEGER)'] },
      { version: LATEST_SCHEMA_VERSION + 5, description: 'future', statements: () => ['CREATE TABLE "b" ("x" INTEGER)'] },
    ]);
    assert.equal(v, LATEST_SCHEMA_VERSION + 5);
    await d.close();
    await assert.rejects(Catalog.open(file), (err: { code?: string; fields?: Record<string, unknown> }) => {
      assert.equal(err.code, 'CAIRN_E_CATALOG_TOO_NEW');
      assert.equal(err.fields?.catalogVersion, LATEST_SCHEMA_VERSION + 5);
      return true;
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a failing migration leaves the previous version', async () => {
  const d = SqliteDriver.open(':memory:');
  try {
    await migrate(d, [{ version: 1, description: 'v1', statements: () => ['CREATE TABLE "a" ("x" INTEGER)'] }]);
    await assert.rejects(
      migrate(d, [
        { version: 1, description: 'v1', statements: () => [] },
        { version: 2, description: 'broken', statements: () => ['CREATE TABLE "c" ("x" INTEGER)', 'CREATE TABLE "a" ("x" INTEGER)'] },
      ]),
      { code: 'CAIRN_E_CATALOG_MIGRATION' },
    );
    assert.equal((await d.get({ text: 'SELECT MAX(version) AS v FROM schema_version', params: [] }))?.v, 1n);
    assert.equal((await d.all({ text: "SELECT name FROM sqlite_master WHERE name = 'c'", params: [] })).length, 0);
  } finally {
    await d.close();
  }
});

async function backup(cat: Catalog, level: Level, status: 'ok' | 'warning' | 'error' | 'cancelled', t: number): Promise<number> {
  const id = await cat.createJob({ name: 'nightly', type: 'backup', level, client: 'web1', fileset: 'fs', filesetHash: 'h1', pool: 'p', startedAt: new Date(t) });
  await cat.finishJob(id, { status, endedAt: new Date(t + 500), files: 1, bytes: 10, errors: status === 'error' ? 1 : 0, report: { t } });
  return id;
}

for (const engine of ENGINES) {
  test(`${engine.name}: restoreChain: Full, Inc, Inc(failed), Inc, Diff, Inc — failed job skipped`, async (t) => {
    const opened = await engine.open(t);
    if (!opened) return;
    const cat = opened;
    try {
      const full = await backup(cat, 'full', 'ok', 1000);
      const inc1 = await backup(cat, 'incremental', 'ok', 2000);
      const incFailed = await backup(cat, 'incremental', 'error', 3000);
      const inc2 = await backup(cat, 'incremental', 'warning', 4000);
      const diff = await backup(cat, 'differential', 'ok', 5000);
      const diffCancelled = await backup(cat, 'differential', 'cancelled', 5500);
      const inc3 = await backup(cat, 'incremental', 'ok', 6000);
      // another client's job must never join the chain
      const other = await cat.createJob({ name: 'nightly', type: 'backup', level: 'incremental', client: 'db1', startedAt: new Date(6500) });
      await cat.finishJob(other, { status: 'ok', endedAt: new Date(6600), files: 0, bytes: 0, errors: 0 });

      const ids = async (j: number): Promise<number[]> => (await cat.restoreChain(j)).map((x) => x.id);
      assert.deepEqual(await ids(inc3), [full, diff, inc3]);
      assert.deepEqual(await ids(diffCancelled), [full, diff]);
      assert.deepEqual(await ids(inc2), [full, inc1, inc2]);
      assert.deepEqual(await ids(incFailed), [full, inc1]);
      assert.deepEqual(await ids(full), [full]);

      const chain = await cat.restoreChain(inc3);
      assert.equal(chain[0].level, 'full');
      assert.deepEqual(chain[0].report, { t: 1000 });
      assert.equal(chain[0].endedAt?.getTime(), 1500);

      // base selection
      assert.equal((await cat.lastSuccessfulJob({ client: 'web1', name: 'nightly', levels: ['full', 'incremental', 'differential'] }))?.id, inc3);
      assert.equal((await cat.lastSuccessfulJob({ client: 'web1', name: 'nightly', levels: ['full'] }))?.id, full);
      assert.equal((await cat.lastSuccessfulJob({ client: 'web1', name: 'nightly', levels: ['incremental'], before: new Date(4000) }))?.id, inc1);
      assert.equal(await cat.lastSuccessfulJob({ client: 'web1', name: 'nightly', levels: ['full'], filesetHash: 'other' }), null);
      assert.equal(await cat.lastSuccessfulJob({ client: 'nobody', name: 'nightly', levels: ['full'] }), null);

      // as-at selection uses end time
      assert.equal((await cat.jobAsAt({ client: 'web1', name: 'nightly' }, new Date(4499)))?.id, inc1);
      assert.equal((await cat.jobAsAt({ client: 'web1', name: 'nightly' }, new Date(4500)))?.id, inc2);
      assert.equal(await cat.jobAsAt({ client: 'web1', name: 'nightly' }, new Date(10)), null);
    } finally {
      await cat.close();
    }
  });
}

for (const engine of ENGINES) {
  test(`${engine.name}: restoreChain without a successful Full fails with CAIRN_E_CATALOG_NO_FULL`, async (t) => {
    const opened = await engine.open(t);
    if (!opened) return;
    const cat = opened;
    try {
      await backup(cat, 'full', 'error', 1000);
      const inc = await backup(cat, 'incremental', 'ok', 2000);
      await assert.rejects(cat.restoreChain(inc), { code: 'CAIRN_E_CATALOG_NO_FULL' });
      await assert.rejects(cat.restoreChain(999), { code: 'CAIRN_E_CATALOG_NO_JOB' });
    } finally {
      await cat.close();
    }
  });
}

for (const engine of ENGINES) {
  test(`${engine.name}: jobs: create, update, finish once, list, log, agent state, media`, async (t) => {
    const opened = await engine.open(t);
    if (!opened) return;
    const cat = opened;
    try {
      const c = await cat.ensureClient('web1');
      assert.equal(await cat.ensureClient('web1'), c);
      const fs1 = await cat.ensureFileset('home', 'include /home');
      assert.deepEqual(await cat.ensureFileset('home', 'include /home'), fs1);
      assert.notEqual((await cat.ensureFileset('home', 'include /srv')).id, fs1.id);
      assert.equal((await cat.getFileset('home', fs1.hash))?.text, 'include /home');

      const id = await cat.createJob({ name: 'n', type: 'backup', level: 'full', client: 'web1', fileset: 'home', filesetHash: fs1.hash, pool: 'p', startedAt: new Date(1000) });
      assert.equal((await cat.getJob(id))?.status, 'running');
      await cat.updateJob(id, { sessionId: 42, files: 3 });
      await cat.addJobLog(id, { level: 'warning', code: 'CAIRN_E_X', path: new Uint8Array([0x2f, 0xff]), text: 'vanished', time: new Date(1200) });
      await cat.addJobLog(id, { level: 'info', text: 'hello' });
      await cat.insertJobMedia(id, [
        { volume: 'p-0001', sessionId: 42, firstIndex: 1, lastIndex: 10, startFile: 0, startBlock: 1, endFile: 0, endBlock: 9 },
        { volume: 'p-0002', sessionId: 42, firstIndex: 10, lastIndex: 20, startFile: 0, startBlock: 1, endFile: 0, endBlock: 4 },
      ]);
      await cat.finishJob(id, { status: 'warning', endedAt: new Date(2000), files: 20, bytes: 1 << 20, readBytes: 2 << 20, errors: 0, report: { vanished: 1 }, agentStates: { 'fs/1': { lsn: 7 } } });
      await assert.rejects(cat.finishJob(id, { status: 'ok', endedAt: new Date(3000), files: 0, bytes: 0, errors: 0 }), { code: 'CAIRN_E_CATALOG_JOB_STATE' });

      const j = await cat.getJob(id);
      assert.equal(j?.status, 'warning');
      assert.equal(j?.sessionId, 42);
      assert.equal(j?.readBytes, 2 << 20);
      assert.deepEqual(await cat.agentState(id, 'fs/1'), { lsn: 7 });
      assert.equal(await cat.agentState(id, 'pgsql/1'), null);

      const failed = await cat.createJob({ name: 'n', type: 'backup', level: 'incremental', client: 'web1', startedAt: new Date(4000) });
      await cat.finishJob(failed, { status: 'error', endedAt: new Date(4100), files: 0, bytes: 0, errors: 1, agentStates: { 'fs/1': { lsn: 9 } } });
      assert.equal(await cat.agentState(failed, 'fs/1'), null, 'a failed job never saves agent state');

      const log = await cat.jobLog(id);
      assert.equal(log.length, 2);
      assert.equal(log[0].code, 'CAIRN_E_X');
      assert.deepEqual([...(log[0].path ?? [])], [0x2f, 0xff]);
      assert.equal(log[1].path, null);
      assert.equal((await cat.jobMedia(id))[1].volume, 'p-0002');

      assert.deepEqual((await cat.listJobs({ client: 'web1' })).map((x) => x.id), [failed, id]);
      assert.deepEqual((await cat.listJobs({ status: 'error' })).map((x) => x.id), [failed]);
      assert.equal((await cat.listJobs({ limit: 1 })).length, 1);
      assert.equal(await cat.getJob(12345), null);
    } finally {
      await cat.close();
    }
  });
}

test('postgres: two Directors opening one new catalog at once migrate one after the other (advisory lock)', async (t) => {
  const c = await postgresCluster(t);
  if (!c) return;
  const database = await c.createDatabase();
  const both = await Promise.all([openPostgres(c, database), openPostgres(c, database)]);
  try {
    for (const cat of both) assert.equal(await cat.schemaVersion(), LATEST_SCHEMA_VERSION);
    const id = await both[0].createJob({ name: 'n', type: 'backup', level: 'full', client: 'c', startedAt: new Date(1) });
    assert.equal((await both[1].getJob(id))?.name, 'n', 'both handles see one catalog');
  } finally {
    for (const cat of both) await cat.close();
  }
});

test('postgres: an unreachable server is CAIRN_E_CATALOG_OPEN naming where it looked', async () => {
  const { PgDriver } = await import('./index.js');
  await assert.rejects(PgDriver.open({ host: '/nonexistent-socket-dir', port: 5999, database: 'cairn', user: 'cairn', connectTimeoutMs: 2000 }), (err: { code?: string; message: string }) => {
    assert.equal(err.code, 'CAIRN_E_CATALOG_OPEN');
    assert.match(err.message, /cairn as cairn at socket \/nonexistent-socket-dir\/\.s\.PGSQL\.5999/);
    return true;
  });
});
