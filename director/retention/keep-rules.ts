/**
 * restic's keep rules (`restic forget --keep-*`), with restic's semantics,
 * applied to one group of successful backups (one client and job name):
 *
 * - The jobs are walked newest first (job time = start time; ties: higher
 *   id first).
 * - `last N`: the N newest. `hourly|daily|weekly|monthly|yearly N`: walking
 *   newest first, a job is kept when its bucket (hour, day, ISO week, month,
 *   year, local time) differs from the bucket of the last job that rule
 *   kept, while the rule has count left; -1 = no limit. The oldest job of
 *   the group is also kept by a rule that still has count left ("oldest …").
 * - `within D`: every job newer than (strictly after) latest − D, where
 *   latest is the newest job time not in the future of `now`; D is a
 *   calendar duration (`1y5m7d2h`). `withinHourly|Daily|… D`: within that
 *   span, the newest job of each bucket (and the oldest job), no count.
 *
 * Each kept job gets the list of rules that keep it, worded as restic does.
 */
import { parseDuration, subtractDuration, type Duration, type KeepRules } from '../catalog/index.js';

export interface Dated {
  id: number;
  time: Date;
}

type Bucket = (d: Date, nr: number) => number;

const always: Bucket = (_d, nr) => nr;
const hourly: Bucket = (d) => d.getFullYear() * 1_000_000 + (d.getMonth() + 1) * 10_000 + d.getDate() * 100 + d.getHours();
const daily: Bucket = (d) => d.getFullYear() * 10_000 + (d.getMonth() + 1) * 100 + d.getDate();
const monthly: Bucket = (d) => d.getFullYear() * 100 + (d.getMonth() + 1);
const yearly: Bucket = (d) => d.getFullYear();

/** ISO 8601 week as YYYYWW (the week's year is the year of its Thursday). */
export const weekly: Bucket = (d) => {
  // The Thursday of d's week (weeks start on Monday) decides the ISO year and, by its day of the year, the week.
  const thu = new Date(d.getFullYear(), d.getMonth(), d.getDate() + 3 - ((d.getDay() + 6) % 7));
  const ordinal = Math.round((thu.getTime() - new Date(thu.getFullYear(), 0, 1).getTime()) / 86_400_000);
  return thu.getFullYear() * 100 + 1 + Math.floor(ordinal / 7);
};

/** True when no rule is set (a keep policy of nothing keeps nothing; callers treat it as "no keep rules"). */
export function emptyKeepRules(k: KeepRules | undefined): boolean {
  if (!k) return true;
  return !['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'].some((r) => (k[r as keyof KeepRules] as number | undefined) ?? 0) &&
    !['within', 'withinHourly', 'withinDaily', 'withinWeekly', 'withinMonthly', 'withinYearly'].some((r) => k[r as keyof KeepRules]);
}

/** Kept job id → the rules that keep it. Jobs absent from the map are not kept by any rule. */
export function applyKeepRules(jobs: readonly Dated[], rules: KeepRules, now: Date): Map<number, string[]> {
  const list = [...jobs].sort((a, b) => b.time.getTime() - a.time.getTime() || b.id - a.id);
  const kept = new Map<number, string[]>();
  if (list.length === 0) return kept;
  const counted = [
    { count: rules.last ?? 0, bucket: always, reason: 'last snapshot' },
    { count: rules.hourly ?? 0, bucket: hourly, reason: 'hourly snapshot' },
    { count: rules.daily ?? 0, bucket: daily, reason: 'daily snapshot' },
    { count: rules.weekly ?? 0, bucket: weekly, reason: 'weekly snapshot' },
    { count: rules.monthly ?? 0, bucket: monthly, reason: 'monthly snapshot' },
    { count: rules.yearly ?? 0, bucket: yearly, reason: 'yearly snapshot' },
  ].map((b) => ({ ...b, last: -1 }));
  const parse = (text: string | undefined, what: string): Duration | null => (text ? parseDuration(text, what) : null);
  const within = parse(rules.within, '--keep-within');
  const spans = [
    { within: parse(rules.withinHourly, '--keep-within-hourly'), text: rules.withinHourly, bucket: hourly, reason: 'hourly within' },
    { within: parse(rules.withinDaily, '--keep-within-daily'), text: rules.withinDaily, bucket: daily, reason: 'daily within' },
    { within: parse(rules.withinWeekly, '--keep-within-weekly'), text: rules.withinWeekly, bucket: weekly, reason: 'weekly within' },
    { within: parse(rules.withinMonthly, '--keep-within-monthly'), text: rules.withinMonthly, bucket: monthly, reason: 'monthly within' },
    { within: parse(rules.withinYearly, '--keep-within-yearly'), text: rules.withinYearly, bucket: yearly, reason: 'yearly within' },
  ].map((b) => ({ ...b, last: -1 }));
  // The newest job time that is not in the future (restic's findLatestTimestamp); epoch 0 if there is none.
  let latest = 0;
  for (const j of list) if (j.time.getTime() > latest && j.time.getTime() < now.getTime()) latest = j.time.getTime();
  const oldest = list.length - 1;

  list.forEach((cur, nr) => {
    const reasons: string[] = [];
    if (within && cur.time.getTime() > subtractDuration(new Date(latest), within).getTime()) reasons.push(`within ${rules.within}`);
    for (const b of counted) {
      if (b.count === 0 || b.count < -1) continue;
      const val = b.bucket(cur.time, nr);
      if (val !== b.last || nr === oldest) {
        reasons.push(val === b.last && nr === oldest ? `oldest ${b.reason}` : b.reason);
        b.last = val;
        if (b.count > 0) b.count--;
      }
    }
    for (const b of spans) {
      if (!b.within || cur.time.getTime() <= subtractDuration(new Date(latest), b.within).getTime()) continue;
      const val = b.bucket(cur.time, nr);
      if (val !== b.last || nr === oldest) {
        reasons.push(`${val === b.last && nr === oldest ? 'oldest ' : ''}${b.reason} ${b.text}`);
        b.last = val;
      }
    }
    if (reasons.length) kept.set(cur.id, reasons);
  });
  return kept;
}
