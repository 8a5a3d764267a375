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
  CAIRN_E_KEY_WRONG: { exitCode: 2, retryable: false, summary: 'None of the keys supplied is one the job was sealed for; the message names the job, the keys it was sealed for and the keys supplied. Nothing was written.' },
  CAIRN_E_KEY_NEEDED: { exitCode: 2, retryable: false, summary: 'The job is encrypted and no private key was supplied (a write-only client holds public keys only): give it with --key FILE.' },
  CAIRN_E_KEY_FILE: { exitCode: 2, retryable: false, summary: 'A key or keyring file cannot be read, is malformed, or would overwrite an existing file.' },
  CAIRN_E_KEY_PERMISSIONS: { exitCode: 2, retryable: false, summary: 'A key file holding a secret key may be read by group or others; Cairn refuses it until it is chmod 600.' },
  CAIRN_E_KEY_HEADER: { exitCode: 3, retryable: false, summary: "A job's encryption header (start label or catalog) is malformed or belongs to another job." },
  CAIRN_E_SEAL_BROKEN: { exitCode: 3, retryable: false, summary: 'A sealed record does not authenticate at its place (altered, swapped, moved, truncated, or sealed with another key); its file is not restored.' },
  CAIRN_E_SEAL_MISSING: { exitCode: 3, retryable: false, summary: 'An encrypted job holds an unsealed data record: it was not written by the job\'s FD; its file is not restored.' },
  CAIRN_E_MANIFEST_INVALID: { exitCode: 3, retryable: false, summary: "A job's signed manifest cannot be decoded." },
  CAIRN_E_MANIFEST_SIGNATURE: { exitCode: 3, retryable: false, summary: "A job's manifest does not verify with its signer's key: nothing of the job is restored." },
  CAIRN_E_MANIFEST_MISMATCH: { exitCode: 3, retryable: false, summary: "A record on the volume differs from the job's signed manifest (e.g. altered attributes); its file is not restored." },
} as const satisfies Record<string, ErrorSpec>;
