/**
 * RunRule: one parsed line of a Schedule ("Mon-Fri 01:00 level=incremental"),
 * the plain data that nextRun() walks. Wall-clock fields only; which clock
 * (the Director's local time or UTC) is the rule's `zone`.
 */
import type { Level } from '../../plugin-api/index.js';

/** Weekday numbers as Date#getUTCDay(): 0 = Sunday … 6 = Saturday. */
export type Weekday = 0 | 1 | 2 | 3 | 4 | 5 | 6;

/** Which occurrence of a weekday in its month: 1st … 5th, or the last one. */
export type WeekdayOrdinal = 1 | 2 | 3 | 4 | 5 | 'last';

/** Which days of a selected month the rule fires on. */
export type DaySelector =
  | { readonly kind: 'every-day' }
  | { readonly kind: 'weekdays'; readonly weekdays: readonly Weekday[] }
  /** Day numbers 1–31; 'last' is the month's last day. A day the month lacks is skipped. */
  | { readonly kind: 'month-days'; readonly days: readonly (number | 'last')[] }
  | { readonly kind: 'nth-weekdays'; readonly ordinals: readonly WeekdayOrdinal[]; readonly weekday: Weekday };

export interface RunRule {
  /** The rule as written, for messages and `cairn status dir`. */
  readonly text: string;
  /** 'local' = the Director's time zone (process TZ); 'utc' when the rule says tz=UTC. */
  readonly zone: 'local' | 'utc';
  /** Months 1–12 the rule fires in, ascending (all twelve without an `in` qualifier). */
  readonly months: readonly number[];
  readonly days: DaySelector;
  /** Wall-clock minutes after midnight (0–1439), ascending, no duplicates. */
  readonly times: readonly number[];
  /** Overrides of the job's defaults; absent = the job's own. */
  readonly level?: Level;
  readonly pool?: string;
  readonly priority?: number;
}

/** full > differential > incremental: what a merge of runs at one minute keeps. */
export const LEVEL_RANK: Readonly<Record<Level, number>> = { incremental: 0, differential: 1, full: 2 };

export const ALL_MONTHS: readonly number[] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
