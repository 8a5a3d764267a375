/**
 * cairn/director — the Director and the console.
 *
 * Owns: job control (backup levels and their base jobs, restore selection
 * and bootstrap, verify), the catalog (director/catalog), local mode (one
 * process, one repository folder, the real SD protocol over in-memory
 * pairs), and the `cairn` console. Does not own: how data is read or
 * written (core/, plugins/) or how it lands on media (sd/).
 */
export { main, runCli } from './cli/main.js';
export { LocalRepository, initRepository, defaultRepoPath, DEFAULT_REPO_SETTINGS, type RepoSettings } from './local/repository.js';
export { RepoLock, type LockHolder } from './local/repo-lock.js';
export { runBackupJob, type BackupRequest } from './jobs/backup-job.js';
export { runRestoreJob, runVerifyJob, type RestoreRequest } from './jobs/restore-job.js';
export { resolveBackupJob, resolveRestorePoint, isLogTypeJob, type RestorePoint } from './jobs/resolve-job.js';
export { EXIT_CODES, formatReport, type JobReport, type ReportProblem } from './jobs/job-report.js';
export { DIRECTOR_ERRORS } from './errors.js';
export * as catalog from './catalog/index.js';
export { DirectorService, type DirectorServiceOptions, type RestoreCommand, type RunningJob } from './network/director-service.js';
export { ConsoleService } from './network/console-service.js';
export { RemoteFd, type RemoteFdOptions } from './remote/remote-fd.js';
export { Scheduler, parseRunRule, nextRun, SCHEDULE_ERRORS } from './schedule/index.js';
