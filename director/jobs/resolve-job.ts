/**
 * Finds the backup job a console command names: an id, `latest`, or the one
 * in force at a time (`--as-at`). For a job whose agents restore log-type
 * (JobReport.restoreKind, plugin API 1.3), a restore as at time T reads the
 * chain through the first backup that ended after T — the logs covering T
 * sit there — and T becomes the agents' recovery target (resolveRestorePoint).
 */
import { hostname } from 'node:os';
import { CairnError } from '../../plugin-api/index.js';
import type { Catalog, CatalogJob } from '../catalog/index.js';

export interface ResolveOptions {
  asAt?: Date;
  name?: string;
  client?: string;
}

/** What a restore reads: the job whose chain it takes, and the log agents' recovery target. */
export interface RestorePoint {
  job: CatalogJob;
  /** Set when the job's agents restore log-type and a time was asked for. */
  recoveryTarget?: Date;
}

/** True when a backup's report says one of its agents restores log-type. */
export function isLogTypeJob(job: CatalogJob): boolean {
  return job.report?.restoreKind === 'log';
}

async function jobNameFor(catalog: Catalog, spec: string | number, opts: ResolveOptions, client: string): Promise<string | undefined> {
  let name = opts.name;
  if (!name && spec !== 'latest') name = (await catalog.getJob(Number(spec)))?.name;
  if (!name) name = (await catalog.listJobs({ client, type: 'backup', limit: 1 }))[0]?.name;
  return name;
}

/**
 * The job and recovery target of a restore (and of `ls`, which shows what a
 * restore would read). Without `asAt`, or for `files` agents, this is
 * resolveBackupJob. For log-type jobs as at T: the first successful backup
 * that ended after T (the latest one when none did), with T as target.
 */
export async function resolveRestorePoint(catalog: Catalog, spec: string | number, opts: ResolveOptions = {}): Promise<RestorePoint> {
  if (opts.asAt) {
    const client = opts.client ?? hostname();
    const name = await jobNameFor(catalog, spec, opts, client);
    const latest = name ? await catalog.lastSuccessfulJob({ client, name, levels: ['full', 'incremental', 'differential'] }) : null;
    if (latest && isLogTypeJob(latest)) {
      const after = await catalog.jobEndedAfter({ client, name: name! }, opts.asAt);
      return { job: after ?? latest, recoveryTarget: opts.asAt };
    }
  }
  return { job: await resolveBackupJob(catalog, spec, opts) };
}

export async function resolveBackupJob(catalog: Catalog, spec: string | number, opts: ResolveOptions = {}): Promise<CatalogJob> {
  const client = opts.client ?? hostname();
  if (opts.asAt) {
    const name = await jobNameFor(catalog, spec, opts, client);
    const job = name ? await catalog.jobAsAt({ client, name }, opts.asAt) : null;
    if (!job) throw new CairnError('CAIRN_E_JOB_NOT_FOUND', `no successful backup${name ? ` of job "${name}"` : ''} ended at or before ${opts.asAt.toISOString()}`, { asAt: opts.asAt.toISOString(), name });
    return job;
  }
  if (spec === 'latest') {
    const jobs = await catalog.listJobs({ client, type: 'backup', ...(opts.name ? { name: opts.name } : {}), limit: 100 });
    const job = jobs.find((j) => j.status === 'ok' || j.status === 'warning');
    if (!job) throw new CairnError('CAIRN_E_JOB_NOT_FOUND', `no successful backup${opts.name ? ` of job "${opts.name}"` : ''} in this repository yet`, { name: opts.name });
    return job;
  }
  const id = Number(spec);
  if (!Number.isInteger(id) || id <= 0) throw new CairnError('CAIRN_E_USAGE', `"${spec}" is not a job id or "latest"`, { job: spec });
  const job = await catalog.getJob(id);
  if (!job || job.type !== 'backup') throw new CairnError('CAIRN_E_JOB_NOT_FOUND', `there is no backup job ${id} in this repository`, { jobId: id });
  return job;
}
