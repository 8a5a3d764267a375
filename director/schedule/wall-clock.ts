/**
 * Wall clock <-> instant for the two zones a rule may use (the Director's
 * local time, UTC), through one small injectable interface so tests can
 * model a DST zone without changing the process TZ.
 *
 * A wall time is resolved as rules promise (docs/schedules.md): in a
 * spring-forward gap it becomes the first valid minute after the gap; when
 * the clock falls back and it occurs twice, the first occurrence.
 */

/** The zone's offset from UTC at an instant, in minutes east (Berlin summer: +120). */
export interface ZoneOffsets {
  offsetMinutes(epochMs: number): number;
}

export const UTC_OFFSETS: ZoneOffsets = { offsetMinutes: () => 0 };

/** The process's own zone (TZ), as Date sees it. */
export const LOCAL_OFFSETS: ZoneOffsets = { offsetMinutes: (ms) => -new Date(ms).getTimezoneOffset() };

const MINUTE = 60_000;
const DAY = 86_400_000;

/** Wall-clock date of an instant: year, month 1–12, day, weekday 0–6 (Sun = 0), minute of day. */
export interface WallDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly weekday: number;
  readonly minuteOfDay: number;
}

export function wallDateOf(epochMs: number, zone: ZoneOffsets): WallDate {
  const d = new Date(epochMs + zone.offsetMinutes(epochMs) * MINUTE);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    weekday: d.getUTCDay(),
    minuteOfDay: d.getUTCHours() * 60 + d.getUTCMinutes(),
  };
}

/**
 * The instant a wall time names in `zone`: `wallMs` is the wall time written
 * as if it were UTC (Date.UTC(y, m-1, d, h, min)). Assumes at most one offset
 * change within a day either side, as every real zone has.
 */
export function instantOfWall(wallMs: number, zone: ZoneOffsets): number {
  const offsets = new Set([zone.offsetMinutes(wallMs - DAY), zone.offsetMinutes(wallMs), zone.offsetMinutes(wallMs + DAY)]);
  let first: number | undefined;
  for (const off of offsets) {
    const t = wallMs - off * MINUTE;
    if (zone.offsetMinutes(t) === off && (first === undefined || t < first)) first = t;
  }
  if (first !== undefined) return first;
  // In a gap: between t with the later (larger) offset and t with the earlier
  // one lies the change; the first minute past it is the answer.
  const sorted = [...offsets].sort((a, b) => b - a);
  let lo = wallMs - sorted[0] * MINUTE; // before the change
  let hi = wallMs - sorted[sorted.length - 1] * MINUTE; // after it
  const before = zone.offsetMinutes(lo);
  while (hi - lo > MINUTE) {
    const mid = lo + Math.floor((hi - lo) / 2 / MINUTE) * MINUTE;
    if (zone.offsetMinutes(mid) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}
