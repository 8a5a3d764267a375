/**
 * `estimate` (Bacula's): what a backup job would send at a level — the level
 * it would really run at (an Incremental with no base runs as a Full), its
 * base job, and the files and bytes the agents report — with no job
 * created, nothing read and nothing sent to a Storage Daemon.
 */
import type { Level } from '../../plugin-api/index.js';
import { filesetFingerprint, type EstimateLine, type Fileset } from '../../core/index.js';
import type { JobPlumbing } from './job-plumbing.js';
import { baseProvider, chooseLevel } from './job-base.js';
import { humanBytes, type JobReport } from './job-report.js';

export interface EstimateReport {
  job: string;
  client: string;
  level: Level;
  levelUpgraded?: JobReport['levelUpgraded'];
  baseJobId?: number;
  files: number;
  bytes: number;
  lines: EstimateLine[];
}

export async function estimateJob(repo: Pick<JobPlumbing, 'catalog' | 'files' | 'clientName'>, req: { fileset: Fileset; jobName: string; level: Level; signal?: AbortSignal }): Promise<EstimateReport> {
  const fp = filesetFingerprint(req.fileset);
  const { level, levelUpgraded, base } = await chooseLevel(repo.catalog, { client: repo.clientName, jobName: req.jobName, level: req.level, filesetHash: fp.hash });
  const r = await repo.files.estimate({ jobName: req.jobName, level, fileset: req.fileset, baseFor: await baseProvider(repo.catalog, base), signal: req.signal });
  return { job: req.jobName, client: repo.clientName, level, levelUpgraded, baseJobId: base?.id, files: r.files, bytes: r.bytes, lines: r.lines };
}

/** The estimate for a person: level (and why it changed), files and bytes, per agent line when there are several. */
export function formatEstimate(r: EstimateReport): string {
  const lines = [`estimate of ${r.job} on ${r.client}: ${r.level}${r.levelUpgraded ? ` (asked ${r.levelUpgraded.from}: ${r.levelUpgraded.reason})` : ''}${r.baseJobId ? `, based on job ${r.baseJobId}` : ''}`, `  ${r.files} files, ${humanBytes(r.bytes)} (${r.bytes} bytes)`];
  if (r.lines.length > 1) for (const l of r.lines) lines.push(`  ${l.key}: ${l.files} files, ${humanBytes(l.bytes)} (${l.method})`);
  return lines.join('\n');
}
