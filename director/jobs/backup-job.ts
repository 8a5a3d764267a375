/**
 * Job control for a Backup: picks the level's base job (upgrading to Full
 * when there is none or the fileset changed, and saying so), opens the SD
 * append session, has the FD run the agents, catalogs what the SD reports,
 * and marks the job OK only after the SD's close reply (blocks durable) and
 * the catalog commit. Only then do the agents hear jobEnded.
 */
import type { Level } from '../../plugin-api/index.js';
import { filesetFingerprint, type AgentOptionOverrides, type BackupCounters, type Fileset } from '../../core/index.js';
import type { JobPlumbing } from './job-plumbing.js';
import { FileAssembler } from './file-assembler.js';
import { AdaptiveFileAssembler } from './adaptive-assembler.js';
import type { JobReport, ReportProblem } from './job-report.js';
import { baseProvider, chooseLevel } from './job-base.js';
import { afterBackup, commitBackup, failBackup, listenToSession } from './backup-commit.js';

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
  /** At most this many bytes a second from the FD to the SD. */
  maxBandwidth?: number;
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

/** Fileset texts up to this size are copied into the session start label (a label must fit one block: 4 KiB at the least). */
const FILESET_TEXT_IN_LABEL_MAX = 2048;

export async function runBackupJob(repo: JobPlumbing, req: BackupRequest): Promise<JobReport> {
  const now = req.now ?? (() => new Date());
  const catalog = repo.catalog;
  const client = repo.clientName;
  const started = now();
  repo.files.warmUp(req.fileset.options.compression === 'zstd' ? req.fileset.options.level : null);
  const fp = filesetFingerprint(req.fileset);
  await catalog.ensureClient(client);
  await catalog.ensureFileset(req.fileset.name, fp.text);

  const { level, levelUpgraded, base } = await chooseLevel(catalog, { client, jobName: req.jobName, level: req.level, filesetHash: fp.hash });
  const jobId = await catalog.createJob({ name: req.jobName, type: 'backup', level, client, fileset: req.fileset.name, filesetHash: fp.hash, pool: repo.pool, startedAt: started });
  req.onJobId?.(jobId);
  // With a SQLite catalog a big job's rows are decoded and inserted in a thread of their own (adaptive-assembler.ts).
  const assembler = catalog.sqliteFile ? new AdaptiveFileAssembler(catalog, catalog.sqliteFile, jobId) : new FileAssembler(catalog, jobId);
  const session = listenToSession(repo, jobId, assembler);

  const baseFor = await baseProvider(catalog, base);

  let report: JobReport;
  try {
    const scriptWarnings = (await req.scripts?.before(jobId)) ?? [];
    const { sessionId, ...grant } = await repo.director.openAppendSession({
      jobId,
      jobName: req.jobName,
      client,
      level,
      pool: repo.pool,
      device: repo.device,
      ...(repo.mirrorDevice ? { mirror: { device: repo.mirrorDevice } } : {}),
      fileset: req.fileset.name,
      startedAt: started.getTime(),
      // What a catalog rebuilt from the volumes needs (volume-format.md §4): the fileset's text when it is small enough for a label.
      extra: { filesetHash: fp.hash, baseJobId: base?.id ?? null, ...(fp.text.length <= FILESET_TEXT_IN_LABEL_MAX ? { filesetText: fp.text } : {}) },
    });
    await catalog.updateJob(jobId, { sessionId });
    const outcome = await repo.files.backup({ jobId, jobName: req.jobName, level, fileset: req.fileset, grant, baseFor, signal: req.signal, onProgress: req.onProgress, maxBandwidth: req.maxBandwidth, agentOptions: req.agentOptions });
    report = await commitBackup(repo, { jobId, jobName: req.jobName, level, levelUpgraded, baseJobId: base?.id, started, now, assembler, session, scripts: req.scripts, scriptWarnings }, outcome);
  } catch (err) {
    report = await failBackup(repo, { jobId, jobName: req.jobName, level, levelUpgraded, started, now }, err);
  }
  await afterBackup(repo, jobId, assembler, now);
  return report;
}
