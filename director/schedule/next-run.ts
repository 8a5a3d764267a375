/**
 * nextRun: the first instant strictly after a given one at which a RunRule
 * fires. Walks wall-clock days of the rule's zone (skipping months the rule
 * leaves out) and resolves each of the day's times through wall-clock.ts, so
 * DST gaps and repeats follow the one rule stated there.
 */
import { CairnError } from '../../plugin-api/index.js';
import type { DaySelector, RunRule } from './run-rule.js';
import { instantOfWall, LOCAL_OFFSETS, UTC_OFFSETS, wallDateOf, type ZoneOffsets } from './wall-clock.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
/** The Gregorian calendar repeats every 400 years (146 097 days): a rule silent that long never fires. */
const SEARCH_DAYS = 146_097 + 31;

/** The offsets a rule's times are read in: `zone` if given (tests), else the rule's own zone. */
export function zoneOf(rule: RunRule, zone?: ZoneOffsets): ZoneOffsets {
  return zone ?? (rule.zone === 'utc' ? UTC_OFFSETS : LOCAL_OFFSETS);
}

export function nextRun(rule: RunRule, after: Date, zone?: ZoneOffsets): Date {
  const afterMs = after.getTime();
  if (Number.isNaN(afterMs)) throw new RangeError('nextRun: `after` is an invalid Date');
  const offsets = zoneOf(rule, zone);
  const w = wallDateOf(afterMs, offsets);
  const afterDay = Date.UTC(w.year, w.month - 1, w.day);
  const end = afterDay + SEARCH_DAYS * DAY;
  for (let dayMs = afterDay - DAY; dayMs <= end; ) {
    const d = new Date(dayMs);
    const year = d.getUTCFullYear();
    const month = d.getUTCMonth() + 1;
    if (!rule.months.includes(month)) {
      dayMs = Date.UTC(year, month, 1); // the 1st of the next month
      continue;
    }
    if (dayMatches(rule.days, year, month, d.getUTCDate(), d.getUTCDay())) {
      // Resolution is monotone in wall time, so the day's first time past
      // `after` is found by bisection (every 1 minute: 11 steps, not 1440).
      const times = rule.times;
      let lo = 0;
      let hi = times.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (instantOfWall(dayMs + times[mid] * MINUTE, offsets) > afterMs) hi = mid;
        else lo = mid + 1;
      }
      if (lo < times.length) return new Date(instantOfWall(dayMs + times[lo] * MINUTE, offsets));
    }
    dayMs += DAY;
  }
  throw new CairnError('CAIRN_E_SCHEDULE_INVALID', `schedule rule "${rule.text}" never fires (no matching day within 400 years)`, {
    rule: rule.text,
    token: '',
    position: 0,
  });
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function dayMatches(sel: DaySelector, year: number, month: number, day: number, weekday: number): boolean {
  switch (sel.kind) {
    case 'every-day':
      return true;
    case 'weekdays':
      return sel.weekdays.includes(weekday as never);
    case 'month-days': {
      const dim = daysInMonth(year, month);
      return sel.days.some((x) => (x === 'last' ? day === dim : x === day));
    }
    case 'nth-weekdays': {
      if (weekday !== sel.weekday) return false;
      const dim = daysInMonth(year, month);
      return sel.ordinals.some((o) => (o === 'last' ? day + 7 > dim : Math.ceil(day / 7) === o));
    }
  }
}
