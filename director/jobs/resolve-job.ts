/**
 * Finds the backup job a console command names: an id, `latest`, or the one
 * in force at a time (`--as-at`).
 */
import { hostname } from 'node:os';
import { CairnError } from '../../plugin-api/index.js';
import type { Catalog, CatalogJob } from '../catalog/index.js';

export async function resolveBackupJob(catalog: Catalog, spec: string | number, opts: { asAt?: Date; name?: string; client?: string } = {}): Promise<CatalogJob> {
  const client = opts.client ?? hostname();
  if (opts.asAt) {
    let name = opts.name;
    if (!name && spec !== 'latest') name = (await catalog.getJob(Number(spec)))?.name;
    if (!name) name = (await catalog.listJobs({ client, type: 'backup', limit: 1 }))[0]?.name;
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
