#!/usr/bin/env node
// `npm run bench:pgsql [-- --mb N] [--rounds R]`: pgsql agent backup throughput against pg_dump
// itself (docs/agents/pgsql.md, "Speed"). Runs on the build in ./dist and bin/cairn.js.
//
// A throwaway cluster (dist/test/support/postgres.js: initdb, Unix socket, fsync=off, as nobody when
// root) gets one database of N MB (default 1100) of generated rows: ids, numbers, timestamps, eight
// distinct md5 hex strings and a repetitive text padding the row to ≈ 1 KiB (gzip and zstd both
// find some, not all, redundancy: the -Z0 dump compresses about 5:1 with gzip). Then per round, in this order:
//   1. reference: `pg_dump -Fc --dbname=bench > file` (pg_dump's default compression, what admins run)
//   2. raw:       `pg_dump -Fc -Z0 > file` (the speed of pg_dump itself, no compression)
//   3. cairn:     `cairn backup --fileset F` in local mode, one pgsql line (includeDatabases [bench],
//                 no globals); the agent runs pg_dump -Fc -Z0 and the FD compresses with zstd level 1
// Reported: seconds and MB/s (database size / wall time) of each, and the ratio cairn / reference
// (throughput: > 1 means Cairn is faster), the median over R rounds (default 2). Stored sizes too.
// Results go to .bench/results-pgsql.json.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, args, option, median } from './bench/cli.mjs';

const MB = Number(option('--mb', 1100));
const ROUNDS = Number(option('--rounds', 2));
const log = (msg) => console.error(`[bench:pgsql] ${msg}`);

const load = (p) => import(pathToFileURL(join(ROOT, 'dist', p)).href);
const { startPostgres, postgresBinDir } = await load('test/support/postgres.js');
const { default: pg } = await import('pg');

function run(cmd, argv, { stdoutFile, env } = {}) {
  return new Promise((resolve, reject) => {
    const fd = stdoutFile ? openSync(stdoutFile, 'w') : null;
    const started = process.hrtime.bigint();
    const child = spawn(cmd, argv, { stdio: ['ignore', fd ?? 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    child.stdout?.setEncoding('utf8').on('data', (s) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s) => (err += s));
    child.on('error', reject);
    child.on('close', (code) => {
      if (fd !== null) closeSync(fd);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) reject(new Error(`${cmd} ${argv.join(' ')} exited ${code}: ${err.slice(-2000)} ${out.slice(-2000)}`));
      else resolve({ seconds, stdout: out });
    });
  });
}


const cluster = await startPostgres();
if (!cluster) throw new Error('PostgreSQL (initdb, pg_ctl) is not installed');
const work = mkdtempSync(join(tmpdir(), 'cairn-bench-pgsql-'));
try {
  const bin = dirname(realpathSync(join(postgresBinDir(), 'initdb')));
  const conn = { host: cluster.host, port: cluster.port, user: cluster.user };
  const admin = new pg.Client({ ...conn, database: 'postgres' });
  await admin.connect();
  await admin.query('CREATE DATABASE bench');
  await admin.end();
  const db = new pg.Client({ ...conn, database: 'bench' });
  await db.connect();
  const rows = Math.ceil((MB * 1024 * 1024) / 1075);
  log(`generating ${rows} rows (≈ ${MB} MB)…`);
  let t0 = Date.now();
  await db.query('CREATE TABLE big (id bigint PRIMARY KEY, n int, x float8, at timestamptz, h text, pad text)');
  const step = 100_000;
  for (let from = 1; from <= rows; from += step) {
    await db.query(
      `INSERT INTO big SELECT g, g % 1000, g * 0.37, '2026-01-01'::timestamptz + g * interval '1 second',
         md5(g::text) || md5((g + 1)::text) || md5((g * 3)::text) || md5((g * 7)::text),
         rpad(md5((g * 11)::text) || md5((g * 13)::text) || md5((g * 17)::text) || md5((g * 19)::text), 720, ' ' || md5((g % 977)::text) || ' status ' || (g % 7)::text)
       FROM generate_series($1::bigint, $2::bigint) g`,
      [from, Math.min(rows, from + step - 1)],
    );
  }
  await db.query('VACUUM ANALYZE big');
  const size = Number((await db.query("SELECT pg_database_size('bench') AS s")).rows[0].s);
  await db.end();
  log(`database bench: ${(size / 1048576).toFixed(0)} MiB, generated in ${((Date.now() - t0) / 1000).toFixed(1)} s; tools from ${bin}`);

  const dumpArgs = ['--host', cluster.host, '--port', String(cluster.port), '--username', cluster.user, '--format=custom', '--dbname=bench'];
  const fileset = join(work, 'fileset.yaml');
  writeFileSync(fileset, `name: bench\nagents:\n  - agent: pgsql\n    options: ${JSON.stringify({ host: cluster.host, user: cluster.user, includeDatabases: ['bench'], globals: false, binDir: bin })}\n`);
  const rounds = [];
  for (let r = 1; r <= ROUNDS; r++) {
    const ref = await run(join(bin, 'pg_dump'), dumpArgs, { stdoutFile: join(work, 'ref.dump') });
    const refBytes = statSync(join(work, 'ref.dump')).size;
    rmSync(join(work, 'ref.dump'));
    const raw = await run(join(bin, 'pg_dump'), [...dumpArgs, '--compress=0'], { stdoutFile: join(work, 'raw.dump') });
    const rawBytes = statSync(join(work, 'raw.dump')).size;
    rmSync(join(work, 'raw.dump'));
    const repo = join(work, `repo-${r}`);
    await run(process.execPath, [join(ROOT, 'bin/cairn.js'), '--repo', repo, 'init']);
    t0 = Date.now();
    const c = await run(process.execPath, [join(ROOT, 'bin/cairn.js'), '--repo', repo, 'backup', '--fileset', fileset, '--json']);
    const report = JSON.parse(c.stdout.trim().split('\n').pop());
    if (report.status !== 'ok') throw new Error(`cairn backup: ${c.stdout}`);
    rmSync(repo, { recursive: true, force: true });
    const row = { round: r, referenceSeconds: ref.seconds, referenceBytes: refBytes, rawSeconds: raw.seconds, rawBytes, cairnSeconds: c.seconds, cairnStoredBytes: report.storedBytes, cairnDumpBytes: report.bytes, ratio: ref.seconds / c.seconds, ratioRaw: raw.seconds / c.seconds };
    rounds.push(row);
    log(`round ${r}: pg_dump -Fc ${ref.seconds.toFixed(1)} s, pg_dump -Fc -Z0 ${raw.seconds.toFixed(1)} s, cairn ${c.seconds.toFixed(1)} s → ${row.ratio.toFixed(2)}× the reference`);
  }
  const mbps = (s) => (size / 1048576 / s).toFixed(0);
  const summary = {
    databaseBytes: size,
    rounds,
    medianRatio: median(rounds.map((x) => x.ratio)),
    medianRatioRaw: median(rounds.map((x) => x.ratioRaw)),
  };
  const line = (name, s, bytes) => `${name.padEnd(34)} ${s.toFixed(1).padStart(7)} s ${mbps(s).padStart(6)} MiB/s ${(bytes / 1048576).toFixed(0).padStart(7)} MiB stored`;
  const m = (k) => median(rounds.map((x) => x[k]));
  console.log(
    [
      `pgsql backup of a ${(size / 1048576).toFixed(0)} MiB database (median of ${ROUNDS} round(s))`,
      line('pg_dump -Fc > file (reference)', m('referenceSeconds'), m('referenceBytes')),
      line('pg_dump -Fc -Z0 > file', m('rawSeconds'), m('rawBytes')),
      line('cairn backup (pgsql, zstd 1)', m('cairnSeconds'), m('cairnStoredBytes')),
      `ratio cairn / reference (throughput): ${summary.medianRatio.toFixed(2)}×; cairn / pg_dump -Z0: ${summary.medianRatioRaw.toFixed(2)}×`,
    ].join('\n'),
  );
  mkdirSync(join(ROOT, '.bench'), { recursive: true });
  writeFileSync(join(ROOT, '.bench', 'results-pgsql.json'), JSON.stringify(summary, null, 2));
} finally {
  rmSync(work, { recursive: true, force: true });
  await cluster.stop();
}
