/**
 * The catalog side of retention (docs/catalog.md §Retention): reading every
 * job and where its data lies, and the two removals a prune makes — whole
 * jobs (their row, file rows, job media, log and agent states) and only a
 * job's file rows (file retention) — each one durable transaction. Which
 * jobs go is decided elsewhere (director/retention/prune-plan.ts).
 */
import { CairnError } from '../../plugin-api/index.js';
import type { CatalogDriver } from './driver.js';
import { jobFromRow, toNum } from './row-codec.js';
import { eq, inList } from './sql/conditions.js';
import type { QueryBuilder } from './sql/query-builder.js';
import type { CatalogJob } from './types.js';

/** Ids per DELETE … IN (…): well under SQLite's and PostgreSQL's parameter limits. */
const IDS_PER_STATEMENT = 500;

function chunks<T>(xs: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += IDS_PER_STATEMENT) out.push(xs.slice(i, i + IDS_PER_STATEMENT));
  return out;
}

export class RetentionStore {
  constructor(
    private readonly driver: CatalogDriver,
    private readonly qb: QueryBuilder,
  ) {}

  /** Every job of every type and status, oldest id first. */
  async allJobs(): Promise<CatalogJob[]> {
    const rows = await this.driver.all(this.qb.select({ from: 'jobs', orderBy: ['id'] }));
    return rows.map(jobFromRow);
  }

  /** job id → the volumes its job media name, in media order. */
  async jobVolumes(): Promise<Map<number, string[]>> {
    const rows = await this.driver.all(this.qb.select({ from: 'job_media', columns: ['job_id', 'volume'], orderBy: ['id'] }));
    const out = new Map<number, string[]>();
    for (const r of rows) {
      const id = toNum(r.job_id);
      const list = out.get(id) ?? [];
      if (!list.includes(String(r.volume))) list.push(String(r.volume));
      out.set(id, list);
    }
    return out;
  }

  /** Removes jobs with everything the catalog holds for them, in one durable transaction. */
  async deleteJobs(ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return;
    await this.driver.transaction(
      async (tx) => {
        for (const part of chunks(ids)) {
          for (const table of ['files', 'job_media', 'job_log', 'agent_state']) await tx.run(this.qb.delete({ from: table, where: inList('job_id', part) }));
          await tx.run(this.qb.delete({ from: 'jobs', where: inList('id', part) }));
        }
      },
      { durable: true },
    );
  }

  /** Removes the file rows of jobs (file retention) and marks them files_pruned. Durable. */
  async pruneFiles(ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return;
    await this.driver.transaction(
      async (tx) => {
        for (const part of chunks(ids)) {
          await tx.run(this.qb.delete({ from: 'files', where: inList('job_id', part) }));
          await tx.run(this.qb.update({ table: 'jobs', set: { files_pruned: true }, where: inList('id', part) }));
        }
      },
      { durable: true },
    );
  }

  /** Never prune (true) or prune by the rules again (false). Durable. */
  async setJobProtected(id: number, on: boolean): Promise<void> {
    const r = await this.driver.transaction((tx) => tx.run(this.qb.update({ table: 'jobs', set: { protected: on }, where: eq('id', id) })), { durable: true });
    if (r.changes === 0) throw new CairnError('CAIRN_E_CATALOG_NO_JOB', `no job ${id} in the catalog`, { jobId: id });
  }
}
