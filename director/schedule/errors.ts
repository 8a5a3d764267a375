/**
 * Error catalogue of the Director's scheduler (run rules, schedules, jobs
 * naming schedules). Kept beside the scheduler so director/errors.ts can
 * adopt it by spreading SCHEDULE_ERRORS.
 */
import type { ErrorSpec } from '../../plugin-api/index.js';

export const SCHEDULE_ERRORS = {
  CAIRN_E_SCHEDULE_INVALID: {
    exitCode: 2,
    retryable: false,
    summary: 'A schedule run rule cannot be read or can never fire; the message names the rule, the token at fault, its column and the expected form.',
  },
  CAIRN_E_SCHEDULE_UNKNOWN: { exitCode: 2, retryable: false, summary: 'A job names a schedule that is not defined.' },
  CAIRN_E_SCHEDULE_DUPLICATE: { exitCode: 2, retryable: false, summary: 'Two schedules (or two jobs) have the same name.' },
} as const satisfies Record<string, ErrorSpec>;

export type ScheduleErrorCode = keyof typeof SCHEDULE_ERRORS;
