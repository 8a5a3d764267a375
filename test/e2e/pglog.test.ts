/**
 * Acceptance: the pglog agent (PostgreSQL base backup + WAL, Exchange-style)
 * on a real cluster, through the console.
 *
 * A throwaway cluster (1 MiB WAL segments) archives into a spool folder with
 * the archive_command docs/agents/pglog.md gives. Full → rows A →
 * Incremental → rows B1, time T, rows B2 → Incremental → rows C →
 * Differential. Restored to the latest point (chain Full + Differential)
 * and as at T (chain Full + both Incrementals, T as recovery target), each
 * recovered cluster starts with pg_ctl and holds exactly the rows committed
 * by then. The spool keeps what a later Differential needs and loses the
 * rest only after a committed job. A WAL segment removed from the spool is
 * named by the next Incremental, which fails and deletes nothing; a Full
 * after it succeeds and clears the spool up to its own WAL. A tablespace
 * beyond the default is refused by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir } from '../support/index.js';
import { startExistingCluster, startPostgres } from '../support/postgres.js';
import { cairn, cairnOk } from './cli-runner.js';

const SEGMENT = /^[0-9A-F]{24}$/;

test('pglog: Full, Incrementals, Differential; restore latest and as at a time; gap named; spool cleanup', async (t) => {
  const tmp = tempDir(t, 'cairn-e2e-pglog-');
  chmodSync(tmp, 0o711); // the server's user (nobody, when root runs the tests) reaches the spool and the restored clusters
  const spool = join(tmp, 'spool');
  const pg = await startPostgres(t, { initdbArgs: ['--wal-segsize=1'], archiveTo: spool });
  if (!pg) return;
  t.after(() => pg.stop());
  const repo = join(tmp, 'R');
  const filesetPath = join(tmp, 'pg.yaml');
  writeFileSync(
    filesetPath,
    JSON.stringify({ name: 'pg', agents: [{ agent: 'pglog', options: { spool, host: pg.host, port: pg.port, user: pg.user, archiveWaitSeconds: 60 } }] }),
  );

  const spooled = (): string[] => readdirSync(spool).filter((n) => SEGMENT.test(n)).sort();
  const insert = (from: number, to: number, phase: string) => pg.query(`INSERT INTO t SELECT g, '${phase}' FROM generate_series(${from}, ${to}) g`);
  /** The WAL segments a job shipped, from the catalog (`ls` of its chain, rows of that job). */
  const walOf = (jobId: number): string[] => {
    const r = cairnOk(repo, ['ls', String(jobId), '--json']);
    return (r.json.files as Array<{ path: string; jobId: number }>)
      .filter((f) => f.jobId === jobId && f.path.startsWith('/pglog/main/wal/'))
      .map((f) => f.path.slice('/pglog/main/wal/'.length))
      .filter((n) => SEGMENT.test(n))
      .sort();
  };
  const backup = (level: string, expectStatus = 0) => {
    const r = cairnOk(repo, ['backup', '--fileset', filesetPath, '--level', level, '--json'], expectStatus, { timeoutMs: 120_000 });
    return r.json;
  };

  await pg.query('CREATE TABLE t (id int PRIMARY KEY, phase text NOT NULL)');

  // Full: base + the WAL that makes it consistent. After it commits, nothing at or before its WAL stays spooled.
  const full = backup('full');
  assert.equal(full.level, 'full');
  assert.equal(full.restoreKind, 'log', 'a pglog backup is recorded as log-type');
  const fullWal = walOf(full.jobId);
  assert.ok(fullWal.length >= 1, 'the Full ships the WAL from its start to the switch');
  assert.deepEqual(spooled().filter((s) => s <= fullWal.at(-1)!), [], 'the committed Full removed the segments up to its last one');

  await insert(1, 100, 'A');
  const inc1 = backup('incremental');
  assert.equal(inc1.level, 'incremental');
  const inc1Wal = walOf(inc1.jobId);
  assert.ok(inc1Wal.length >= 1 && inc1Wal[0] > fullWal.at(-1)!, `the Incremental ships what follows the Full: ${inc1Wal}`);
  for (const s of inc1Wal) assert.ok(spooled().includes(s), `${s} stays spooled for a later Differential`);

  await insert(101, 150, 'B1');
  await sleep(50);
  const [{ now: asAt }] = await pg.query<{ now: Date }>('SELECT clock_timestamp() AS now');
  await sleep(50);
  await insert(151, 200, 'B2');
  const inc2 = backup('incremental');
  const inc2Wal = walOf(inc2.jobId);
  assert.ok(inc2Wal[0] > inc1Wal.at(-1)!, 'the second Incremental starts after the first one');

  await insert(201, 250, 'C');
  const diff = backup('differential');
  assert.equal(diff.level, 'differential');
  assert.equal(diff.baseJobId, full.jobId);
  const diffWal = walOf(diff.jobId);
  for (const s of [...inc1Wal, ...inc2Wal]) assert.ok(diffWal.includes(s), `the Differential ships ${s} again (all WAL since the Full)`);
  for (const s of diffWal) assert.ok(spooled().includes(s), `${s} stays spooled: the Full is still the chain's`);

  const rowsOf = async (where: string, name: string) => {
    const cl = await startExistingCluster(join(where, 'main', 'data'), join(tmp, `sock-${name}`), { waitPromoted: true });
    try {
      return await cl.query<{ n: string; s: string; phases: string }>("SELECT count(*) AS n, sum(id) AS s, string_agg(DISTINCT phase, ',' ORDER BY phase) AS phases FROM t");
    } finally {
      await cl.stop();
    }
  };

  // Latest: chain Full + Differential; every committed row.
  const latest = join(tmp, 'latest');
  const r1 = cairnOk(repo, ['restore', 'latest', '--to', latest, '--json']);
  assert.deepEqual(r1.json.chain, [full.jobId, diff.jobId], r1.describe);
  assert.equal(r1.json.recoveryTarget, undefined);
  assert.deepEqual(await rowsOf(latest, 'latest'), [{ n: '250', s: String((250 * 251) / 2), phases: 'A,B1,B2,C' }]);

  // As at T (between the two Incrementals): the chain through the first backup that ended after T.
  const pit = join(tmp, 'pit');
  const r2 = cairnOk(repo, ['restore', 'latest', '--as-at', asAt.toISOString(), '--to', pit, '--json']);
  assert.deepEqual(r2.json.chain, [full.jobId, inc1.jobId, inc2.jobId], r2.describe);
  assert.equal(r2.json.recoveryTarget, asAt.toISOString());
  assert.deepEqual(await rowsOf(pit, 'pit'), [{ n: '150', s: String((150 * 151) / 2), phases: 'A,B1' }]);
  rmSync(latest, { recursive: true, force: true });
  rmSync(pit, { recursive: true, force: true });

  // A segment removed from the spool: the next Incremental names it and fails; nothing is deleted.
  const switched: string[] = [];
  for (let i = 0; i < 3; i++) {
    await insert(1000 + i * 10, 1005 + i * 10, 'D');
    switched.push((await pg.query<{ seg: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS seg'))[0].seg);
  }
  for (let i = 0; i < 600 && !switched.every((s) => spooled().includes(s)); i++) await sleep(50);
  const fresh = spooled().filter((s) => s > diffWal.at(-1)!);
  assert.ok(fresh.length >= 3, `new segments archived after the Differential: ${fresh}`);
  const victim = fresh[1];
  unlinkSync(join(spool, victim));
  const before = spooled();
  const gap = backup('incremental', 3);
  assert.equal(gap.status, 'error');
  assert.equal(gap.error.agentCode, 'CAIRN_E_PGLOG_WAL_GAP', JSON.stringify(gap.error));
  assert.match(gap.error.message, new RegExp(`WAL segment ${victim} is missing`));
  const after = spooled();
  for (const s of before) assert.ok(after.includes(s), `${s} still spooled after the failed job`);

  // A Full starts a new chain; once committed, everything up to its last segment is gone.
  const full2 = backup('full');
  assert.equal(full2.status, 'ok');
  const full2Wal = walOf(full2.jobId);
  assert.deepEqual(spooled().filter((s) => s <= full2Wal.at(-1)!), []);
  // An Incremental right after it (usually no WAL since: the switch names the Full's last segment, already removed) follows it.
  const inc3 = cairn(repo, ['backup', '--fileset', filesetPath, '--level', 'incremental', '--json']);
  assert.equal(inc3.json.status, 'ok', inc3.describe);
  assert.equal(inc3.json.baseJobId, full2.jobId);

  // A tablespace beyond the default: refused, naming it, rather than backed up in part.
  const tsDir = join(tmp, 'ts');
  mkdirSync(tsDir);
  if (process.getuid?.() === 0) chownSync(tsDir, 65534, 65534);
  await pg.query(`CREATE TABLESPACE elsewhere LOCATION '${tsDir}'`);
  const ts = backup('incremental', 3);
  assert.equal(ts.error.agentCode, 'CAIRN_E_PGLOG_TABLESPACES', JSON.stringify(ts.error));
  assert.match(ts.error.message, new RegExp(`elsewhere at ${tsDir}`));
  await pg.query('DROP TABLESPACE elsewhere');
});
