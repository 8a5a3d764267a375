/**
 * The end of a backup job, shared by a job run start to finish
 * (backup-job.ts) and a job a restarted Director takes over (resume-job.ts):
 * the SD's session notifications routed into the job's file assembler, and,
 * once the FD's outcome is known, the commit — wait for the SD's
 * session-closed (blocks durable), all file rows in, job-media written, run
 * scripts after, the job marked with its outcome and agent states (only for
 * OK jobs), and only then `jobEnded` for the agents.
 */
import { CairnError, StreamType, isCairnError, type AgentState, type Level } from '../../plugin-api/index.js';
import type { BackupOutcome } from '../../core/index.js';
import type { SessionCloseReport } from '../../sd/index.js';
import type { JobPlumbing } from './job-plumbing.js';
import type { JobScripts } from './backup-job.js';
import type { FileAssembler } from './file-assembler.js';
import { AdaptiveFileAssembler } from './adaptive-assembler.js';
import { EXIT_CODES, type JobReport, type ReportProblem } from './job-report.js';
import { writeJobBootstrap } from './bootstrap-file.js';

/** Agents' info lines kept in a job's log (a chatty program must not fill the catalog). */
const MAX_INFO_LOG_LINES = 10_000;

/** How long the Director waits for the SD's session-closed notice after the FD's close reply. */
const CLOSE_NOTICE_TIMEOUT_MS = 60_000;

/** What the Director learns of a job's session from the SD's notifications. */
export interface SessionWatch {
  /** Resolves with the close report (blocks durable); rejects when the SD aborted the session. */
  closed: Promise<SessionCloseReport>;
  /** True once an agent whose restores replay a chain (restoreKind log) wrote in the job (docs/retention.md). */
  readonly logChain: boolean;
}

/** Routes the SD's notifications of `jobId` into `assembler`. */
export function listenToSession(repo: JobPlumbing, jobId: number, assembler: FileAssembler | AdaptiveFileAssembler): SessionWatch {
  let closeNotice: (r: SessionCloseReport) => void = () => undefined;
  let abortNotice: (why: string) => void = () => undefined;
  const closed = new Promise<SessionCloseReport>((resolve, reject) => {
    closeNotice = resolve;
    abortNotice = (why) => reject(new CairnError('CAIRN_E_JOB_FAILED', `the SD aborted the session: ${why}`, { jobId }));
  });
  closed.catch(() => undefined);
  const watch = { closed, logChain: false };
  repo.notifications.set(jobId, (n) => {
    if (n.type === 'catalog-records') {
      if (!watch.logChain) for (const { record } of n.records) if (record.streamType === StreamType.AGENT && isLogAgent(record.payload)) watch.logChain = true;
      assembler.add(n.records);
    } else if (n.type === 'session-closed') closeNotice(n.report);
    else if (n.type === 'session-aborted') abortNotice(n.reason);
  });
  return watch;
}

function isLogAgent(payload: Uint8Array): boolean {
  try {
    return (JSON.parse(Buffer.from(payload).toString('utf8')) as { restoreKind?: string }).restoreKind === 'log';
  } catch {
    return false;
  }
}

export interface BackupCommitContext {
  jobId: number;
  jobName: string;
  level: Level;
  levelUpgraded?: JobReport['levelUpgraded'];
  baseJobId?: number;
  started: Date;
  now: () => Date;
  assembler: FileAssembler | AdaptiveFileAssembler;
  /** From listenToSession. */
  session: SessionWatch;
  scripts?: JobScripts;
  /** Warnings of the run-before scripts. */
  scriptWarnings: ReportProblem[];
  /** Waits for session-closed this long at most (ms); a resumed job whose session may still run waits longer. */
  closeTimeoutMs?: number;
  /** Said in the job log before the outcome's own messages (e.g. that a restarted Director completed the job). */
  notes?: ReportProblem[];
}

/** Commits the job from the FD's outcome; returns its report. Throws only when the catalog itself fails. */
export async function commitBackup(repo: JobPlumbing, c: BackupCommitContext, outcome: BackupOutcome): Promise<JobReport> {
  const { catalog } = repo;
  const { jobId } = c;
  let status = outcome.status;
  let error = outcome.error;
  let closeReport: SessionCloseReport | undefined;
  if (status === 'ok' || status === 'warning') {
    try {
      const ms = c.closeTimeoutMs ?? CLOSE_NOTICE_TIMEOUT_MS;
      closeReport = await withTimeout(c.session.closed, ms, 'the SD did not confirm the session close');
      await assertCommitted(repo, jobId, closeReport);
      await c.assembler.finish();
      await catalog.insertJobMedia(jobId, closeReport.ranges);
      for (const c of closeReport.copies ?? []) await catalog.insertJobMedia(jobId, c.ranges, 1);
      // An encrypted job is OK only with its header and signed manifest in the catalog (restore needs them before reading).
      if (outcome.crypto) await catalog.saveJobCrypto({ jobId, header: outcome.crypto.header, manifest: outcome.crypto.manifest ?? null });
    } catch (err) {
      status = 'error';
      error = isCairnError(err) ? err : new CairnError('CAIRN_E_JOB_FAILED', (err as Error).message, { jobId }, { cause: err });
    }
  }
  const scriptWarnings = [...c.scriptWarnings];
  if (c.scripts) {
    try {
      scriptWarnings.push(...(await c.scripts.after(jobId, status)));
    } catch (err) {
      status = 'error';
      error ??= isCairnError(err) ? err : new CairnError('CAIRN_E_JOB_SCRIPT', (err as Error).message, { jobId }, { cause: err });
    }
  }
  if (scriptWarnings.length && status === 'ok') status = 'warning';
  const warnings: ReportProblem[] = [...scriptWarnings, ...outcome.messages.filter((m) => m.level !== 'info').map((m) => ({ path: m.path, code: m.code ?? 'CAIRN_W_AGENT', text: m.text }))];
  for (const n of c.notes ?? []) await catalog.addJobLog(jobId, { level: 'info', code: n.code, text: n.text });
  // The agents' info lines (a pipe program's stderr, say) go into the job log too.
  for (const m of outcome.messages.filter((x) => x.level === 'info').slice(0, MAX_INFO_LOG_LINES)) await catalog.addJobLog(jobId, { level: 'info', code: m.code, path: m.path ? Buffer.from(m.path) : undefined, text: `${m.agent}: ${m.text}` });
  for (const w of warnings) await catalog.addJobLog(jobId, { level: 'warning', code: w.code, path: w.path ? Buffer.from(w.path) : undefined, text: w.text });
  if (error) await catalog.addJobLog(jobId, { level: 'error', code: error.code, text: error.message });
  const ended = c.now();
  const durationMs = Math.max(1, ended.getTime() - c.started.getTime());
  const report: JobReport = {
    jobId,
    name: c.jobName,
    type: 'backup',
    level: c.level,
    levelUpgraded: c.levelUpgraded,
    status,
    exitCode: EXIT_CODES[status],
    startedAt: c.started.toISOString(),
    endedAt: ended.toISOString(),
    durationMs,
    files: outcome.counters.files,
    deleted: outcome.counters.deleted,
    bytes: outcome.counters.bytes,
    storedBytes: outcome.counters.storedBytes,
    rate: Math.round((outcome.counters.bytes * 1000) / durationMs),
    volumes: closeReport ? [...new Set(closeReport.ranges.map((r) => r.volume))] : [],
    ...(closeReport?.copies?.length ? { mirror: closeReport.copies.map((c) => ({ device: c.device, volumes: [...new Set(c.ranges.map((r) => r.volume))] })) } : {}),
    baseJobId: c.baseJobId,
    ...(outcome.states.some((s) => s.restoreKind === 'log') ? { restoreKind: 'log' as const } : {}),
    ...(outcome.crypto ? { encryption: { cipher: outcome.crypto.header.cipher, sealedFor: outcome.crypto.header.wraps.map((w) => w.fingerprint), signer: outcome.crypto.header.signer.fingerprint } } : {}),
    warnings,
    problems: [],
    // An agent's own code (CAIRN_E_AGENT_FAILED's agentCode, e.g. CAIRN_E_PGLOG_WAL_GAP) travels with the report.
    error: error ? { code: error.code, message: error.message, ...(typeof error.fields.agentCode === 'string' ? { agentCode: error.fields.agentCode } : {}) } : undefined,
  };
  const states: Record<string, AgentState> = {};
  for (const s of outcome.states) states[s.key] = s.state;
  await catalog.finishJob(jobId, {
    status,
    endedAt: ended,
    files: outcome.counters.files,
    bytes: outcome.counters.bytes,
    readBytes: outcome.counters.storedBytes,
    errors: error ? 1 : 0,
    report: report as unknown as Record<string, unknown>,
    agentStates: status === 'ok' || status === 'warning' ? states : undefined,
    logChain: c.session.logChain,
  });
  if ((status === 'ok' || status === 'warning') && repo.bootstrapDir) {
    // The job is committed: a bootstrap that fails to be written costs a warning, never the job.
    try {
      const done = await catalog.getJob(jobId);
      if (done) report.bootstrap = await writeJobBootstrap(catalog, done, repo.bootstrapDir);
    } catch (err) {
      const text = `bootstrap file not written: ${(err as Error).message}`;
      report.warnings.push({ code: 'CAIRN_W_BOOTSTRAP', text });
      await catalog.addJobLog(jobId, { level: 'warning', code: 'CAIRN_W_BOOTSTRAP', text }).catch(() => undefined);
    }
  }
  await repo.files.jobEnded(jobId, status);
  return report;
}

/**
 * A session the SD reported closed is in the catalog's committed end of every volume it wrote
 * (docs/volume-format.md §7): otherwise the next mount trims its blocks, and the job must not be OK.
 */
async function assertCommitted(repo: JobPlumbing, jobId: number, report: SessionCloseReport): Promise<void> {
  for (const r of report.ranges) {
    const v = await repo.catalog.getVolume(r.volume);
    if (!v || v.committedBlocks <= r.endBlock) {
      throw new CairnError(
        'CAIRN_E_JOB_UNCOMMITTED',
        `The SD reported job ${jobId}'s session closed, but volume ${r.volume} is committed only to block ${v ? v.committedBlocks - 1 : 'none'} and the session ends at block ${r.endBlock}.`,
        { jobId, volume: r.volume, committedBlocks: v?.committedBlocks ?? null, endBlock: r.endBlock },
      );
    }
  }
}

/**
 * After a backup job ended (committed or failed): its notifications stop being routed, its assembler thread ends,
 * the SD may forget its spooled notifications (the job is in the catalog for good, protocol.md §4.2), autoprune runs.
 */
export async function afterBackup(repo: JobPlumbing, jobId: number, assembler: FileAssembler | AdaptiveFileAssembler, now: () => Date): Promise<void> {
  repo.notifications.delete(jobId);
  if (assembler instanceof AdaptiveFileAssembler) await assembler.close();
  await repo.director.release?.(jobId).catch(() => undefined);
  await autoPruneAfter(repo, jobId, now);
}

/** Autoprune after a job (Bacula's AutoPrune), when the plumbing has one: its failure is logged with the job, never changes its outcome. */
export async function autoPruneAfter(repo: JobPlumbing, jobId: number, now: () => Date): Promise<void> {
  if (!repo.autoPrune) return;
  try {
    await repo.autoPrune(now());
  } catch (err) {
    const e = isCairnError(err) ? err : new CairnError('CAIRN_E_JOB_FAILED', (err as Error).message, { jobId }, { cause: err });
    await repo.catalog.addJobLog(jobId, { level: 'warning', code: e.code, text: `autoprune after the job failed: ${e.message}` }).catch(() => undefined);
  }
}

/** Marks the job Error for `err` (nothing it wrote counts) and tells the agents; returns its report. */
export async function failBackup(repo: JobPlumbing, c: Pick<BackupCommitContext, 'jobId' | 'jobName' | 'level' | 'levelUpgraded' | 'started' | 'now'>, err: unknown): Promise<JobReport> {
  const { jobId } = c;
  const error = isCairnError(err) ? err : new CairnError('CAIRN_E_JOB_FAILED', (err as Error).message, { jobId }, { cause: err });
  const ended = c.now();
  const report: JobReport = {
    jobId, name: c.jobName, type: 'backup', level: c.level, levelUpgraded: c.levelUpgraded, status: 'error', exitCode: EXIT_CODES.error,
    startedAt: c.started.toISOString(), endedAt: ended.toISOString(), durationMs: ended.getTime() - c.started.getTime(),
    files: 0, bytes: 0, rate: 0, warnings: [], problems: [], error: { code: error.code, message: error.message },
  };
  await repo.catalog.addJobLog(jobId, { level: 'error', code: error.code, text: error.message }).catch(() => undefined);
  await repo.catalog.finishJob(jobId, { status: 'error', endedAt: ended, files: 0, bytes: 0, errors: 1, report: report as unknown as Record<string, unknown> });
  await repo.files.jobEnded(jobId, 'error');
  return report;
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new CairnError('CAIRN_E_JOB_FAILED', `${what} within ${ms / 1000} s`, {})), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
