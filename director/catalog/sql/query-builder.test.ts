import assert from 'node:assert/strict';
import { test } from 'node:test';
import { and, eq, ge, gt, inList, isNotNull, isNull, le, lt, ne, or } from './conditions.js';
import { createTableStatements } from './ddl.js';
import { postgres, sqlite } from './dialect.js';
import { QueryBuilder } from './query-builder.js';

const lite = new QueryBuilder('sqlite');
const pg = new QueryBuilder('postgres');

test('select with every condition kind, order and limit', () => {
  const spec = {
    from: 'jobs',
    columns: ['id', 'name'],
    where: and(
      eq('client', 'c1'),
      ne('status', 'error'),
      or(lt('id', 5), le('id', 6), gt('id', 7), ge('id', 8)),
      inList('level', ['full', 'incremental']),
      isNull('ended_at'),
      isNotNull('pool'),
    ),
    orderBy: ['name', { column: 'id', desc: true }],
    limit: 10,
  };
  assert.deepEqual(lite.select(spec), {
    text:
      'SELECT "id", "name" FROM "jobs" WHERE ("client" = ?) AND ("status" <> ?) AND (("id" < ?) OR ("id" <= ?) OR ("id" > ?) OR ("id" >= ?)) AND ("level" IN (?, ?)) AND ("ended_at" IS NULL) AND ("pool" IS NOT NULL) ORDER BY "name", "id" DESC LIMIT ?',
    params: ['c1', 'error', 5, 6, 7, 8, 'full', 'incremental', 10],
  });
  assert.deepEqual(pg.select(spec), {
    text:
      'SELECT "id", "name" FROM "jobs" WHERE ("client" = $1) AND ("status" <> $2) AND (("id" < $3) OR ("id" <= $4) OR ("id" > $5) OR ("id" >= $6)) AND ("level" IN ($7, $8)) AND ("ended_at" IS NULL) AND ("pool" IS NOT NULL) ORDER BY "name", "id" DESC LIMIT $9',
    params: ['c1', 'error', 5, 6, 7, 8, 'full', 'incremental', 10],
  });
});

test('select: aggregates, star, empty IN, eq null, identifier quoting', () => {
  assert.deepEqual(lite.select({ from: 'files', columns: [{ fn: 'count', as: 'n' }, { fn: 'max', column: 'file_index', as: 'm' }] }), {
    text: 'SELECT COUNT(*) AS "n", MAX("file_index") AS "m" FROM "files"',
    params: [],
  });
  assert.deepEqual(pg.select({ from: 'we"ird', where: and(inList('x', []), eq('y', null)) }), {
    text: 'SELECT * FROM "we""ird" WHERE (1 = 0) AND ("y" IS NULL)',
    params: [],
  });
  assert.throws(() => lite.select({ from: 'jobs', limit: -1 }), TypeError);
});

test('insert with returning and upsert', () => {
  const spec = {
    into: 'pools',
    values: { name: 'p', settings: '{}', volume_counter: 1 },
    onConflict: { target: ['name'], update: { volume_counter: { add: 1 }, settings: { excluded: 'settings' } } },
    returning: ['volume_counter'],
  };
  assert.deepEqual(lite.insert(spec), {
    text: 'INSERT INTO "pools" ("name", "settings", "volume_counter") VALUES (?, ?, ?) ON CONFLICT ("name") DO UPDATE SET "volume_counter" = "pools"."volume_counter" + ?, "settings" = excluded."settings" RETURNING "volume_counter"',
    params: ['p', '{}', 1, 1],
  });
  assert.deepEqual(pg.insert(spec), {
    text: 'INSERT INTO "pools" ("name", "settings", "volume_counter") VALUES ($1, $2, $3) ON CONFLICT ("name") DO UPDATE SET "volume_counter" = "pools"."volume_counter" + $4, "settings" = excluded."settings" RETURNING "volume_counter"',
    params: ['p', '{}', 1, 1],
  });
  const blob = new Uint8Array([0xff, 0]);
  assert.deepEqual(pg.insert({ into: 'clients', values: { name: 'c', b: blob, f: false }, onConflict: { target: ['name'], update: 'nothing' } }), {
    text: 'INSERT INTO "clients" ("name", "b", "f") VALUES ($1, $2, $3) ON CONFLICT ("name") DO NOTHING',
    params: ['c', blob, false],
  });
});

test('update and delete', () => {
  const u = { table: 'jobs', set: { status: 'ok', files: 3 }, where: eq('id', 7), returning: ['id'] };
  assert.deepEqual(lite.update(u), { text: 'UPDATE "jobs" SET "status" = ?, "files" = ? WHERE "id" = ? RETURNING "id"', params: ['ok', 3, 7] });
  assert.deepEqual(pg.update(u), { text: 'UPDATE "jobs" SET "status" = $1, "files" = $2 WHERE "id" = $3 RETURNING "id"', params: ['ok', 3, 7] });
  assert.deepEqual(pg.delete({ from: 'job_log', where: lt('time', 100n) }), { text: 'DELETE FROM "job_log" WHERE "time" < $1', params: [100n] });
  assert.deepEqual(lite.delete({ from: 'job_log' }), { text: 'DELETE FROM "job_log"', params: [] });
});

test('insertBatch renders one statement for all rows', () => {
  const b = pg.insertBatch('t', ['a', 'b'], [[1, 'x'], [2, 'y']]);
  assert.equal(b.text, 'INSERT INTO "t" ("a", "b") VALUES ($1, $2)');
  assert.equal(b.paramSets.length, 2);
  assert.throws(() => lite.insertBatch('t', ['a', 'b'], [[1]]), TypeError);
});

test('DDL maps column types per dialect', () => {
  const t = {
    name: 'files',
    columns: [
      { name: 'id', type: 'id' as const },
      { name: 'n', type: 'bigint' as const, notNull: true, default: 0 },
      { name: 'p', type: 'blob' as const },
      { name: 'd', type: 'boolean' as const, notNull: true, default: false },
      { name: 's', type: 'text' as const, default: "it's" },
    ],
    unique: [['n', 'p']],
    indexes: [{ name: 'files_n', columns: ['n'] }],
  };
  assert.deepEqual(createTableStatements(sqlite, t), [
    'CREATE TABLE "files" (\n  "id" INTEGER PRIMARY KEY,\n  "n" INTEGER NOT NULL DEFAULT 0,\n  "p" BLOB,\n  "d" INTEGER NOT NULL DEFAULT 0,\n  "s" TEXT DEFAULT \'it\'\'s\',\n  UNIQUE ("n", "p")\n)',
    'CREATE INDEX "files_n" ON "files" ("n")',
  ]);
  assert.deepEqual(createTableStatements(postgres, t, { ifNotExists: true }), [
    'CREATE TABLE IF NOT EXISTS "files" (\n  "id" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n  "n" BIGINT NOT NULL DEFAULT 0,\n  "p" BYTEA,\n  "d" BOOLEAN NOT NULL DEFAULT FALSE,\n  "s" TEXT DEFAULT \'it\'\'s\',\n  UNIQUE ("n", "p")\n)',
    'CREATE INDEX IF NOT EXISTS "files_n" ON "files" ("n")',
  ]);
});

