/**
 * Which jobs count: the base of a new backup (lastSuccessfulJob), the chain a
 * restore needs (restoreChain) and the backup in force at a time (jobAsAt).
 * Only ok and warning jobs ever count; failed, cancelled and running never.
 * "Before/after" between jobs of one (client, name) is job id order, which is
 * creation order.
 */
import { CairnError, type Level } from '../../plugin-api/index.js';
import type { CatalogDriver } from './driver.js';
import { jobFromRow } from './row-codec.js';
import { and, eq, gt, inList, le, lt } from './sql/conditions.js';
import type { QueryBuilder } from './sql/query-builder.js';
import { type CatalogJob, SUCCESSFUL_STATUSES } from './types.js';

export interface LastSuccessfulQuery {
  client: string;
  name: string;
  levels: readonly Level[];
  /** Only jobs started strictly before this time. */
  before?: Date;
  /** Only jobs run with this fileset hash. */
  filesetHash?: string;
}

export class JobChain {
  constructor(
    private readonly driver: CatalogDriver,
    private readonly qb: QueryBuilder,
  ) {}

  private successfulBackups(client: string, name: string) {
    return and(eq('client', client), eq('name', name), eq('type', 'backup'), inList('status', SUCCESSFUL_STATUSES));
  }

  async lastSuccessfulJob(q: LastSuccessfulQuery): Promise<CatalogJob | null> {
    if (q.levels.length === 0) return null;
    const row = await this.driver.get(
      this.qb.select({
        from: 'jobs',
        where: and(
          this.successfulBackups(q.client, q.name),
          inList('level', q.levels),
          q.before === undefined ? undefined : lt('started_at', q.before.getTime()),
          q.filesetHash === undefined ? undefined : eq('fileset_hash', q.filesetHash),
        ),
        orderBy: [{ column: 'started_at', desc: true }, { column: 'id', desc: true }],
        limit: 1,
      }),
    );
    return row === undefined ? null : jobFromRow(row);
  }

  /** The last successful job of `level` with afterId < id <= uptoId. */
  private async lastOfLevel(job: CatalogJob, level: Level, afterId: number): Promise<CatalogJob | null> {
    const row = await this.driver.get(
      this.qb.select({
        from: 'jobs',
        where: and(this.successfulBackups(job.client, job.name), eq('level', level), gt('id', afterId), le('id', job.id)),
        orderBy: [{ column: 'id', desc: true }],
        limit: 1,
      }),
    );
    return row === undefined ? null : jobFromRow(row);
  }

  /**
   * Last Full <= job, then the last Differential after that Full <= job, then
   * every Incremental after those <= job, oldest first.
   */
  async restoreChain(job: CatalogJob): Promise<CatalogJob[]> {
    const full = await this.lastOfLevel(job, 'full', 0);
    if (full === null) {
      throw new CairnError('CAIRN_E_CATALOG_NO_FULL', `no successful Full backup of ${job.name} for client ${job.client} at or before job ${job.id}`, {
        jobId: job.id, client: job.client, jobName: job.name,
      });
    }
    const diff = await this.lastOfLevel(job, 'differential', full.id);
    const since = diff?.id ?? full.id;
    const rows = await this.driver.all(
      this.qb.select({
        from: 'jobs',
        where: and(this.successfulBackups(job.client, job.name), eq('level', 'incremental'), gt('id', since), le('id', job.id)),
        orderBy: ['id'],
      }),
    );
    return [full, ...(diff === null ? [] : [diff]), ...rows.map(jobFromRow)];
  }

  /**
   * The first successful backup of (client, name) that ended strictly after
   * `date`: for log-type agents the logs covering `date` sit there
   * (docs/plugin-api.md §Log-type restores).
   */
  async jobEndedAfter(q: { client: string; name: string }, date: Date): Promise<CatalogJob | null> {
    const row = await this.driver.get(
      this.qb.select({
        from: 'jobs',
        where: and(this.successfulBackups(q.client, q.name), gt('ended_at', date.getTime())),
        orderBy: [{ column: 'ended_at' }, { column: 'id' }],
        limit: 1,
      }),
    );
    return row === undefined ? null : jobFromRow(row);
  }

  /** The last successful backup of (client, name) that ended at or before `date`. */
  async jobAsAt(q: { client: string; name: string }, date: Date): Promise<CatalogJob | null> {
    const row = await this.driver.get(
      this.qb.select({
        from: 'jobs',
        where: and(this.successfulBackups(q.client, q.name), le('ended_at', date.getTime())),
        orderBy: [{ column: 'ended_at', desc: true }, { column: 'id', desc: true }],
        limit: 1,
      }),
    );
    return row === undefined ? null : jobFromRow(row);
  }
}
