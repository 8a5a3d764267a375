#!/usr/bin/env node
// `npm run bench:catalog [-- DIST] [--rows N] [--rounds R]`: catalog file-row insert speed
// (docs/catalog.md, "Insert speed"). Runs on a build (DIST, default ./dist): it imports the
// compiled catalog and the test cluster helper (dist/test/support/postgres.js: a throwaway
// PostgreSQL cluster on a Unix socket, fsync=off, as nobody when root).
//
// Measures Catalog.insertFiles in batches of 2,000 rows (director/jobs CATALOG_BATCH_ROWS), the rows
// built before the clock starts (what is timed: validation, row encoding, the database):
//   1. SQLite (WAL, file in a temp dir), N rows (default 200,000) into one job
//   2. PostgreSQL, N rows into one job
//   3. PostgreSQL, 2 jobs at once, N/2 rows each (default batch pool, 4 connections)
//   4. PostgreSQL, the same 2 jobs with batchConnections: 1 (one batch at a time: the serialised case)
//   5. SQLite, the same 2 jobs at once
// Every figure is the median of R rounds (default 3), each on a fresh database.
import { Buffer } from 'node:buffer';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { args, option, positional, median } from './bench/cli.mjs';

const DIST = resolve(positional[0] ?? new URL('../dist', import.meta.url).pathname);
const N = Number(option('--rows', 200_000));
const ROUNDS = Number(option('--rounds', 3));
const BATCH = 2000;
const log = (msg) => console.error(`[bench:catalog] ${msg}`);

const load = (p) => import(pathToFileURL(join(DIST, p)).href);
const { Catalog, PgDriver } = await load('director/catalog/index.js');
const { startPostgres } = await load('test/support/postgres.js');

function makeRows(n, seed) {
  const rows = new Array(n);
  for (let i = 0; i < n; i++) {
    rows[i] = {
      fileIndex: i + 1,
      path: Buffer.from(`/srv/data/j${seed}/d${String(i % 1000).padStart(4, '0')}/file-${String(i).padStart(7, '0')}.dat`),
      agent: 'fs/1',
      kind: 'file',
      stat: {
        mode: 0o100644, uid: 1000, gid: 1000, size: i * 10, mtimeNs: 1_700_000_000_123_456_789n + BigInt(i), atimeNs: 1n, ctimeNs: 2n,
        dev: 0xfd00n, ino: BigInt(i), nlink: 1, rdev: 0,
      },
      linkTarget: null, hardlinkTarget: null, meta: null, digest: Buffer.alloc(32, i & 0xff),
    };
  }
  return rows;
}

async function insertJob(cat, rows, name) {
  const job = await cat.createJob({ name, type: 'backup', level: 'full', client: 'bench', startedAt: new Date() });
  for (let b = 0; b < rows.length; b += BATCH) await cat.insertFiles(job, rows.slice(b, b + BATCH));
  return job;
}

/** Wall-clock rows/s of `jobs` jobs inserting their rows at once; checks the counts. */
async function measure(cat, rowSets) {
  const t = process.hrtime.bigint();
  const jobs = await Promise.all(rowSets.map((rows, i) => insertJob(cat, rows, `bench-${i}`)));
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  let total = 0;
  for (let i = 0; i < jobs.length; i++) {
    const n = await cat.countFiles(jobs[i]);
    if (n !== rowSets[i].length) throw new Error(`job ${jobs[i]} has ${n} rows, expected ${rowSets[i].length}`);
    total += n;
  }
  return total / s;
}

const one = [makeRows(N, 0)];
const two = [makeRows(N / 2, 1), makeRows(N / 2, 2)];
const results = {};

async function run(label, open, rowSets) {
  const figures = [];
  for (let r = 0; r < ROUNDS; r++) {
    const { cat, done } = await open();
    try {
      figures.push(await measure(cat, rowSets));
    } finally {
      await cat.close();
      await done();
    }
  }
  results[label] = Math.round(median(figures));
  log(`${label}: ${results[label]} rows/s (rounds: ${figures.map(Math.round).join(', ')})`);
}

const sqlite = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-catalog-'));
  return { cat: await Catalog.open(join(dir, 'catalog.db')), done: async () => rmSync(dir, { recursive: true, force: true }) };
};

const cluster = await startPostgres();
if (!cluster) throw new Error('PostgreSQL (initdb, pg_ctl) not found');
const postgres = (batchConnections) => async () => {
  const database = await cluster.createDatabase();
  const driver = await PgDriver.open({ host: cluster.host, port: cluster.port, user: cluster.user, database, batchConnections });
  return { cat: await Catalog.openWith(driver), done: async () => undefined };
};

try {
  log(`${N} rows per case, batches of ${BATCH}, ${ROUNDS} rounds, dist ${DIST}`);
  await run(`sqlite, 1 job × ${N}`, sqlite, one);
  await run(`postgres, 1 job × ${N}`, postgres(undefined), one);
  await run(`postgres, 2 jobs × ${N / 2} at once`, postgres(undefined), two);
  await run(`postgres, 2 jobs × ${N / 2} at once, batchConnections 1`, postgres(1), two);
  await run(`sqlite, 2 jobs × ${N / 2} at once`, sqlite, two);
} finally {
  await cluster.stop();
}
console.log(JSON.stringify({ rows: N, batch: BATCH, rounds: ROUNDS, rowsPerSecond: results }, null, 2));
