/**
 * The Director's scheduler: run rules ("Mon-Fri 01:00 level=incremental"),
 * the next instant a rule fires (DST-aware, local time or UTC), and the
 * Scheduler that emits due runs. It does not start jobs nor decide whether
 * one may start: the caller does, in onDue. Grammar: docs/schedules.md.
 */
export { parseRunRule, PRIORITY_MAX } from './rule-parser.js';
export { nextRun } from './next-run.js';
export type { RunRule, DaySelector, Weekday, WeekdayOrdinal } from './run-rule.js';
export { LEVEL_RANK } from './run-rule.js';
export { UTC_OFFSETS, LOCAL_OFFSETS, type ZoneOffsets } from './wall-clock.js';
export type { ScheduledJob, PlannedRun } from './job-plan.js';
export {
  Scheduler,
  parseSchedules,
  MAX_TIMER_MS,
  DEFAULT_LOOKAHEAD_MS,
  DEFAULT_LATE_AFTER_MS,
  UPCOMING_MAX,
  type ScheduleDef,
  type DueRun,
  type MissedRuns,
  type UpcomingRun,
  type SchedulerOptions,
} from './scheduler.js';
export { SCHEDULE_ERRORS, type ScheduleErrorCode } from './errors.js';
