/**
 * Verify at level `catalog` (Bacula's DiskToCatalog): the live files of the
 * client against the tree the catalog holds as at a backup job — what
 * changed since that backup. Each path of the tree is looked up (lstat, no
 * symlink followed) and compared: kind, mode, owner, size, modification time
 * and, for regular files with a digest, the SHA-256 of the live bytes. Every
 * directory of the tree is listed to find entries the backup did not have
 * (minus what the fileset's exclude globs leave out). Nothing is restored and
 * no volume is read. The comparing runs on the FD (core/live-tree-check.ts):
 * in process in local mode, through `verify live` (protocol.md §9.4) with a
 * Director, the tree streamed to it in pages. Rows of agents other than fs
 * (virtual paths such as /@pgsql/…) have no live file and are counted apart.
 */
import { CairnError, isCairnError } from '../../plugin-api/index.js';
import { parseFileset, type ExpectedEntry, type LiveProblem } from '../../core/index.js';
import type { CatalogJob, CatalogTreeRow } from '../catalog/index.js';
import type { JobPlumbing } from './job-plumbing.js';
import { EXIT_CODES, type JobReport, type ReportProblem } from './job-report.js';

/** The catalog's tree as the FD checks it: file-system rows only (an agent's virtual paths have no live file). */
async function* expectedTree(rows: AsyncIterable<CatalogTreeRow>, skipped: { n: number }): AsyncGenerator<ExpectedEntry> {
  for await (const r of rows) {
    if (!r.agent.startsWith('fs/')) {
      skipped.n++;
      continue;
    }
    yield { path: r.path, kind: r.kind, mode: r.stat.mode, uid: r.stat.uid, gid: r.stat.gid, size: r.stat.size, mtimeNs: r.stat.mtimeNs, digest: r.digest ?? null, jobId: r.jobId };
  }
}

export async function runCatalogVerifyJob(repo: JobPlumbing, job: CatalogJob, o: { signal?: AbortSignal; onJobId?: (id: number) => void; onProgress?: (files: number, bytes: number) => void } = {}): Promise<JobReport> {
  const catalog = repo.catalog;
  const started = new Date();
  const jobId = await catalog.createJob({ name: job.name, type: 'verify', level: null, client: repo.clientName, startedAt: started });
  o.onJobId?.(jobId);
  let problems: ReportProblem[] = [];
  const counts = { checked: 0, modified: 0, missing: 0, new: 0, digests: 0, notFiles: 0 };
  let bytes = 0;
  let chain: number[] = [];
  let error: CairnError | undefined;
  try {
    chain = (await catalog.restoreChain(job)).map((j) => j.id);
    const skipped = { n: 0 };
    const r = await repo.files.verifyLive({ verifyJobId: jobId, rows: expectedTree(catalog.treeAsAt(chain), skipped), excludes: await excludeGlobs(repo, job), signal: o.signal, onProgress: o.onProgress });
    Object.assign(counts, { checked: r.checked, modified: r.modified, missing: r.missing, new: r.new, digests: r.digests, notFiles: skipped.n });
    bytes = r.bytes;
    problems = r.problems.map((p: LiveProblem) => ({ path: p.path, code: p.code, text: p.code === 'CAIRN_E_VERIFY_NEW' ? `on the client, not in the backup as at job ${job.id}` : p.text }));
  } catch (err) {
    error = isCairnError(err) ? err : new CairnError('CAIRN_E_JOB_FAILED', (err as Error).message, { jobId }, { cause: err });
  }
  const failed = counts.modified + counts.missing + counts.new;
  const status = error || failed ? 'error' : 'ok';
  const ended = new Date();
  const durationMs = Math.max(1, ended.getTime() - started.getTime());
  const report: JobReport = {
    jobId, name: job.name, type: 'verify', level: 'catalog', status, exitCode: EXIT_CODES[status], startedAt: started.toISOString(), endedAt: ended.toISOString(), durationMs,
    files: counts.checked, bytes, rate: Math.round((bytes * 1000) / durationMs), baseJobId: job.id, chain, warnings: [], problems,
    verify: { level: 'catalog', ...counts },
    error: error
      ? { code: error.code, message: error.message }
      : failed ? { code: 'CAIRN_E_VERIFY_FAILED', message: `${counts.modified} modified, ${counts.missing} missing, ${counts.new} new since job ${job.id}` } : undefined,
  };
  for (const p of problems.slice(0, 1000)) await catalog.addJobLog(jobId, { level: 'error', code: p.code, path: p.path ? Buffer.from(p.path) : undefined, text: p.text });
  await catalog.finishJob(jobId, { status, endedAt: ended, files: counts.checked, bytes, errors: failed, report: report as unknown as Record<string, unknown> });
  return report;
}

/** The exclude globs of the job's fileset (every agent line), when the catalog has its text. */
async function excludeGlobs(repo: JobPlumbing, job: CatalogJob): Promise<string[]> {
  if (!job.fileset || !job.filesetHash) return [];
  const fs = await repo.catalog.findFileset(job.fileset, job.filesetHash);
  if (!fs || !fs.text) return [];
  try {
    return parseFileset(fs.text).agents.flatMap((a) => a.exclude);
  } catch {
    return [];
  }
}
