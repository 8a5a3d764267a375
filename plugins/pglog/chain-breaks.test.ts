/**
 * The pglog agent on a real cluster, driven hook by hook: what an
 * Incremental does when the chain is broken — a removed segment (fails
 * naming it, or with onGap: full takes a new base and says why), another
 * timeline or another cluster in the base state — and that a failed job's
 * jobEnded removes nothing from the spool.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { displayPath, isCairnError, kitContext, nodePlatformFileServices, type AgentState, type Level } from '../../plugin-api/index.js';
import { removeTree } from '../../test/support/temp.js';
import { startPostgres, type PostgresCluster } from '../../test/support/postgres.js';
import * as pglog from './index.js';
import type { PglogState } from './wal-plan.js';

const SEGMENT = /^[0-9A-F]{24}$/;

interface Run {
  paths: string[];
  state: PglogState;
  messages: Array<{ level: string; text: string; code?: string }>;
}

/** One backup through the hooks (data read and dropped), ended with `status`. */
async function run(options: Record<string, unknown>, level: Level, state: AgentState, status: 'ok' | 'error' = 'ok'): Promise<Run> {
  const kc = kitContext(pglog.manifest, { major: 1, minor: 3 }, nodePlatformFileServices(), []);
  const agent = await pglog.createAgent(kc.ctx);
  try {
    await agent.prepareBackup({ jobId: Math.floor(Math.random() * 1e6), jobName: 't', level, state, options, include: [], exclude: [] });
    const paths: string[] = [];
    for (let e = await agent.nextFile(); e; e = await agent.nextFile()) {
      paths.push(displayPath(e.path));
      for (const s of e.streams) for await (const c of agent.readData(e, s)) kc.chunks.done(c as Uint8Array);
    }
    const end = await agent.endBackup();
    await agent.jobEnded!(status);
    return { paths, state: end.state as unknown as PglogState, messages: kc.messages };
  } catch (err) {
    await agent.jobEnded!('error');
    throw err;
  }
}

async function switched(pg: PostgresCluster, spool: string): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < 3; i++) {
    await pg.query(`INSERT INTO g VALUES (${i})`);
    names.push((await pg.query<{ s: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS s'))[0].s);
  }
  for (let i = 0; i < 600 && !names.every((n) => readdirSync(spool).includes(n)); i++) await new Promise((r) => setTimeout(r, 50));
  return names;
}

test('pglog chain breaks: gap named (fail, or a new base with onGap: full), other timeline, other cluster; a failed job deletes nothing', async (t) => {
  const top = mkdtempSync(join(tmpdir(), 'cairn-pglog-breaks-'));
  t.after(() => removeTree(top));
  chmodSync(top, 0o711);
  const spool = join(top, 'spool');
  const pg = await startPostgres(t, { initdbArgs: ['--wal-segsize=1'], archiveTo: spool });
  if (!pg) return;
  t.after(() => pg.stop());
  await pg.query('CREATE TABLE g (i int)');
  const options = { spool, host: pg.host, port: pg.port, user: pg.user, archiveWaitSeconds: 60 };
  const spooled = () => readdirSync(spool).filter((n) => SEGMENT.test(n)).sort();

  const full = await run(options, 'full', null);
  assert.ok(full.paths.includes('/pglog/main/base.tar'));
  assert.equal(full.state.full.lastSegment, full.state.lastSegment);

  // A removed segment: the Incremental fails naming it; its jobEnded('error') removes nothing.
  const names = await switched(pg, spool);
  unlinkSync(join(spool, names[1]));
  const before = spooled();
  await assert.rejects(run(options, 'incremental', full.state as unknown as AgentState), (err: unknown) => {
    assert.ok(isCairnError(err));
    assert.equal(err.code, 'CAIRN_E_PGLOG_WAL_GAP');
    assert.equal(err.fields.segment, names[1]);
    return true;
  });
  for (const s of before) assert.ok(spooled().includes(s), `${s} kept after the failed job`);

  // The same with onGap: full: a new base in the Incremental, the reason as a warning; the chain's Full stays the cleanup mark.
  const forced = await run({ ...options, onGap: 'full' }, 'incremental', full.state as unknown as AgentState);
  assert.ok(forced.paths.includes('/pglog/main/base.tar'), `a base backup was taken: ${forced.paths}`);
  const warn = forced.messages.find((m) => m.code === 'CAIRN_E_PGLOG_FORCED_FULL');
  assert.ok(warn && warn.level === 'warning' && warn.text.includes(names[1]), JSON.stringify(forced.messages));
  assert.deepEqual(forced.state.full, full.state.full);
  assert.ok(forced.state.lastSegment > names[2]);

  // Another timeline, another cluster: refused before any WAL is read.
  await assert.rejects(run(options, 'incremental', { ...forced.state, timeline: 2 } as unknown as AgentState), { code: 'CAIRN_E_PGLOG_TIMELINE_SWITCH' });
  await assert.rejects(run(options, 'differential', { ...forced.state, systemId: '42' } as unknown as AgentState), { code: 'CAIRN_E_PGLOG_CLUSTER_CHANGED' });
  await assert.rejects(run(options, 'incremental', null), { code: 'CAIRN_E_PGLOG_NO_BASE_STATE' });

  // An Incremental with no WAL written since (the switch names a segment a committed Full removed): nothing to ship, still OK.
  const full2 = await run(options, 'full', null);
  const quiet = await run(options, 'incremental', full2.state as unknown as AgentState);
  // (Background work such as autovacuum may still write a little WAL: then only what follows the Full is shipped.)
  for (const p of quiet.paths.filter((x) => x.includes('/wal/'))) assert.ok(p.slice(-24) > full2.state.lastSegment, p);
  assert.ok(quiet.state.lastSegment >= full2.state.lastSegment);
});
