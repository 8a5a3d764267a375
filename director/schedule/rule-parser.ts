/**
 * parseRunRule: one Schedule run rule as text -> RunRule. The grammar is in
 * docs/schedules.md; this file is its recursive-descent reading:
 *
 *   rule  := [days] ["in" months] times { "in" months | option }
 *   days  := "daily" | ["weekly"] weekday-list | "monthly" day-list
 *          | "monthly" ordinal-list weekday | ordinal-list weekday "monthly"
 *   times := "hourly" [["at"] ":MM"] | "every" N ("minutes" | "hours")
 *          | ["at"] HH:MM {"," HH:MM}
 *
 * Every refusal is CAIRN_E_SCHEDULE_INVALID naming the token and its column.
 */
import type { Level } from '../../plugin-api/index.js';
import { ALL_MONTHS, type DaySelector, type RunRule, type Weekday, type WeekdayOrdinal } from './run-rule.js';
import { invalidRule, tokenizeRule, type RuleToken } from './rule-tokens.js';

const WEEKDAYS: Record<string, Weekday> = {
  sun: 0, sunday: 0, mon: 1, monday: 1, tue: 2, tues: 2, tuesday: 2, wed: 3, wednesday: 3,
  thu: 4, thur: 4, thurs: 4, thursday: 4, fri: 5, friday: 5, sat: 6, saturday: 6,
};
const MONTHS: Record<string, number> = {
  jan: 1, january: 1, feb: 2, february: 2, mar: 3, march: 3, apr: 4, april: 4, may: 5, jun: 6, june: 6,
  jul: 7, july: 7, aug: 8, august: 8, sep: 9, sept: 9, september: 9, oct: 10, october: 10, nov: 11, november: 11, dec: 12, december: 12,
};
const ORDINAL_WORDS: Record<string, WeekdayOrdinal> = { first: 1, second: 2, third: 3, fourth: 4, fifth: 5, last: 'last' };
const LEVELS: readonly Level[] = ['full', 'incremental', 'differential'];
/** Longest day of each month, Feb counted as 29: a day past it never comes. */
const MONTH_MAX_DAYS = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
export const PRIORITY_MAX = 1000;

const TIME_FORM = 'HH:MM, 00:00–23:59';
const OPTION_FORM = 'level=, pool=, priority= or tz=';

class Cursor {
  private i = 0;
  constructor(readonly rule: string, private readonly tokens: RuleToken[]) {}
  peek(ahead = 0): RuleToken | undefined {
    return this.tokens[this.i + ahead];
  }
  next(): RuleToken | undefined {
    return this.tokens[this.i++];
  }
  /** Consume the next token if it is the keyword `word`. */
  accept(word: string): boolean {
    if (this.peek()?.word !== word) return false;
    this.i++;
    return true;
  }
  fail(token: RuleToken | undefined, problem: string, expected: string): never {
    throw invalidRule(this.rule, token, problem, expected);
  }
}

export function parseRunRule(text: string): RunRule {
  if (typeof text !== 'string' || text.trim() === '') {
    throw invalidRule(String(text ?? ''), undefined, '', 'a rule such as "daily at 23:05" or "Mon-Fri 01:00"');
  }
  const c = new Cursor(text, tokenizeRule(text));
  const first = c.peek();
  const days = parseDays(c);
  let months: number[] | undefined;
  if (c.accept('in')) months = parseMonthList(c); // "monthly 29 in feb 01:00" reads well too
  const times = parseTimes(c);
  const opts: { level?: Level; pool?: string; priority?: number; zone?: 'local' | 'utc' } = {};
  for (let t = c.peek(); t !== undefined; t = c.peek()) {
    if (t.word === 'in') {
      if (months !== undefined) c.fail(t, 'is given twice', 'one `in MONTHS` qualifier');
      c.next();
      months = parseMonthList(c);
    } else if (t.text.includes('=')) {
      c.next();
      parseOption(c, t, opts);
    } else {
      c.fail(t, 'is not understood after the time', `\`in MONTHS\` or an option ${OPTION_FORM}`);
    }
  }
  const rule: RunRule = {
    text,
    zone: opts.zone ?? 'local',
    months: months ?? ALL_MONTHS,
    days,
    times,
    ...(opts.level !== undefined ? { level: opts.level } : {}),
    ...(opts.pool !== undefined ? { pool: opts.pool } : {}),
    ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
  };
  if (!canFire(rule)) c.fail(first, 'starts a rule whose days are in none of its months', 'a day of the month that the chosen months have');
  return rule;
}

function parseDays(c: Cursor): DaySelector {
  const t = c.peek();
  if (t === undefined) return { kind: 'every-day' };
  if (c.accept('daily')) return { kind: 'every-day' };
  if (c.accept('weekly')) return { kind: 'weekdays', weekdays: parseWeekdayList(c) };
  if (c.accept('monthly')) return parseMonthlyBody(c);
  if (t.word in WEEKDAYS) return { kind: 'weekdays', weekdays: parseWeekdayList(c) };
  if (ordinalOf(t) !== undefined && !/^\d+$/.test(t.word)) {
    const ordinals = parseOrdinalList(c);
    const weekday = weekdayOf(c, c.next(), 'a weekday after the ordinal, as in "1st sun monthly"');
    if (!c.accept('monthly')) c.fail(c.peek(), 'is not "monthly"', '"monthly" after the weekday, as in "1st sun monthly 01:00"');
    return { kind: 'nth-weekdays', ordinals, weekday };
  }
  return { kind: 'every-day' };
}

function weekdayOf(c: Cursor, t: RuleToken | undefined, expected: string): Weekday {
  if (t === undefined || !(t.word in WEEKDAYS)) c.fail(t, 'is not a weekday', expected);
  return WEEKDAYS[t.word];
}

function parseWeekdayList(c: Cursor): Weekday[] {
  const expected = 'a weekday (mon … sun), a range (mon-fri) or a list (sat,sun)';
  const out = new Set<Weekday>();
  do {
    const from = weekdayOf(c, c.next(), expected);
    if (c.accept('-')) {
      const to = weekdayOf(c, c.next(), expected);
      for (let d = from; ; d = ((d + 1) % 7) as Weekday) {
        out.add(d);
        if (d === to) break;
      }
    } else {
      out.add(from);
    }
  } while (c.accept(','));
  return [...out].sort((a, b) => a - b);
}

/** 1st..5th, first..fifth, last; a bare 1..5 too (after "monthly", "1 sun" reads as the 1st Sunday). */
function ordinalOf(t: RuleToken | undefined): WeekdayOrdinal | undefined {
  if (t === undefined) return undefined;
  if (t.word in ORDINAL_WORDS) return ORDINAL_WORDS[t.word];
  const m = /^([1-5])(st|nd|rd|th)?$/.exec(t.word);
  if (m === null) return undefined;
  const n = Number(m[1]) as 1 | 2 | 3 | 4 | 5;
  const right = { 1: 'st', 2: 'nd', 3: 'rd', 4: 'th', 5: 'th' }[n];
  return m[2] === undefined || m[2] === right ? n : undefined;
}

function parseOrdinalList(c: Cursor): WeekdayOrdinal[] {
  const out: WeekdayOrdinal[] = [];
  do {
    const t = c.next();
    const o = ordinalOf(t);
    if (o === undefined) c.fail(t, 'is not an ordinal', '1st, 2nd, 3rd, 4th, 5th or last');
    if (!out.includes(o)) out.push(o);
  } while (c.accept(','));
  return out;
}

/** After "monthly": day numbers (15, 1st, 1-7, last) or ordinals followed by a weekday. */
function parseMonthlyBody(c: Cursor): DaySelector {
  const expected = 'a day of the month 1–31 or last, a range (1-7), a list (1,15,last), or an ordinal and weekday (1st sun)';
  const items: { token: RuleToken; day: number | 'last'; range: boolean }[] = [];
  do {
    const t = c.next();
    const day = dayOf(t);
    if (t === undefined || day === undefined) c.fail(t, 'is not a day of the month', expected);
    if (day !== 'last' && c.accept('-')) {
      const u = c.next();
      const end = dayOf(u);
      if (u === undefined || end === undefined || end === 'last' || end < day) c.fail(u, 'does not end the day range', `a day ${day}–31 after "${t.text}-"`);
      for (let d = day; d <= end; d++) items.push({ token: t, day: d, range: true });
    } else {
      items.push({ token: t, day, range: false });
    }
  } while (c.accept(','));
  if (c.peek() !== undefined && c.peek()!.word in WEEKDAYS) {
    const ordinals: WeekdayOrdinal[] = [];
    for (const item of items) {
      const o = item.range ? undefined : ordinalOf(item.token);
      if (o === undefined) c.fail(item.token, 'is not an ordinal of a weekday', '1st, 2nd, 3rd, 4th, 5th or last before the weekday');
      if (!ordinals.includes(o)) ordinals.push(o);
    }
    return { kind: 'nth-weekdays', ordinals, weekday: weekdayOf(c, c.next(), 'a weekday') };
  }
  const days = [...new Set(items.map((i) => i.day))];
  days.sort((a, b) => (a === 'last' ? 32 : a) - (b === 'last' ? 32 : b));
  return { kind: 'month-days', days };
}

function dayOf(t: RuleToken | undefined): number | 'last' | undefined {
  if (t === undefined) return undefined;
  if (t.word === 'last') return 'last';
  const m = /^(\d{1,2})(st|nd|rd|th)?$/.exec(t.word);
  if (m === null) return undefined;
  const n = Number(m[1]);
  return n >= 1 && n <= 31 ? n : undefined;
}

function parseTimes(c: Cursor): number[] {
  if (c.accept('hourly')) {
    let minute = 0;
    const at = c.accept('at');
    const t = c.peek();
    const m = t === undefined ? null : /^:(\d{2})$/.exec(t.word);
    if (m !== null && Number(m[1]) <= 59) {
      c.next();
      minute = Number(m[1]);
    } else if (at || (t !== undefined && t.word.startsWith(':'))) {
      c.fail(t, 'is not a minute past the hour', ':MM, :00–:59');
    }
    return Array.from({ length: 24 }, (_, h) => h * 60 + minute);
  }
  if (c.accept('every')) {
    const form = 'every N minutes (N divides 1440) or every N hours (N divides 24)';
    const nTok = c.next();
    if (nTok === undefined || !/^\d+$/.test(nTok.word)) c.fail(nTok, 'is not a number', form);
    const n = Number(nTok.word);
    const uTok = c.next();
    const unit = uTok === undefined ? undefined : /^(minutes?|mins?)$/.test(uTok.word) ? 1 : /^(hours?|h)$/.test(uTok.word) ? 60 : undefined;
    if (unit === undefined) c.fail(uTok, 'is not a unit', 'minutes or hours');
    const step = n * unit;
    if (n < 1 || step > 1440 || 1440 % step !== 0) c.fail(nTok, `is not a number of ${unit === 1 ? 'minutes' : 'hours'} that divides a day evenly`, form);
    return Array.from({ length: 1440 / step }, (_, i) => i * step);
  }
  c.accept('at');
  const times = new Set<number>();
  do times.add(timeOf(c, c.next()));
  while (c.peek()?.text === ',' && /^\d/.test(c.peek(1)?.word ?? '') && c.accept(','));
  return [...times].sort((a, b) => a - b);
}

function timeOf(c: Cursor, t: RuleToken | undefined): number {
  const m = t === undefined ? null : /^(\d{1,2}):(\d{2})$/.exec(t.word);
  if (t === undefined || m === null || Number(m[1]) > 23 || Number(m[2]) > 59) c.fail(t, 'is not a time', TIME_FORM);
  return Number(m[1]) * 60 + Number(m[2]);
}

function parseMonthList(c: Cursor): number[] {
  const expected = 'a month (jan … dec), a range (jan-mar) or a list (jan,jul)';
  const monthOf = (t: RuleToken | undefined): number => {
    if (t === undefined || !(t.word in MONTHS)) c.fail(t, 'is not a month', expected);
    return MONTHS[t.word];
  };
  const out = new Set<number>();
  do {
    const from = monthOf(c.next());
    if (c.accept('-')) {
      const to = monthOf(c.next());
      for (let m = from; ; m = (m % 12) + 1) {
        out.add(m);
        if (m === to) break;
      }
    } else {
      out.add(from);
    }
  } while (c.accept(','));
  return [...out].sort((a, b) => a - b);
}

type Options = { level?: Level; pool?: string; priority?: number; zone?: 'local' | 'utc' };

function parseOption(c: Cursor, t: RuleToken, opts: Options): void {
  const eq = t.text.indexOf('=');
  const key = t.word.slice(0, eq);
  const value = t.text.slice(eq + 1);
  const once = (name: keyof Options): void => {
    if (opts[name] !== undefined) c.fail(t, `gives ${key}= a second time`, `each option at most once`);
  };
  switch (key) {
    case 'level': {
      once('level');
      const level = value.toLowerCase() as Level;
      if (!LEVELS.includes(level)) c.fail(t, 'is not a level', 'level=full, level=incremental or level=differential');
      opts.level = level;
      return;
    }
    case 'pool':
      once('pool');
      if (value === '') c.fail(t, 'names no pool', 'pool=NAME');
      opts.pool = value;
      return;
    case 'priority': {
      once('priority');
      const n = Number(value);
      if (!/^\d+$/.test(value) || n < 1 || n > PRIORITY_MAX) c.fail(t, 'is not a priority', `priority=N, a whole number 1–${PRIORITY_MAX}`);
      opts.priority = n;
      return;
    }
    case 'tz': {
      once('zone');
      const zone = value.toLowerCase();
      if (zone !== 'utc' && zone !== 'local') c.fail(t, 'is not a supported time zone', 'tz=UTC or tz=local');
      opts.zone = zone;
      return;
    }
    default:
      c.fail(t, 'is not an option', OPTION_FORM);
  }
}

/** False only for month days that none of the rule's months has (monthly 30 in feb). */
function canFire(rule: RunRule): boolean {
  const d = rule.days;
  if (d.kind !== 'month-days') return true;
  return d.days.some((day) => day === 'last' || rule.months.some((m) => day <= MONTH_MAX_DAYS[m]));
}
