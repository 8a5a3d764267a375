// The pgsql agent against real PostgreSQL clusters (test/support/postgres.ts,
// run as nobody on a Unix socket): a database of several tables, ≥ 100 MB of
// rows and a large object, dumped while a writer inserts sequential ids one
// row per transaction, restored into a fresh cluster under a new name; a
// restore to a dump file; include/exclude patterns; a dump that fails for
// one database; replace never and always; a pg_dump too old for the server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempDir } from '../support/index.js';
import { startPostgres, postgresBinDir, type PostgresCluster } from '../support/postgres.js';
import { cairn, cairnOk, startCairn } from './cli-runner.js';
import { catalogEntries, sql, startWriter } from './pgsql-harness.js';

function fileset(dir: string, c: PostgresCluster, options: Record<string, unknown> = {}): string {
  const f = join(dir, `fileset-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(f, `name: pg\nagents:\n  - agent: pgsql\n    options: ${JSON.stringify({ host: c.host, user: c.user, ...options })}\n`);
  return f;
}

/** md5 over the md5 of every row in id order: equal tables give equal sums. */
async function tableSum(c: PostgresCluster, db: string, table: string): Promise<string> {
  const [r] = await sql<{ s: string }>(c, db, `SELECT md5(string_agg(md5(t::text), '' ORDER BY t.id)) AS s FROM ${table} t`);
  return r.s;
}

test('pgsql: a database dumped while a writer inserts, restored into a fresh cluster under a new name, is a consistent snapshot', async (t) => {
  const a = await startPostgres(t);
  if (!a) return;
  t.after(() => a.stop());
  const b = (await startPostgres(t))!;
  t.after(() => b.stop());
  const dir = tempDir(t, 'cairn-pgsql-');
  const repo = join(dir, 'repo');
  cairnOk(repo, ['init']);
  const t0 = Date.now();
  const phase = (what: string) => t.diagnostic(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  await sql(a, 'postgres', 'CREATE DATABASE shop');
  await sql(a, 'shop', `
    CREATE TABLE seq_ids (id bigint PRIMARY KEY);
    CREATE TABLE items (id serial PRIMARY KEY, name text, price numeric(10,2), tags text[], doc jsonb, at timestamptz);
    INSERT INTO items (name, price, tags, doc, at)
      SELECT 'item ' || g, g * 1.25, ARRAY['t' || (g % 7), 'u' || (g % 3)], jsonb_build_object('g', g, 'sq', g * g), '2026-01-01'::timestamptz + g * interval '1 minute'
      FROM generate_series(1, 2000) g;
    CREATE TABLE wide (id int PRIMARY KEY, payload text);
    INSERT INTO wide SELECT g, rpad(md5(g::text), 1000, md5((g * 7919)::text)) FROM generate_series(1, 110000) g;
    CREATE TABLE blobs (id int PRIMARY KEY, lo oid);
    INSERT INTO blobs SELECT 1, lo_from_bytea(0, (SELECT string_agg(decode(md5(g::text), 'hex'), ''::bytea) FROM generate_series(1, 40000) g));
  `);
  const [{ bytes }] = await sql<{ bytes: string }>(a, 'shop', "SELECT pg_table_size('wide') AS bytes");
  assert.ok(Number(bytes) >= 100 * 1024 * 1024, `wide holds ${bytes} bytes`);
  phase('data generated');

  const writer = await startWriter(a, 'shop', 'seq_ids');
  let before: number;
  let after: number;
  let report: { status: string; files: number; jobId: number };
  try {
    // Let the writer get going, so the dump starts in the middle of a stream of commits.
    while (Number((await sql<{ n: string }>(a, 'shop', 'SELECT count(*) AS n FROM seq_ids'))[0].n) < 200) await new Promise((r) => setTimeout(r, 20));
    before = Number((await sql<{ n: string }>(a, 'shop', 'SELECT count(*) AS n FROM seq_ids'))[0].n);
    const run = await startCairn(repo, ['backup', '--fileset', fileset(dir, a, { includeDatabases: ['shop'] }), '--json']).done;
    after = Number((await sql<{ n: string }>(a, 'shop', 'SELECT count(*) AS n FROM seq_ids'))[0].n);
    assert.equal(run.status, 0, run.describe);
    report = run.json;
  } finally {
    await writer.stop();
  }
  phase('backed up');
  assert.equal(report.status, 'ok');
  assert.equal(report.files, 2, 'globals and one database');
  assert.ok(after > before, `the writer committed during the dump (${before} → ${after})`);

  // Restore to files: the dump is an archive pg_restore reads.
  const out = join(dir, 'out');
  const restored = cairnOk(repo, ['restore', 'latest', '--to', out, '--json']).json;
  assert.equal(restored.status, 'ok');
  phase('restored to files');
  const bin = dirname(realpathSync(join(postgresBinDir()!, 'initdb'))); // the server's own bin folder, where pg_restore is
  const list = execFileSync(join(bin, 'pg_restore'), ['--list', join(out, '@pgsql/main/databases/shop.dump')], { encoding: 'utf8' });
  assert.match(list, /TABLE DATA public wide/);
  assert.match(list, /BLOB/);

  // Into the fresh cluster B under a new name, with the globals replayed first: the
  // console's own restore, with the agent's restore options given per restore.
  const entries = await catalogEntries(repo, report.jobId);
  assert.deepEqual(entries.map((e) => Buffer.from(e.path).toString()), ['/@pgsql/main/cluster-globals.sql', '/@pgsql/main/databases/shop.dump']);
  const intoB = cairn(repo, ['restore', String(report.jobId), '--to', join(dir, 'unused'), '--replace', 'never',
    '--option', 'pgsql.restoreTarget=cluster', '--option', `pgsql.host=${b.host}`, '--option', `pgsql.user=${b.user}`, '--option', 'pgsql.renameTo=shop_copy', '--json']);
  assert.equal(intoB.json.status, 'warning', intoB.describe);
  const warnings: { code: string; text: string }[] = intoB.json.warnings;
  assert.ok(warnings.some((w) => w.code === 'CAIRN_E_PGSQL_TOOL_MESSAGE' && /already exists/.test(w.text)), `an existing role is a warning: ${intoB.describe}`);
  assert.deepEqual(warnings.filter((w) => w.code !== 'CAIRN_E_PGSQL_TOOL_MESSAGE'), [], intoB.describe);

  phase('restored into cluster B');
  const [ids] = await sql<{ n: string; lo: string; hi: string }>(b, 'shop_copy', 'SELECT count(*) AS n, min(id) AS lo, max(id) AS hi FROM seq_ids');
  const n = Number(ids.n);
  assert.equal(Number(ids.lo), 1);
  assert.equal(Number(ids.hi), n, 'the restored ids are gap-free');
  assert.ok(n >= before && n <= after, `restored N=${n} lies between the counts before (${before}) and after (${after}) the dump`);
  for (const table of ['items', 'wide']) assert.equal(await tableSum(b, 'shop_copy', table), await tableSum(a, 'shop', table), `${table} matches`);
  const loSum = 'SELECT b.lo::text AS oid, md5(lo_get(b.lo)) AS s, length(lo_get(b.lo)) AS len FROM blobs b';
  const [loA] = await sql<{ oid: string; s: string; len: number }>(a, 'shop', loSum);
  const [loB] = await sql<{ oid: string; s: string; len: number }>(b, 'shop_copy', loSum);
  assert.deepEqual(loB, loA);
  assert.equal(loA.len, 640000);
  assert.deepEqual((await sql(b, 'postgres', "SELECT datname FROM pg_database WHERE datname LIKE 'cairn_restore_%'")), [], 'no temporary database left');
  phase('compared');

});

test('pgsql: include/exclude patterns select the databases; a failing database is reported, the others stored; replace never refuses an existing database', async (t) => {
  const c = await startPostgres(t);
  if (!c) return;
  t.after(() => c.stop());
  const dir = tempDir(t, 'cairn-pgsql-sel-');
  const repo = join(dir, 'repo');
  cairnOk(repo, ['init']);
  for (const db of ['app_one', 'app_two', 'app_secret', 'logs', 'other']) await sql(c, 'postgres', `CREATE DATABASE ${db}`);
  await sql(c, 'app_one', 'CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)');
  const r = cairnOk(repo, ['backup', '--fileset', fileset(dir, c, { includeDatabases: ['app_*', 'logs'], excludeDatabases: ['app_two', '*secret*'], globals: false }), '--json']);
  assert.equal(r.json.status, 'ok');
  const ls = cairnOk(repo, ['ls', 'latest']).stdout.trim().split('\n').map((l) => l.split(' ').pop());
  assert.deepEqual(ls, ['/@pgsql/main/databases/app_one.dump', '/@pgsql/main/databases/logs.dump']);

  // Nothing selected fails the job with the code and the databases there are.
  const none = cairn(repo, ['backup', '--fileset', fileset(dir, c, { includeDatabases: ['nope*'] }), '--json']);
  assert.equal(none.status, 3, none.describe);
  assert.match(none.json.error.message, /CAIRN_E_PGSQL_NO_DATABASE|no database of the cluster/);
  assert.match(none.json.error.message, /app_one/);

  // A role that may not connect to one database: pg_dump fails for it alone, with its own words in the job log.
  await sql(c, 'postgres', "CREATE ROLE reader LOGIN; GRANT pg_read_all_data TO reader; REVOKE CONNECT ON DATABASE app_secret FROM PUBLIC");
  const w = cairn(repo, ['backup', '--fileset', fileset(dir, c, { user: 'reader', includeDatabases: ['app_*'], globals: false }), '--json']);
  assert.equal(w.json.status, 'warning', w.describe);
  const failed = w.json.warnings.filter((x: { code: string }) => x.code === 'CAIRN_E_PGSQL_DUMP_FAILED');
  assert.equal(failed.length, 1, w.describe);
  assert.equal(failed[0].path, '/@pgsql/main/databases/app_secret.dump');
  assert.match(failed[0].text, /pg_dump .*exited with status 1.*permission denied for database "?app_secret/);
  const stored = cairnOk(repo, ['ls', 'latest']).stdout.trim().split('\n').map((l) => l.split(' ').pop());
  assert.deepEqual(stored, ['/@pgsql/main/databases/app_one.dump', '/@pgsql/main/databases/app_two.dump']);

  // Replace policies, on app_one restored over itself from the first job (one row, id 1).
  const out = join(dir, 'out');
  cairnOk(repo, ['restore', '1', '--to', out, '--json']);
  const intoCluster = (replace: string) => cairn(repo, ['restore', '1', '/@pgsql/main/databases/app_one.dump', '--to', out, '--replace', replace,
    '--option', 'pgsql.restoreTarget=cluster', '--option', `pgsql.host=${c.host}`, '--option', `pgsql.user=${c.user}`, '--json']);
  await sql(c, 'app_one', 'INSERT INTO t VALUES (2)');
  const never = intoCluster('never');
  assert.equal(never.json.status, 'warning', never.describe);
  assert.deepEqual(never.json.warnings.map((w: { code: string }) => w.code), ['CAIRN_E_PGSQL_DB_EXISTS'], 'replace never refuses the existing database');
  assert.deepEqual((await sql(c, 'app_one', 'SELECT id FROM t ORDER BY id')).map((r) => r.id), [1, 2], 'and leaves it as it was');
  const always = intoCluster('always');
  assert.equal(always.json.status, 'ok', always.describe);
  assert.deepEqual((await sql(c, 'app_one', 'SELECT id FROM t ORDER BY id')).map((r) => r.id), [1], 'replace always swapped in the backed-up copy');
  assert.deepEqual(await sql(c, 'postgres', "SELECT datname FROM pg_database WHERE datname LIKE 'cairn_restore_%'"), []);
  // A dump-file restore with replace never keeps an existing file, with the same code.
  const again = cairn(repo, ['restore', '1', '--to', out, '--replace', 'never', '--json']);
  assert.equal(again.json.status, 'warning', again.describe);
  assert.deepEqual(again.json.warnings.map((w: { code: string }) => w.code), ['CAIRN_E_PGSQL_DB_EXISTS', 'CAIRN_E_PGSQL_DB_EXISTS']);
});

test('pgsql: a pg_dump older than the server is refused before any dump, naming the binaries found', async (t) => {
  const c = await startPostgres(t);
  if (!c) return;
  t.after(() => c.stop());
  const dir = tempDir(t, 'cairn-pgsql-ver-');
  const repo = join(dir, 'repo');
  cairnOk(repo, ['init']);
  // Test fixture: a binDir whose pg_dump reports an old release (it is never run past --version).
  const old = join(dir, 'pg96', 'bin');
  mkdirSync(old, { recursive: true });
  for (const tool of ['pg_dump', 'pg_dumpall']) {
    writeFileSync(join(old, tool), `#!/bin/sh\necho "${tool} (PostgreSQL) 9.6.24"\n`);
    chmodSync(join(old, tool), 0o755);
  }
  const r = cairn(repo, ['backup', '--fileset', fileset(dir, c, { binDir: old }), '--json']);
  assert.equal(r.status, 3, r.describe);
  const [{ v }] = await sql<{ v: string }>(c, 'postgres', "SELECT current_setting('server_version_num') AS v");
  const major = String(Math.floor(Number(v) / 10000));
  assert.match(r.json.error.message, new RegExp(`pg_dump must be PostgreSQL ${major} or newer`));
  assert.ok(r.json.error.message.includes(`${join(old, 'pg_dump')} (pg_dump (PostgreSQL) 9.6.24)`), r.json.error.message);
  assert.equal(r.json.files, 0);
});
