/**
 * Completing a backup job a previous Director left running (issue: the
 * Director's connection drops mid-job). The FD and the SD went on without
 * it: the FD keeps the job's outcome for `job result`, the SD keeps the
 * job's notifications in its spool. The restarted Director forgets the file
 * rows it had inserted, claims the job from the SD (every catalog record is
 * sent again, then session-closed), collects the FD's outcome and commits
 * the job exactly as a job run start to finish would (backup-commit.ts).
 * A job whose session the SD no longer holds, or whose outcome the FD no
 * longer has, ends in Error (CAIRN_E_JOB_INTERRUPTED): nothing it wrote counts.
 */
import { CairnError, isCairnError, type Level } from '../../plugin-api/index.js';
import type { BackupOutcome } from '../../core/index.js';
import type { CatalogJob } from '../catalog/index.js';
import type { JobPlumbing } from './job-plumbing.js';
import type { JobScripts } from './backup-job.js';
import { FileAssembler } from './file-assembler.js';
import { AdaptiveFileAssembler } from './adaptive-assembler.js';
import { afterBackup, commitBackup, failBackup, listenToSession } from './backup-commit.js';
import type { JobReport } from './job-report.js';

/** A resumed job's session may still be receiving data: it is waited for this long after the FD's outcome. */
const RESUMED_CLOSE_TIMEOUT_MS = 10 * 60_000;

export interface ResumeRequest {
  /** The catalog's running backup job. */
  job: CatalogJob;
  /** The FD's outcome of the job, waiting while it still runs there. */
  outcome(signal?: AbortSignal): Promise<BackupOutcome>;
  scripts?: JobScripts;
  signal?: AbortSignal;
  now?: () => Date;
}

export async function resumeBackupJob(repo: JobPlumbing, req: ResumeRequest): Promise<JobReport> {
  const { catalog } = repo;
  const job = req.job;
  const jobId = job.id;
  const now = req.now ?? (() => new Date());
  const ctx = { jobId, jobName: job.name, level: job.level as Level, started: job.startedAt, now };
  await catalog.clearJobFiles(jobId);
  const assembler = catalog.sqliteFile ? new AdaptiveFileAssembler(catalog, catalog.sqliteFile, jobId) : new FileAssembler(catalog, jobId);
  const session = listenToSession(repo, jobId, assembler);
  let report: JobReport;
  try {
    if (!repo.director.claim) throw new CairnError('CAIRN_E_JOB_INTERRUPTED', 'this Storage Daemon connection cannot hand a job over', { jobId });
    const claimed = await repo.director.claim(jobId).catch((err: unknown) => {
      throw isCairnError(err) && err.code === 'CAIRN_E_SESSION_NOT_FOUND'
        ? new CairnError('CAIRN_E_JOB_INTERRUPTED', `the Storage Daemon holds nothing of job ${jobId} (it was restarted without its spool, or the session never opened)`, { jobId }, { cause: err })
        : err;
    });
    if (claimed.state === 'lost') throw new CairnError('CAIRN_E_JOB_INTERRUPTED', `the Storage Daemon stopped before job ${jobId}'s session ended`, { jobId });
    const outcome = await req.outcome(req.signal).catch((err: unknown) => {
      throw isCairnError(err) && err.code === 'CAIRN_E_FD_NO_JOB'
        ? new CairnError('CAIRN_E_JOB_INTERRUPTED', `the File Daemon holds no outcome of job ${jobId} (it was restarted, or the outcome was collected)`, { jobId }, { cause: err })
        : err;
    });
    report = await commitBackup(repo, {
      ...ctx,
      assembler,
      session,
      scripts: req.scripts,
      scriptWarnings: [],
      closeTimeoutMs: RESUMED_CLOSE_TIMEOUT_MS,
      notes: [{ code: 'CAIRN_I_JOB_RESUMED', text: `the Director restarted during the job; it took the job over (${claimed.notifications} notifications spooled by the SD, session ${claimed.state}) and completed it` }],
    }, outcome);
  } catch (err) {
    report = await failBackup(repo, ctx, err);
  }
  await afterBackup(repo, jobId, assembler, now);
  return report;
}
