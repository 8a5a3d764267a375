/**
 * Calendar durations for retention periods, volume use durations and
 * `--keep-within`: restic's form `1y5m7d2h` (years, months, days, hours;
 * `m` is months, not minutes), plus `w` (7 days). Subtracting one goes back
 * in calendar terms in local time, as restic's `AddDate` does: 1m before
 * March 31 is "February 31", which normalises to March 3 (2 or 3).
 */
import { CairnError } from '../../plugin-api/index.js';

export interface Duration {
  years: number;
  months: number;
  days: number;
  hours: number;
}

export const ZERO_DURATION: Duration = Object.freeze({ years: 0, months: 0, days: 0, hours: 0 });

/** Parses `30d`, `6m`, `1y2m`, `12h`, `2w`. Throws CAIRN_E_CATALOG_DURATION. */
export function parseDuration(text: string, what = 'duration'): Duration {
  const s = String(text).trim();
  const d = { years: 0, months: 0, days: 0, hours: 0 };
  const bad = (why: string) => new CairnError('CAIRN_E_CATALOG_DURATION', `${what} "${text}" is not a duration (${why}; write e.g. 30d, 6m, 1y, 12h, 2w or 1y6m)`, { duration: text, what });
  if (s === '') throw bad('empty');
  const re = /(\d+)([ymwdh])/gy;
  let at = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const n = Number(m[1]);
    if (!Number.isSafeInteger(n)) throw bad('number too large');
    if (m[2] === 'y') d.years += n;
    else if (m[2] === 'm') d.months += n;
    else if (m[2] === 'w') d.days += 7 * n;
    else if (m[2] === 'd') d.days += n;
    else d.hours += n;
    at = re.lastIndex;
  }
  if (at !== s.length) throw bad(`unexpected "${s.slice(at)}"`);
  return d;
}

export function isZeroDuration(d: Duration): boolean {
  return d.years === 0 && d.months === 0 && d.days === 0 && d.hours === 0;
}

export function formatDuration(d: Duration): string {
  const parts = [[d.years, 'y'], [d.months, 'm'], [d.days, 'd'], [d.hours, 'h']].filter(([n]) => n !== 0).map(([n, u]) => `${n}${u}`);
  return parts.length ? parts.join('') : '0h';
}

/** `t` minus `d`, in calendar terms (local time). */
export function subtractDuration(t: Date, d: Duration): Date {
  const r = new Date(t.getTime());
  r.setFullYear(r.getFullYear() - d.years, r.getMonth() - d.months, r.getDate() - d.days);
  return new Date(r.getTime() - d.hours * 3_600_000);
}

/** `t` plus `d`, in calendar terms (local time). */
export function addDuration(t: Date, d: Duration): Date {
  const r = new Date(t.getTime());
  r.setFullYear(r.getFullYear() + d.years, r.getMonth() + d.months, r.getDate() + d.days);
  return new Date(r.getTime() + d.hours * 3_600_000);
}
