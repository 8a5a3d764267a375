/**
 * Job control for a Backup: picks the level's base job (upgrading to Full
 * when there is none or the fileset changed, and saying so), opens the SD
 * append session, has the FD run the agents, catalogs what the SD reports,
 * and marks the job OK only after the SD's close reply (blocks durable) and
 * the catalog commit. Only then do the agents hear jobEnded.
 */
import { CairnError, isCairnError, type AgentState, type BaseJob, type Level } from '../../plugin-api/index.js';
import { filesetFingerprint, type AgentBase, type AgentOptionOverrides, type BackupCounters, type Fileset } from '../../core/index.js';
import type { SessionCloseReport } from '../../sd/index.js';
import { toBaseFile, type CatalogJob } from '../catalog/index.js';
import type { JobPlumbing } from './job-plumbing.js';
import { FileAssembler } from './file-assembler.js';
import { AdaptiveFileAssembler } from './adaptive-assembler.js';
import { EXIT_CODES, type JobReport, type ReportProblem } from './job-report.js';

export interface BackupRequest {
  fileset: Fileset;
  jobName: string;
  level: Level;
  signal?: AbortSignal;
  onProgress?: (c: BackupCounters) => void;
  /** Injected clock (tests); default Date.now. */
  now?: () => Date;
  /** Told the job's catalog id as soon as it exists. */
  onJobId?: (jobId: number) => void;
  /** Commands run before and after the job (run scripts): problems they report are warnings; a throw fails the job. */
  scripts?: JobScripts;
  /**
   * Per-job agent option overrides (job entry agentOptions, --option), by agent name. They do not
   * change the fileset's identity: an Incremental with other options is still an Incremental.
   */
  agentOptions?: AgentOptionOverrides;
}

export interface JobScripts {
  before(jobId: number): Promise<ReportProblem[]>;
  after(jobId: number, status: JobReport['status']): Promise<ReportProblem[]>;
}

/** Agents' info lines kept in a job's log (a chatty program must not fill the catalog). */
const MAX_INFO_LOG_LINES = 10_000;

/** How long the Director waits for the SD's session-closed notice after the FD's close reply. */
const CLOSE_NOTICE_TIMEOUT_MS = 60_000;

export async function runBackupJob(repo: JobPlumbing, req: BackupRequest): Promise<JobReport> {
  const now = req.now ?? (() => new Date());
  const catalog = repo.catalog;
  const client = repo.clientName;
  const started = now();
  repo.files.warmUp(req.fileset.options.compression === 'zstd' ? req.fileset.options.level : null);
  const fp = filesetFingerprint(req.fileset);
  await catalog.ensureClient(client);
  await catalog.ensureFileset(req.fileset.name, fp.text);

  let level: Level = req.level;
  let levelUpgraded: JobReport['levelUpgraded'];
  let base: CatalogJob | null = null;
  if (level !== 'full') {
    base = await catalog.lastSuccessfulJob({ client, name: req.jobName, levels: level === 'incremental' ? ['full', 'incremental', 'differential'] : ['full'] });
    if (!base) {
      levelUpgraded = { from: level, reason: `no successful ${level === 'differential' ? 'Full' : 'backup'} of job "${req.jobName}" to base it on` };
      level = 'full';
    } else if (base!.filesetHash !== fp.hash) {
      levelUpgraded = { from: level, reason: `the fileset changed since job ${base!.id}` };
      level = 'full';
      base = null;
    }
  }
  const jobId = await catalog.createJob({ name: req.jobName, type: 'backup', level, client, fileset: req.fileset.name, filesetHash: fp.hash, pool: repo.pool, startedAt: started });
  req.onJobId?.(jobId);
  // With a SQLite catalog a big job's rows are decoded and inserted in a thread of their own (adaptive-assembler.ts).
  const assembler = catalog.sqliteFile ? new AdaptiveFileAssembler(catalog, catalog.sqliteFile, jobId) : new FileAssembler(catalog, jobId);
  let closeNotice: (r: SessionCloseReport) => void = () => undefined;
  let abortNotice: (why: string) => void = () => undefined;
  const closed = new Promise<SessionCloseReport>((resolve, reject) => {
    closeNotice = resolve;
    abortNotice = (why) => reject(new CairnError('CAIRN_E_JOB_FAILED', `the SD aborted the session: ${why}`, { jobId }));
  });
  closed.catch(() => undefined);
  repo.notifications.set(jobId, (n) => {
    if (n.type === 'catalog-records') assembler.add(n.records);
    else if (n.type === 'session-closed') closeNotice(n.report);
    else if (n.type === 'session-aborted') abortNotice(n.reason);
  });

  const chainIds = base ? (await catalog.restoreChain(base)).map((j) => j.id) : [];
  const baseFor = async (key: string): Promise<AgentBase> => {
    if (!base) return { state: null };
    const state: AgentState = await catalog.agentState(base.id, key);
    const b = base;
    const baseJob: BaseJob = {
      jobId: b.id,
      level: b.level as Level,
      startedAt: b.startedAt,
      files: async function* () {
        yield* catalog.baseTree(chainIds);
      },
    };
    return { base: baseJob, state };
  };

  let report: JobReport;
  try {
    const scriptWarnings = (await req.scripts?.before(jobId)) ?? [];
    const { sessionId, ...grant } = await repo.director.openAppendSession({
      jobId,
      jobName: req.jobName,
      client,
      level,
      pool: repo.pool,
      fileset: req.fileset.name,
      startedAt: started.getTime(),
      extra: { filesetHash: fp.hash, baseJobId: base?.id ?? null },
    });
    await catalog.updateJob(jobId, { sessionId });
    const outcome = await repo.files.backup({ jobId, jobName: req.jobName, level, fileset: req.fileset, grant, baseFor, signal: req.signal, onProgress: req.onProgress, agentOptions: req.agentOptions });
    let status = outcome.status;
    let error = outcome.error;
    let closeReport: SessionCloseReport | undefined;
    if (status === 'ok' || status === 'warning') {
      try {
        closeReport = await withTimeout(closed, CLOSE_NOTICE_TIMEOUT_MS, 'the SD did not confirm the session close');
        await assembler.finish();
        await catalog.insertJobMedia(jobId, closeReport.ranges);
      } catch (err) {
        status = 'error';
        error = isCairnError(err) ? err : new CairnError('CAIRN_E_JOB_FAILED', (err as Error).message, { jobId }, { cause: err });
      }
    }
    if (req.scripts) {
      try {
        scriptWarnings.push(...(await req.scripts.after(jobId, status)));
      } catch (err) {
        status = 'error';
        error ??= isCairnError(err) ? err : new CairnError('CAIRN_E_JOB_SCRIPT', (err as Error).message, { jobId }, { cause: err });
      }
    }
    if (scriptWarnings.length && status === 'ok') status = 'warning';
    const warnings: ReportProblem[] = [...scriptWarnings, ...outcome.messages.filter((m) => m.level !== 'info').map((m) => ({ path: m.path, code: m.code ?? 'CAIRN_W_AGENT', text: m.text }))];
    // The agents' info lines (a pipe program's stderr, say) go into the job log too; a failed job's first of all.
    for (const m of outcome.messages.filter((x) => x.level === 'info').slice(0, MAX_INFO_LOG_LINES)) await catalog.addJobLog(jobId, { level: 'info', code: m.code, path: m.path ? Buffer.from(m.path) : undefined, text: `${m.agent}: ${m.text}` });
    for (const w of warnings) await catalog.addJobLog(jobId, { level: 'warning', code: w.code, path: w.path ? Buffer.from(w.path) : undefined, text: w.text });
    if (error) await catalog.addJobLog(jobId, { level: 'error', code: error.code, text: error.message });
    const ended = now();
    const durationMs = Math.max(1, ended.getTime() - started.getTime());
    report = {
      jobId,
      name: req.jobName,
      type: 'backup',
      level,
      levelUpgraded,
      status,
      exitCode: EXIT_CODES[status],
      startedAt: started.toISOString(),
      endedAt: ended.toISOString(),
      durationMs,
      files: outcome.counters.files,
      deleted: outcome.counters.deleted,
      bytes: outcome.counters.bytes,
      storedBytes: outcome.counters.storedBytes,
      rate: Math.round((outcome.counters.bytes * 1000) / durationMs),
      volumes: closeReport ? [...new Set(closeReport.ranges.map((r) => r.volume))] : [],
      baseJobId: base?.id,
      warnings,
      problems: [],
      error: error ? { code: error.code, message: error.message } : undefined,
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
    });
    await repo.files.jobEnded(jobId, status);
  } catch (err) {
    const error = isCairnError(err) ? err : new CairnError('CAIRN_E_JOB_FAILED', (err as Error).message, { jobId }, { cause: err });
    const ended = now();
    report = {
      jobId, name: req.jobName, type: 'backup', level, levelUpgraded, status: 'error', exitCode: EXIT_CODES.error,
      startedAt: started.toISOString(), endedAt: ended.toISOString(), durationMs: ended.getTime() - started.getTime(),
      files: 0, bytes: 0, rate: 0, warnings: [], problems: [], error: { code: error.code, message: error.message },
    };
    await catalog.addJobLog(jobId, { level: 'error', code: error.code, text: error.message }).catch(() => undefined);
    await catalog.finishJob(jobId, { status: 'error', endedAt: ended, files: 0, bytes: 0, errors: 1, report: report as unknown as Record<string, unknown> });
    await repo.files.jobEnded(jobId, 'error');
  } finally {
    repo.notifications.delete(jobId);
    if (assembler instanceof AdaptiveFileAssembler) await assembler.close();
  }
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
