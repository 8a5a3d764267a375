// nextRun: each form's next instants across month and year ends (UTC rules),
// and DST in both directions, with injected Europe/Berlin offsets and with a
// child node process running under TZ=Europe/Berlin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { nextRun } from './next-run.js';
import { parseRunRule } from './rule-parser.js';
import type { ZoneOffsets } from './wall-clock.js';

/** The next `n` instants after `from`, as ISO strings. */
function runs(rule: string, from: string, n: number, zone?: ZoneOffsets): string[] {
  const r = parseRunRule(rule);
  const out: string[] = [];
  let t = new Date(from);
  for (let i = 0; i < n; i++) {
    t = nextRun(r, t, zone);
    out.push(t.toISOString());
  }
  return out;
}

test('daily, hourly and intervals cross the year end; strictly after', () => {
  assert.deepEqual(runs('daily at 23:05 tz=UTC', '2026-12-30T23:05:00Z', 3), ['2026-12-31T23:05:00.000Z', '2027-01-01T23:05:00.000Z', '2027-01-02T23:05:00.000Z']);
  assert.deepEqual(runs('hourly at :15 tz=UTC', '2026-12-31T22:15:00.001Z', 2), ['2026-12-31T23:15:00.000Z', '2027-01-01T00:15:00.000Z']);
  assert.deepEqual(runs('every 6 hours tz=UTC', '2026-12-31T13:00:00Z', 3), ['2026-12-31T18:00:00.000Z', '2027-01-01T00:00:00.000Z', '2027-01-01T06:00:00.000Z']);
  assert.deepEqual(runs('every 30 minutes tz=UTC', '2026-12-31T23:29:59Z', 3), ['2026-12-31T23:30:00.000Z', '2027-01-01T00:00:00.000Z', '2027-01-01T00:30:00.000Z']);
});

test('weekday forms', () => {
  // 2027-01-01 is a Friday.
  assert.deepEqual(runs('Mon-Fri 01:00 tz=UTC', '2026-12-31T02:00:00Z', 3), ['2027-01-01T01:00:00.000Z', '2027-01-04T01:00:00.000Z', '2027-01-05T01:00:00.000Z']);
  assert.deepEqual(runs('sat,sun 03:30 tz=UTC', '2026-12-31T00:00:00Z', 3), ['2027-01-02T03:30:00.000Z', '2027-01-03T03:30:00.000Z', '2027-01-09T03:30:00.000Z']);
  assert.deepEqual(runs('weekly sun at 02:00 tz=UTC', '2026-12-27T02:00:00Z', 2), ['2027-01-03T02:00:00.000Z', '2027-01-10T02:00:00.000Z']);
});

test('month days: Feb 29 on leap years, monthly 31 skips short months, last day', () => {
  assert.deepEqual(runs('monthly 29 in feb 01:00 tz=UTC', '2026-01-01T00:00:00Z', 3), ['2028-02-29T01:00:00.000Z', '2032-02-29T01:00:00.000Z', '2036-02-29T01:00:00.000Z']);
  assert.deepEqual(runs('monthly 31 at 02:00 tz=UTC', '2027-01-31T02:00:00Z', 4), ['2027-03-31T02:00:00.000Z', '2027-05-31T02:00:00.000Z', '2027-07-31T02:00:00.000Z', '2027-08-31T02:00:00.000Z']);
  assert.deepEqual(runs('monthly 15,last 04:00 tz=UTC', '2028-01-31T05:00:00Z', 4), ['2028-02-15T04:00:00.000Z', '2028-02-29T04:00:00.000Z', '2028-03-15T04:00:00.000Z', '2028-03-31T04:00:00.000Z']);
  assert.deepEqual(runs('monthly last 23:00 tz=UTC', '2027-02-01T00:00:00Z', 2), ['2027-02-28T23:00:00.000Z', '2027-03-31T23:00:00.000Z']);
  assert.deepEqual(runs('monthly 1 at 02:00 in jan,jul tz=UTC', '2026-07-01T02:00:00Z', 2), ['2027-01-01T02:00:00.000Z', '2027-07-01T02:00:00.000Z']);
  assert.deepEqual(runs('daily 01:00 in jan-mar tz=UTC', '2026-03-31T01:00:00Z', 1), ['2027-01-01T01:00:00.000Z']);
});

test('nth weekdays: 1st, last, 5th (only some months)', () => {
  assert.deepEqual(runs('1st sun monthly 01:00 tz=UTC', '2026-12-06T01:00:00Z', 3), ['2027-01-03T01:00:00.000Z', '2027-02-07T01:00:00.000Z', '2027-03-07T01:00:00.000Z']);
  assert.deepEqual(runs('last fri monthly 22:00 tz=UTC', '2026-12-01T00:00:00Z', 3), ['2026-12-25T22:00:00.000Z', '2027-01-29T22:00:00.000Z', '2027-02-26T22:00:00.000Z']);
  // Fifth Mondays of 2027: Mar 29, May 31, Aug 30.
  assert.deepEqual(runs('5th mon monthly 06:00 tz=UTC', '2027-01-01T00:00:00Z', 3), ['2027-03-29T06:00:00.000Z', '2027-05-31T06:00:00.000Z', '2027-08-30T06:00:00.000Z']);
  // A 5th Sunday in February needs a leap year whose Feb 1 is a Sunday: 2032.
  assert.deepEqual(runs('5th sun monthly 06:00 in feb tz=UTC', '2026-01-01T00:00:00Z', 1), ['2032-02-29T06:00:00.000Z']);
});

/** Europe/Berlin by the EU rule: CEST (+120) from the last Sunday of March 01:00 UTC to the last Sunday of October 01:00 UTC. */
const BERLIN: ZoneOffsets = {
  offsetMinutes(ms) {
    const y = new Date(ms).getUTCFullYear();
    const lastSunday = (month: number): number => {
      const end = new Date(Date.UTC(y, month + 1, 0, 1));
      return end.getTime() - end.getUTCDay() * 86_400_000;
    };
    return ms >= lastSunday(2) && ms < lastSunday(9) ? 120 : 60;
  },
};

test('spring forward (injected Berlin): a time in the gap runs once at the first minute after it', () => {
  // 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
  assert.deepEqual(runs('daily 02:30', '2026-03-28T00:00:00Z', 3, BERLIN), ['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
  // Every 30 minutes: 02:00 and 02:30 do not exist; one run at 03:00 CEST, then 03:30.
  assert.deepEqual(runs('every 30 minutes', '2026-03-29T00:15:00Z', 4, BERLIN), ['2026-03-29T00:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-29T02:00:00.000Z']);
  // A time just before the gap is unaffected.
  assert.deepEqual(runs('daily 01:59', '2026-03-29T00:00:00Z', 1, BERLIN), ['2026-03-29T00:59:00.000Z']);
});

test('fall back (injected Berlin): a time that occurs twice runs once, at its first occurrence', () => {
  // 2026-10-25: 03:00 CEST falls back to 02:00 CET (01:00 UTC); 02:30 occurs at 00:30Z and 01:30Z.
  assert.deepEqual(runs('daily 02:30', '2026-10-24T12:00:00Z', 2, BERLIN), ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  // Starting between the two occurrences does not run the second one.
  assert.deepEqual(runs('daily 02:30', '2026-10-25T01:00:00Z', 1, BERLIN), ['2026-10-26T01:30:00.000Z']);
  assert.deepEqual(runs('hourly', '2026-10-24T23:30:00Z', 4, BERLIN), ['2026-10-25T00:00:00.000Z', '2026-10-25T02:00:00.000Z', '2026-10-25T03:00:00.000Z', '2026-10-25T04:00:00.000Z']);
});

test('the process zone: a child node under TZ=Europe/Berlin shows the same DST behaviour', () => {
  const modules = { parser: new URL('./rule-parser.js', import.meta.url).href, next: new URL('./next-run.js', import.meta.url).href };
  const snippet = `
    const { parseRunRule } = await import(${JSON.stringify(modules.parser)});
    const { nextRun } = await import(${JSON.stringify(modules.next)});
    const at = (rule, from) => nextRun(parseRunRule(rule), new Date(from)).toISOString();
    console.log(JSON.stringify({
      spring: at('daily 02:30', '2026-03-29T00:00:00Z'),
      springAfter: at('daily 02:30', '2026-03-29T01:00:00Z'),
      fall: at('daily 02:30', '2026-10-24T12:00:00Z'),
      fallAfter: at('daily 02:30', '2026-10-25T00:30:00Z'),
      utc: at('daily 02:30 tz=UTC', '2026-03-29T00:00:00Z'),
      winter: at('sun 01:00', '2026-01-01T00:00:00Z'),
    }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', snippet], { env: { ...process.env, TZ: 'Europe/Berlin' }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {
    spring: '2026-03-29T01:00:00.000Z',
    springAfter: '2026-03-30T00:30:00.000Z',
    fall: '2026-10-25T00:30:00.000Z',
    fallAfter: '2026-10-26T01:30:00.000Z',
    utc: '2026-03-29T02:30:00.000Z',
    winter: '2026-01-04T00:00:00.000Z',
  });
});
