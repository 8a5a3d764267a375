/**
 * Job control for Restore and Verify. Restore: the chain of the chosen job,
 * the selection as at it, a bootstrap and a read session per job, the FD
 * routing each file to its agent; files that did not come back whole are
 * named. Verify: one read session over the job's own blocks, every block
 * checksum and stream digest checked against the volume and the catalog,
 * nothing written.
 */
import { mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Buffer } from 'node:buffer';
import { CairnError, isCairnError, type ReplacePolicy } from '../../plugin-api/index.js';
import { parseEncryptionHeader, type AgentOptionOverrides, type CairnKey, type RestoreOutcome, type SessionCrypto } from '../../core/index.js';
import type { CatalogJob, CatalogTreeRow } from '../catalog/index.js';
import type { FdRestoreOrder, JobPlumbing } from './job-plumbing.js';
import { EXIT_CODES, type JobReport, type ReportProblem } from './job-report.js';
import { bootstrapFor, selectFiles } from './selection.js';

export interface RestoreRequest {
  job: CatalogJob;
  to: string;
  paths: string[];
  replace: ReplacePolicy;
  /** Log-type agents recover up to this time (resolveRestorePoint); files agents ignore it. */
  recoveryTarget?: Date;
  dryRun?: boolean;
  onListEntry?: (row: CatalogTreeRow) => void;
  signal?: AbortSignal;
  onFile?: (path: string, bytes: number) => void;
  /** Told the restore job's catalog id as soon as it exists. */
  onJobId?: (jobId: number) => void;
  /** Private keys for encrypted jobs (`--key FILE`). */
  keys?: CairnKey[];
  /** Read a mirrored copy (1) instead of the primary (0, default): when the primary's volumes are lost or damaged. */
  copy?: number;
  /** Per-restore agent option overrides (--option), by agent name. */
  agentOptions?: AgentOptionOverrides;
  /** Told the volumes the restore reads, in order, before any is read (so an operator can fetch tapes). */
  onVolumes?: (volumes: string[]) => void;
}

/** The volumes a restore reads, in reading order, each once: what an operator must have at hand. */
export async function volumesNeeded(repo: JobPlumbing, jobs: CatalogJob[], perJob: Map<number, number[]>, copy = 0): Promise<string[]> {
  const out: string[] = [];
  for (const job of jobs) {
    const indexes = perJob.get(job.id);
    if (!indexes || indexes.length === 0) continue;
    for (const e of bootstrapFor(await repo.catalog.jobMedia(job.id, copy), indexes).entries) if (!out.includes(e.volume)) out.push(e.volume);
  }
  return out;
}

export async function runRestoreJob(repo: JobPlumbing, req: RestoreRequest): Promise<JobReport> {
  const catalog = repo.catalog;
  const started = new Date();
  if (!req.dryRun) repo.files.warmUp();
  const chain = await catalog.restoreChain(req.job);
  const chainIds = chain.map((j) => j.id);
  const selection = await selectFiles(catalog, chainIds, req.paths, req.dryRun ? req.onListEntry : undefined);
  const where = resolve(req.to);
  if (req.dryRun) {
    const ended = new Date();
    return {
      jobId: 0, name: req.job.name, type: 'restore', status: 'ok', exitCode: 0, startedAt: started.toISOString(), endedAt: ended.toISOString(),
      durationMs: ended.getTime() - started.getTime(), files: selection.count, bytes: selection.bytes, rate: 0, chain: chainIds, where, warnings: [], problems: [],
      ...(req.recoveryTarget ? { recoveryTarget: req.recoveryTarget.toISOString() } : {}),
    };
  }
  // The target is on the client: in local mode that is here; a remote FD prepares it itself.
  if (!repo.targetOnClient) prepareTarget(where);
  const jobId = await catalog.createJob({ name: req.job.name, type: 'restore', level: null, client: repo.clientName, startedAt: started });
  req.onJobId?.(jobId);
  // The volumes it needs, before it starts: an operator fetches the tapes the job will ask for.
  const volumes = await volumesNeeded(repo, chain, selection.perJob, req.copy ?? 0);
  await catalog.addJobLog(jobId, { level: 'info', code: 'CAIRN_I_RESTORE_VOLUMES', text: `this restore reads ${volumes.length} volume(s): ${volumes.join(', ')}` });
  req.onVolumes?.(volumes);
  const outcome = await readSessions(repo, 'restore', chain, selection.perJob, { restoreJobId: jobId, where, replace: req.replace, recoveryTarget: req.recoveryTarget, signal: req.signal, onFile: req.onFile, keys: req.keys, agentOptions: req.agentOptions }, req.copy ?? 0);
  return finish(repo, 'restore', jobId, req.job, started, outcome, selection.names, { where, chain: chainIds, volumes, ...(req.recoveryTarget ? { recoveryTarget: req.recoveryTarget.toISOString() } : {}) });
}

export async function runVerifyJob(repo: JobPlumbing, job: CatalogJob, signal?: AbortSignal, opts: { keys?: CairnKey[]; onJobId?: (jobId: number) => void } = {}): Promise<JobReport> {
  const catalog = repo.catalog;
  const started = new Date();
  repo.files.warmUp();
  const digests = new Map<number, Buffer>();
  const names = new Map<string, string>();
  const indexes: number[] = [];
  for await (const f of catalog.filesOfJob(job.id)) {
    if (f.kind === 'deleted') continue;
    indexes.push(f.fileIndex);
    names.set(`${job.id}:${f.fileIndex}`, Buffer.from(f.path).toString('utf8'));
    if (f.digest) digests.set(f.fileIndex, Buffer.from(f.digest));
  }
  const jobId = await catalog.createJob({ name: job.name, type: 'verify', level: null, client: repo.clientName, startedAt: started });
  opts.onJobId?.(jobId);
  const outcome = await readSessions(repo, 'verify', [job], new Map([[job.id, indexes]]), { restoreJobId: jobId, replace: 'never', signal, digests: { jobId: job.id, byIndex: digests }, keys: opts.keys });
  return finish(repo, 'verify', jobId, job, started, outcome, names, { chain: [job.id], verify: { level: 'data', digests: digests.size } });
}

export function prepareTarget(where: string): void {
  try {
    mkdirSync(where, { recursive: true });
    if (!statSync(where).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    throw new CairnError('CAIRN_E_RESTORE_TARGET', `cannot restore into ${where}: ${(err as Error).message}`, { where }, { cause: err });
  }
}

async function readSessions(
  repo: JobPlumbing,
  mode: 'restore' | 'verify',
  jobs: CatalogJob[],
  perJob: Map<number, number[]>,
  opts: Omit<FdRestoreOrder, 'mode' | 'sessions'>,
  copy = 0,
): Promise<RestoreOutcome> {
  try {
    const sessions: FdRestoreOrder['sessions'] = [];
    for (const job of jobs) {
      const indexes = perJob.get(job.id);
      if (!indexes || indexes.length === 0) continue;
      const media = await repo.catalog.jobMedia(job.id, copy);
      if (media.length === 0 && copy > 0) throw new CairnError('CAIRN_E_RESTORE_NO_COPY', `job ${job.id} has no mirrored copy ${copy} (its job was not mirrored): restore it from the primary`, { jobId: job.id, copy });
      const crypto = await sessionCrypto(repo, job.id);
      sessions.push({ jobId: job.id, grant: await repo.director.openReadSession(bootstrapFor(media, indexes)), ...(crypto ? { crypto } : {}) });
    }
    return await repo.files.restore({ ...opts, mode, sessions });
  } catch (err) {
    // The SD or FD could not be reached or refused: the job ends in Error, nothing restored.
    const error = isCairnError(err) ? err : new CairnError('CAIRN_E_JOB_FAILED', (err as Error).message, {}, { cause: err });
    return { files: 0, bytes: 0, completed: new Set(), problems: [], messages: [], error };
  }
}

/** An encrypted job's header, later wraps and signed manifest from the catalog, or null. */
export async function sessionCrypto(repo: JobPlumbing, jobId: number): Promise<SessionCrypto | null> {
  const c = await repo.catalog.jobCrypto(jobId);
  if (!c) return null;
  const header = parseEncryptionHeader(c.header, `catalog encryption header of job ${jobId}`);
  const wraps = (await repo.catalog.keyWraps(jobId)).map((w) => ({ jobId: w.jobId, wrap: w.wrap as unknown as SessionCrypto['header']['wraps'][number] }));
  return { header, wraps, ...(c.manifest ? { manifest: c.manifest } : {}) };
}

export async function finish(
  repo: JobPlumbing,
  type: 'restore' | 'verify',
  jobId: number,
  job: Pick<CatalogJob, 'id' | 'name'>,
  started: Date,
  outcome: RestoreOutcome,
  names: Map<string, string>,
  extra: { where?: string; chain: number[]; recoveryTarget?: string; verify?: JobReport['verify']; volumes?: string[] },
): Promise<JobReport> {
  const problems: ReportProblem[] = outcome.problems.map((p) => ({ path: p.path ?? names.get(`${p.jobId}:${p.fileIndex}`), code: p.code, text: p.text, volume: p.volume, block: p.block }));
  // An agent's error-level message is a file that did not come back (e.g. a deferred write that failed).
  for (const m of outcome.messages) if (m.level === 'error') problems.push({ path: m.path, code: m.code ?? 'CAIRN_E_AGENT_FAILED', text: m.text });
  const named = new Set(problems.map((p) => p.path));
  // A file the agent reported failed after endFile (a deferred write) was counted as restored: uncount it.
  const failedLate = new Set(outcome.messages.filter((m) => m.level === 'error' && m.path !== undefined).map((m) => m.path));
  let files = outcome.files;
  for (const [key, path] of names) if (failedLate.has(path) && outcome.completed.has(key)) files--;
  // A restore refused before reading anything (a wrong or missing key, a forged manifest) names its cause once, not every file.
  const refused = outcome.error !== undefined && outcome.completed.size === 0 && outcome.problems.length === 0 && outcome.bytes === 0;
  for (const [key, path] of refused ? [] : names) {
    if (outcome.completed.has(key) || named.has(path)) continue;
    problems.push({ path, code: 'CAIRN_E_FILE_INCOMPLETE', text: type === 'restore' ? 'not restored: its records were not found on the volumes' : 'its records were not found on the volumes' });
  }
  const warnings: ReportProblem[] = outcome.messages.filter((m) => m.level === 'warning').map((m) => ({ path: m.path, code: m.code ?? 'CAIRN_W_AGENT', text: m.text }));
  const status = outcome.error || problems.length ? 'error' : warnings.length ? 'warning' : 'ok';
  const failureCode = type === 'restore' ? 'CAIRN_E_RESTORE_INCOMPLETE' : 'CAIRN_E_VERIFY_FAILED';
  const error = outcome.error
    ? { code: outcome.error.code, message: outcome.error.message }
    : problems.length
      ? { code: failureCode, message: `${problems.length} file(s) ${type === 'restore' ? 'not restored whole' : 'failed verification'}` }
      : undefined;
  const ended = new Date();
  const durationMs = Math.max(1, ended.getTime() - started.getTime());
  const report: JobReport = {
    jobId, name: job.name, type, status, exitCode: EXIT_CODES[status], startedAt: started.toISOString(), endedAt: ended.toISOString(), durationMs,
    files, bytes: outcome.bytes, rate: Math.round((outcome.bytes * 1000) / durationMs), baseJobId: job.id, ...extra, warnings, problems, error,
  };
  for (const m of outcome.messages.filter((x) => x.level === 'info').slice(0, 10_000)) await repo.catalog.addJobLog(jobId, { level: 'info', code: m.code, path: m.path ? Buffer.from(m.path) : undefined, text: `${m.agent}: ${m.text}` });
  for (const p of problems.slice(0, 1000)) await repo.catalog.addJobLog(jobId, { level: 'error', code: p.code, path: p.path ? Buffer.from(p.path) : undefined, text: p.text });
  await repo.catalog.finishJob(jobId, { status, endedAt: ended, files, bytes: outcome.bytes, errors: problems.length, report: report as unknown as Record<string, unknown> });
  return report;
}

export { isCairnError };
