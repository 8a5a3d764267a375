/**
 * Error catalogue of the Director and console (job control, local mode, CLI).
 */
import type { ErrorSpec } from '../plugin-api/index.js';

export const DIRECTOR_ERRORS = {
  CAIRN_E_USAGE: { exitCode: 2, retryable: false, summary: 'The command line is wrong: an unknown option, a missing argument, a bad value.' },
  CAIRN_E_REPO_NOT_FOUND: { exitCode: 2, retryable: false, summary: 'No Cairn repository at the given path (run `cairn init` or pass --repo).' },
  CAIRN_E_REPO_INVALID: { exitCode: 2, retryable: false, summary: 'The folder is not a Cairn repository of a format this version reads.' },
  CAIRN_E_REPO_LOCKED: { exitCode: 5, retryable: true, summary: 'Another process holds the repository lock (its pid and command are named); use --wait to queue.' },
  CAIRN_E_JOB_NOT_FOUND: { exitCode: 2, retryable: false, summary: 'No job matches the id, name or time given.' },
  CAIRN_E_RESTORE_TARGET: { exitCode: 2, retryable: false, summary: 'The restore target cannot be used (not a directory, not writable).' },
  CAIRN_E_RESTORE_INCOMPLETE: { exitCode: 3, retryable: false, summary: 'Some selected files were not restored whole; they are listed in the report.' },
  CAIRN_E_RESTORE_NO_COPY: { exitCode: 2, retryable: false, summary: 'A restore asked for a mirrored copy (--copy N) of a job that has none.' },
  CAIRN_E_VERIFY_FAILED: { exitCode: 3, retryable: false, summary: 'Verify found damaged blocks, digest mismatches or missing files; they are listed with volume and block.' },
  CAIRN_E_VERIFY_MODIFIED: { exitCode: 3, retryable: false, summary: 'Verify --level catalog: the live file differs from the backup (kind, mode, owner, size, mtime or content), listed per file.' },
  CAIRN_E_VERIFY_MISSING: { exitCode: 3, retryable: false, summary: 'Verify --level catalog: a file of the backup is gone from the client.' },
  CAIRN_E_VERIFY_NEW: { exitCode: 3, retryable: false, summary: 'Verify --level catalog: a file on the client that the backup does not hold (not excluded by the fileset).' },
  CAIRN_E_BOOTSTRAP_SYNTAX: { exitCode: 2, retryable: false, summary: 'The bootstrap file is not one Cairn reads (docs/bootstrap.md): the message names file, line and what is wrong.' },
  CAIRN_E_JOB_FAILED: { exitCode: 3, retryable: false, summary: 'The job ended in error; the report names the cause.' },
  CAIRN_E_INTERNAL: { exitCode: 70, retryable: false, summary: 'A bug: an error without a Cairn code reached the console (the message has the stack; please report it).' },
  CAIRN_E_NOT_BUILT: { exitCode: 2, retryable: false, summary: 'The compiled program (dist/) is missing: run `npm run build`.' },
  CAIRN_E_NOT_AVAILABLE: { exitCode: 2, retryable: false, summary: 'The command exists but this version does not provide it yet.' },
  CAIRN_E_JOB_RUNNING: { exitCode: 5, retryable: true, summary: 'The job is still running; a job is never started twice at once.' },
  CAIRN_E_CLIENT_NOT_FOUND: { exitCode: 2, retryable: false, summary: "No client of that name in the Director's config." },
  CAIRN_E_STORAGE_NOT_FOUND: { exitCode: 2, retryable: false, summary: "No storage of that name in the Director's config." },
  CAIRN_E_JOB_SCRIPT: { exitCode: 3, retryable: false, summary: 'A run-before or run-after command of the job exited non-zero (configured to fail the job); its output is in the job log.' },
  CAIRN_E_DAEMON_RUNNING: { exitCode: 5, retryable: false, summary: 'Another copy of the daemon already runs on the same working directory (its pid is named).' },
  CAIRN_E_DAEMON_START: { exitCode: 2, retryable: false, summary: 'A daemon could not start (or did not start listening in time); its log says why.' },
  CAIRN_E_JOB_INTERRUPTED: { exitCode: 3, retryable: false, summary: 'The process running the job died before the job ended; the job was marked Error when the repository was next opened for writing.' },
  CAIRN_E_JOB_CANCELLED: { exitCode: 4, retryable: false, summary: 'The job was cancelled.' },
  CAIRN_E_JOB_UNCOMMITTED: { exitCode: 3, retryable: false, summary: "The SD reported the job's session closed, but the catalog's committed end of a volume does not cover the session's blocks (the next mount would trim them): the job is marked Error, not OK." },
} as const satisfies Record<string, ErrorSpec>;
