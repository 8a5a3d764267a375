/**
 * Error catalogue of the pipe agent (plugins/pipe).
 */
import type { ErrorSpec } from '../../plugin-api/index.js';

export const PIPE_ERRORS = {
  CAIRN_E_PIPE_EXIT: { exitCode: 3, retryable: false, summary: 'A reader or writer program of the pipe agent exited with a non-zero status or was killed; the program, its status and its last stderr lines are named.' },
  CAIRN_E_PIPE_OPTIONS: { exitCode: 2, retryable: false, summary: "The pipe agent's files list is unusable (a path not absolute or given twice, a file without a reader)." },
  CAIRN_E_PIPE_NO_WRITER: { exitCode: 1, retryable: false, summary: 'A pipe file has no writer program and the restore has no target folder to write it into; it was not restored.' },
} as const satisfies Record<string, ErrorSpec>;

export type PipeErrorCode = keyof typeof PIPE_ERRORS;
