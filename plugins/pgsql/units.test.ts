// The pgsql agent's pure parts: tool version parsing, virtual paths, database
// selection and option checks. No server needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { comparePathsTreeOrder } from '../../plugin-api/index.js';
import { majorKey, majorLabel, versionNum } from './tools.js';
import { databasePath, globalsPath, parsePath } from './virtual-paths.js';
import { selectDatabases } from './database-selection.js';
import { pgsqlOptions } from './manifest.js';
import { dbnameArg } from './tool-process.js';
import type { DatabaseInfo } from './server.js';

test('tool versions parse the way server_version_num reads', () => {
  assert.equal(versionNum('pg_dump (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)'), 150014);
  assert.equal(versionNum('pg_dump (PostgreSQL) 9.6.24'), 90624);
  assert.equal(versionNum('pg_restore (PostgreSQL) 17beta1'), 170000);
  assert.equal(versionNum('psql (PostgreSQL) 16.2'), 160002);
  assert.equal(versionNum('not a version'), null);
  assert.equal(majorLabel(150014), '15');
  assert.equal(majorLabel(90624), '9.6');
  assert.ok(majorKey(150000) > majorKey(140011));
  assert.ok(majorKey(100000) > majorKey(90624));
  assert.equal(majorKey(150002), majorKey(150014));
});

test('virtual paths: globals sort before every database, names with / and % stay one component', () => {
  const g = globalsPath('main');
  for (const name of ['a', '0db', '-x', ' space', 'zz', 'UPPER', 'caf\u00e9']) {
    assert.ok(comparePathsTreeOrder(g, databasePath('main', name)) < 0, name);
  }
  const odd = databasePath('main', 'we/ird%2Fname');
  assert.equal(odd.toString(), '/@pgsql/main/databases/we%2Fird%252Fname.dump');
  assert.deepEqual(parsePath(odd), { kind: 'database', cluster: 'main', database: 'we/ird%2Fname' });
  assert.deepEqual(parsePath(g), { kind: 'globals', cluster: 'main' });
  assert.equal(parsePath(Buffer.from('/etc/passwd')), null);
  assert.equal(parsePath(Buffer.from('/@pgsql/main/databases/x.sql')), null);
  assert.equal(parsePath(Buffer.from('/@pgsql/../databases/x.dump')), null);
});

test('database selection: include globs, exclude wins, templates and closed databases left out', () => {
  const db = (name: string, extra: Partial<DatabaseInfo> = {}): DatabaseInfo => ({ name, owner: 'o', encoding: 'UTF8', collate: 'C', ctype: 'C', isTemplate: false, allowConnections: true, ...extra });
  const all = [db('app_one'), db('app_two'), db('logs'), db('postgres'), db('template1', { isTemplate: true }), db('template0', { isTemplate: true, allowConnections: false })];
  const s = selectDatabases(all, { include: ['app_*', 'logs', 'template*'], exclude: ['*two'], templates: false });
  assert.deepEqual(s.selected.map((d) => d.name), ['app_one', 'logs']);
  assert.deepEqual(s.skipped.map((d) => d.name), ['app_two', 'template1', 'template0']);
  assert.deepEqual(selectDatabases(all, { include: ['*'], exclude: [], templates: true }).selected.map((d) => d.name), ['app_one', 'app_two', 'logs', 'postgres', 'template1']);
});

test('options: defaults, and bad combinations named by key', () => {
  const o = pgsqlOptions({});
  assert.equal(o.cluster, 'main');
  assert.equal(o.connection.port, 5432);
  assert.deepEqual(o.includeDatabases, ['*']);
  assert.equal(o.restoreTarget, 'auto');
  const fail = (raw: Record<string, unknown>, key: string) =>
    assert.throws(() => pgsqlOptions(raw), (e: { code: string; fields: { key: string } }) => e.code === 'CAIRN_E_PGSQL_OPTIONS' && e.fields.key === key);
  fail({ renameTo: 'x', rename: { a: 'b' } }, 'renameTo');
  fail({ rename: { a: 'same', b: 'same' } }, 'rename');
  fail({ restoreTarget: 'tape' }, 'restoreTarget');
  fail({ cluster: '../etc' }, 'cluster');
  fail({ port: 0 }, 'port');
  fail({ shell: 'rm -rf /' }, 'shell');
});

test('a database name is always passed as a quoted connection-string value', () => {
  assert.equal(dbnameArg('shop'), "dbname='shop'");
  assert.equal(dbnameArg("host=evil o'k\\"), "dbname='host=evil o\\'k\\\\'");
});
