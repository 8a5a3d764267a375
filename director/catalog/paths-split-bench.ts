/**
 * Measurement behind the schema choice "path bytes inline in files" versus a
 * Bacula-style `paths` table (one row per distinct path, files point at it).
 * Not part of the catalog API. Run after a build:
 *   node dist/director/catalog/paths-split-bench.js
 * Inserts 100,000 rows for a first job (all paths new) and a second job (all
 * paths known) in batches of 1000, one transaction per batch, both layouts
 * interleaved in the same process so machine load affects both alike.
 */
import { Buffer } from 'node:buffer';
import { treeKey } from '../../plugin-api/index.js';
import { SqliteDriver } from './sqlite-driver.js';
import { createTableStatements, type TableDef } from './sql/ddl.js';
import { sqlite } from './sql/dialect.js';
import { QueryBuilder } from './sql/query-builder.js';
import type { SqlValue } from './sql/conditions.js';

const N = 100_000;
const qb = new QueryBuilder(sqlite);
const STAT_COLS = ['kind', 'mode', 'uid', 'gid', 'size', 'mtime_ns', 'atime_ns', 'ctime_ns', 'dev', 'ino', 'nlink', 'rdev', 'digest'];
const statDefs = STAT_COLS.map((name) => ({ name, type: name === 'kind' ? ('text' as const) : name === 'digest' ? ('blob' as const) : ('bigint' as const) }));

const inline: TableDef = {
  name: 'files',
  columns: [{ name: 'job_id', type: 'bigint' }, { name: 'file_index', type: 'bigint' }, { name: 'path', type: 'blob' }, { name: 'tree_key', type: 'blob' }, ...statDefs],
  primaryKey: ['job_id', 'file_index'],
  indexes: [{ name: 'files_job_tree', columns: ['job_id', 'tree_key'] }],
};
const split: TableDef[] = [
  { name: 'paths', columns: [{ name: 'id', type: 'id' }, { name: 'tree_key', type: 'blob', notNull: true }], unique: [['tree_key']] },
  {
    name: 'files',
    columns: [{ name: 'job_id', type: 'bigint' }, { name: 'file_index', type: 'bigint' }, { name: 'path_id', type: 'bigint' }, ...statDefs],
    primaryKey: ['job_id', 'file_index'],
    indexes: [{ name: 'files_job_path', columns: ['job_id', 'path_id'] }],
  },
];

function pathOf(i: number): Buffer {
  return Buffer.from(`/srv/data/d${String(i % 1000).padStart(4, '0')}/file-${String(i).padStart(7, '0')}.dat`);
}
function stat(i: number): SqlValue[] {
  return ['file', 0o100644, 1000, 1000, i * 10, 1_700_000_000_000_000_000n + BigInt(i), 1n, 2n, 0xfd00n, BigInt(i), 1, 0, Buffer.alloc(32, i & 0xff)];
}

async function runInline(job: number): Promise<number> {
  const d = SqliteDriver.open(':memory:');
  try {
    for (const s of createTableStatements(sqlite, inline)) await d.exec(s);
    let ms = 0;
    for (let j = 1; j <= job; j++) {
      const t = performance.now();
      for (let b = 0; b < N; b += 1000) {
        const rows: SqlValue[][] = [];
        for (let i = b; i < b + 1000; i++) rows.push([j, i + 1, pathOf(i), treeKey(pathOf(i)), ...stat(i)]);
        await d.runBatch(qb.insertBatch('files', ['job_id', 'file_index', 'path', 'tree_key', ...STAT_COLS], rows));
      }
      ms = performance.now() - t;
    }
    return ms;
  } finally {
    await d.close();
  }
}

async function runSplit(job: number): Promise<number> {
  const d = SqliteDriver.open(':memory:');
  try {
    for (const t of split) for (const s of createTableStatements(sqlite, t)) await d.exec(s);
    let ms = 0;
    for (let j = 1; j <= job; j++) {
      const t = performance.now();
      for (let b = 0; b < N; b += 1000) {
        await d.transaction(async (tx) => {
          const rows: SqlValue[][] = [];
          for (let i = b; i < b + 1000; i++) {
            const r = await tx.run(
              qb.insert({ into: 'paths', values: { tree_key: treeKey(pathOf(i)) }, onConflict: { target: ['tree_key'], update: { tree_key: { excluded: 'tree_key' } } }, returning: ['id'] }),
            );
            rows.push([j, i + 1, r.rows[0].id as bigint, ...stat(i)]);
          }
          await tx.runBatch(qb.insertBatch('files', ['job_id', 'file_index', 'path_id', ...STAT_COLS], rows));
        });
      }
      ms = performance.now() - t;
    }
    return ms;
  } finally {
    await d.close();
  }
}

for (const job of [1, 2]) {
  const a = await runInline(job);
  const b = await runSplit(job);
  console.log(`job ${job} (${job === 1 ? 'all paths new' : 'all paths known'}): inline ${a.toFixed(0)} ms, paths table ${b.toFixed(0)} ms for ${N} rows`);
}
