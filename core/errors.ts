/**
 * Error catalogue of the File Daemon (core/): plugin host, pipelines.
 */
import type { ErrorSpec } from '../plugin-api/index.js';

export const CORE_ERRORS = {
  CAIRN_E_FILESET_INVALID: { exitCode: 2, retryable: false, summary: 'The fileset is malformed: a key is unknown, missing or of the wrong type.' },
  CAIRN_E_RECORD_CORRUPT: { exitCode: 3, retryable: false, summary: 'A record could not be decoded (bad attributes, bad zstd frame, out-of-order stream).' },
  CAIRN_E_DIGEST_MISMATCH: { exitCode: 3, retryable: false, summary: "A stream's SHA-256 does not match the digest recorded at backup time." },
  CAIRN_E_FILE_INCOMPLETE: { exitCode: 3, retryable: false, summary: 'A file selected for restore or verify did not arrive whole (damaged or missing blocks).' },
  CAIRN_E_STREAM_LENGTH: { exitCode: 1, retryable: false, summary: 'An agent delivered a different number of bytes than it declared for a stream (warning; the stored copy has what was delivered).' },
  CAIRN_E_FD_NO_JOB: { exitCode: 3, retryable: false, summary: 'The FD has no such job running, or holds no result for it.' },
  CAIRN_E_FD_JOB_RUNNING: { exitCode: 3, retryable: true, summary: 'A job with that id is already running on the FD (a job is never run twice at once).' },
  CAIRN_E_COMMAND_INVALID: { exitCode: 2, retryable: false, summary: 'A run command is not a list of the program and its arguments.' },
  CAIRN_E_COMMAND_NOT_ALLOWED: { exitCode: 2, retryable: false, summary: "The FD refuses to run a program its own config's commands.allow does not list." },
  CAIRN_E_COMMAND_FAILED: { exitCode: 3, retryable: false, summary: 'A run command could not be started (missing program, no permission).' },
  CAIRN_E_FD_PIPELINE: { exitCode: 3, retryable: false, summary: 'The data pipeline failed (compression worker, SD connection).' },
} as const satisfies Record<string, ErrorSpec>;
