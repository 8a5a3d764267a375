// The pgsql agent passes the plugin API conformance kit on a real cluster:
// backups of three small databases (and the globals), restored into the
// same cluster under new names (rename mapping, replace always on the second
// and third restore), an Incremental after a database was dropped and
// another created reporting the dropped one deleted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import pg from 'pg';
import { runConformance } from '../../plugin-api/index.js';
import { startPostgres, type PostgresCluster } from '../../test/support/postgres.js';
import { makeTempDir, removeTree } from '../../test/support/index.js';
import * as pgsqlAgent from './index.js';

async function sql(c: PostgresCluster, database: string, text: string): Promise<Array<Record<string, unknown>>> {
  const client = new pg.Client({ host: c.host, port: c.port, user: c.user, database });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

const sumOf = async (c: PostgresCluster, db: string) => (await sql(c, db, "SELECT md5(string_agg(t::text, ',' ORDER BY id)) AS s FROM t t"))[0].s;

test('the pgsql agent passes the plugin API conformance kit against a real cluster', async (t) => {
  const c = await startPostgres(t);
  if (!c) return;
  t.after(() => c.stop());
  const top = makeTempDir('cairn-pgsql-kit-');
  t.after(() => removeTree(top));
  for (const db of ['kit_a', 'kit_b']) {
    await sql(c, 'postgres', `CREATE DATABASE ${db}`);
    await sql(c, db, "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, repeat(md5(g::text), 40) FROM generate_series(1, 3000) g");
  }
  const copyOf = (db: string) => db.replace(/^kit_/, 'copy_');
  const report = await runConformance(pgsqlAgent, {
    include: [],
    scratch: path.join(top, 'scratch'),
    options: { host: c.host, user: c.user, includeDatabases: ['kit_*'] },
    restoreOptions: { restoreTarget: 'cluster', host: c.host, user: c.user, rename: { kit_a: 'copy_a', kit_b: 'copy_b', kit_new: 'copy_new' } },
    mutate: async () => {
      await sql(c, 'kit_a', "INSERT INTO t VALUES (5000, 'after the full')");
      await sql(c, 'postgres', 'DROP DATABASE kit_b');
      await sql(c, 'postgres', 'CREATE DATABASE kit_new');
      await sql(c, 'kit_new', "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'new')");
    },
    compare: async () => {
      const names = (await sql(c, 'postgres', 'SELECT datname FROM pg_database ORDER BY datname')).map((r) => String(r.datname));
      const sources = names.filter((n) => n.startsWith('kit_'));
      const problems: string[] = [];
      for (const db of sources) {
        if (!names.includes(copyOf(db))) problems.push(`${copyOf(db)} was not restored`);
        else if ((await sumOf(c, copyOf(db))) !== (await sumOf(c, db))) problems.push(`${copyOf(db)} differs from ${db}`);
      }
      for (const n of names) if (n.startsWith('copy_') && !sources.includes(n.replace(/^copy_/, 'kit_'))) problems.push(`${n} was restored but its source is gone`);
      if (names.some((n) => n.startsWith('cairn_restore_'))) problems.push('a temporary database was left');
      for (const n of names) if (n.startsWith('copy_')) await sql(c, 'postgres', `DROP DATABASE ${n}`);
      return { ok: problems.length === 0, message: problems.join('; ') || `${sources.join(', ')} restored as copies` };
    },
  });
  assert.deepEqual(report.checks.filter((x) => !x.ok), []);
  assert.equal(report.ok, true);
  assert.equal(report.agent, 'pgsql');
});
