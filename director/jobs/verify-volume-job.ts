/**
 * Verify at level `volume`: the SD re-reads a backup job's blocks where the
 * catalog's job media says they lie and checks every block and the record
 * structure (`verify session`, docs/protocol.md §3.1). No record leaves the
 * SD and no key is needed. Findings that name file indexes are turned into
 * the paths the catalog holds for them; the job report lists each bad file
 * with its volume and block.
 */
import { Buffer } from 'node:buffer';
import { CairnError, displayPath, isCairnError } from '../../plugin-api/index.js';
import type { VolumeVerifyFinding, VolumeVerifyResult } from '../../sd/index.js';
import type { CatalogJob } from '../catalog/index.js';
import type { JobPlumbing } from './job-plumbing.js';
import { EXIT_CODES, type JobReport, type ReportProblem } from './job-report.js';
import { bootstrapFor } from './selection.js';

/** At most this many paths are named per finding (a bad block in a pack may touch thousands of small files). */
const PATHS_PER_FINDING = 1000;

export async function runVolumeVerifyJob(repo: JobPlumbing, job: CatalogJob, opts: { onJobId?: (jobId: number) => void } = {}): Promise<JobReport> {
  const catalog = repo.catalog;
  const started = new Date();
  const jobId = await catalog.createJob({ name: job.name, type: 'verify', level: null, client: repo.clientName, startedAt: started });
  opts.onJobId?.(jobId);
  const problems: ReportProblem[] = [];
  const warnings: ReportProblem[] = [];
  let result: VolumeVerifyResult | null = null;
  let error: CairnError | undefined;
  try {
    const media = await catalog.jobMedia(job.id);
    if (media.length === 0) throw new CairnError('CAIRN_E_VERIFY_FAILED', `job ${job.id} has no job media in the catalog: nothing to verify`, { jobId: job.id });
    result = await repo.director.verifySession({ entries: bootstrapFor(media).entries, jobId: job.id });
    const paths = await pathsByIndex(repo, job.id, [...result.badBlocks, ...result.problems]);
    for (const f of result.badBlocks) {
      if (f.ours === false) {
        warnings.push({ code: f.code, text: `bad block inside the job's range, of another session (this job's block sequence is unbroken): ${f.text}`, volume: f.volume, block: f.block });
        continue;
      }
      named(f, paths, problems);
    }
    for (const f of result.problems) named(f, paths, problems);
  } catch (err) {
    error = isCairnError(err) ? err : new CairnError('CAIRN_E_JOB_FAILED', (err as Error).message, { jobId }, { cause: err });
  }
  const status = error || problems.length ? 'error' : warnings.length ? 'warning' : 'ok';
  const ended = new Date();
  const durationMs = Math.max(1, ended.getTime() - started.getTime());
  const report: JobReport = {
    jobId, name: job.name, type: 'verify', level: 'volume', status, exitCode: EXIT_CODES[status], startedAt: started.toISOString(), endedAt: ended.toISOString(), durationMs,
    files: result?.files ?? 0, bytes: result?.bytes ?? 0, rate: Math.round(((result?.bytes ?? 0) * 1000) / durationMs), baseJobId: job.id, chain: [job.id],
    volumes: result?.volumes, warnings, problems,
    verify: result ? { level: 'volume', blocks: result.blocks, records: result.records, badBlocks: result.badBlocks.length, endLabel: result.endLabel !== null } : { level: 'volume' },
    error: error
      ? { code: error.code, message: error.message }
      : problems.length ? { code: 'CAIRN_E_VERIFY_FAILED', message: `${problems.length} problem(s) on the volumes of job ${job.id}` } : undefined,
  };
  for (const p of problems.slice(0, 1000)) await catalog.addJobLog(jobId, { level: 'error', code: p.code, path: p.path ? Buffer.from(p.path) : undefined, text: `${p.text} (volume ${p.volume}, block ${p.block})` });
  await catalog.finishJob(jobId, { status, endedAt: ended, files: report.files, bytes: report.bytes, errors: problems.length, report: report as unknown as Record<string, unknown> });
  return report;
}

/** One problem per damaged file (path, volume, block); a finding that names no file stays one problem. */
function named(f: VolumeVerifyFinding, paths: Map<number, string>, out: ReportProblem[]): void {
  const files: string[] = [];
  if (f.fileIndexes) {
    for (let i = Math.max(1, f.fileIndexes[0]); i <= f.fileIndexes[1] && files.length < PATHS_PER_FINDING; i++) {
      const p = paths.get(i);
      if (p !== undefined) files.push(p);
    }
  }
  if (files.length === 0) out.push({ code: f.code, text: f.text, volume: f.volume, block: f.block });
  for (const path of files) out.push({ path, code: f.code, text: f.text, volume: f.volume, block: f.block });
}

/** Paths of the file indexes the findings name (only those). */
async function pathsByIndex(repo: JobPlumbing, jobId: number, findings: VolumeVerifyFinding[]): Promise<Map<number, string>> {
  const ranges = findings.filter((f) => f.fileIndexes && f.ours !== false).map((f) => f.fileIndexes as [number, number]);
  const out = new Map<number, string>();
  if (ranges.length === 0) return out;
  for await (const row of repo.catalog.filesOfJob(jobId)) {
    if (ranges.some(([a, b]) => row.fileIndex >= a && row.fileIndex <= b)) out.set(row.fileIndex, displayPath(row.path));
  }
  return out;
}
