// parseRunRule: each grammar form's shape, the overrides, and refusals naming token and column.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCairnError } from '../../plugin-api/index.js';
import { parseRunRule } from './rule-parser.js';

const hours = (...hm: [number, number][]): number[] => hm.map(([h, m]) => h * 60 + m);

test('daily, hourly and interval forms give the wall-clock minutes of a day', () => {
  assert.deepEqual(parseRunRule('daily at 23:05').times, hours([23, 5]));
  assert.deepEqual(parseRunRule('Daily 23:05').times, hours([23, 5]));
  assert.deepEqual(parseRunRule('daily at 01:00,13:30').times, hours([1, 0], [13, 30]));
  assert.deepEqual(parseRunRule('daily at 23:05').days, { kind: 'every-day' });
  const hourly = parseRunRule('HOURLY AT :15').times;
  assert.equal(hourly.length, 24);
  assert.deepEqual(hourly.slice(0, 3), [15, 75, 135]);
  assert.deepEqual(parseRunRule('hourly').times.slice(0, 2), [0, 60]);
  assert.deepEqual(parseRunRule('every 6 hours').times, hours([0, 0], [6, 0], [12, 0], [18, 0]));
  const half = parseRunRule('every 30 minutes').times;
  assert.equal(half.length, 48);
  assert.equal(half[47], 23 * 60 + 30);
  assert.equal(parseRunRule('daily 23:05').zone, 'local');
  assert.equal(parseRunRule('daily 23:05 tz=UTC').zone, 'utc');
});

test('weekday forms: ranges, lists, wrapping ranges, weekly', () => {
  assert.deepEqual(parseRunRule('Mon-Fri 01:00').days, { kind: 'weekdays', weekdays: [1, 2, 3, 4, 5] });
  assert.deepEqual(parseRunRule('sat,sun 03:30').days, { kind: 'weekdays', weekdays: [0, 6] });
  assert.deepEqual(parseRunRule('sat, sun 03:30').days, { kind: 'weekdays', weekdays: [0, 6] });
  assert.deepEqual(parseRunRule('mon 01:00').days, { kind: 'weekdays', weekdays: [1] });
  assert.deepEqual(parseRunRule('weekly sun at 02:00').days, { kind: 'weekdays', weekdays: [0] });
  assert.deepEqual(parseRunRule('fri-mon 02:00').days, { kind: 'weekdays', weekdays: [0, 1, 5, 6] });
  assert.deepEqual(parseRunRule('mon-fri every 2 hours').times.length, 12);
});

test('month-day and nth-weekday forms', () => {
  assert.deepEqual(parseRunRule('monthly 1 at 02:00').days, { kind: 'month-days', days: [1] });
  assert.deepEqual(parseRunRule('monthly 15,last 04:00').days, { kind: 'month-days', days: [15, 'last'] });
  assert.deepEqual(parseRunRule('monthly 1-3,1st 04:00').days, { kind: 'month-days', days: [1, 2, 3] });
  assert.deepEqual(parseRunRule('1st sun monthly 01:00').days, { kind: 'nth-weekdays', ordinals: [1], weekday: 0 });
  assert.deepEqual(parseRunRule('last fri monthly 22:00').days, { kind: 'nth-weekdays', ordinals: ['last'], weekday: 5 });
  assert.deepEqual(parseRunRule('2nd,4th tue monthly 22:00').days, { kind: 'nth-weekdays', ordinals: [2, 4], weekday: 2 });
  assert.deepEqual(parseRunRule('monthly 3rd wed at 05:00').days, { kind: 'nth-weekdays', ordinals: [3], weekday: 3 });
  assert.deepEqual(parseRunRule('5th sat monthly 05:00').days, { kind: 'nth-weekdays', ordinals: [5], weekday: 6 });
});

test('month qualifiers, before or after the time', () => {
  assert.deepEqual(parseRunRule('daily 01:00').months, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  assert.deepEqual(parseRunRule('monthly 1 at 02:00 in jan,jul').months, [1, 7]);
  assert.deepEqual(parseRunRule('daily 01:00 in jan-mar').months, [1, 2, 3]);
  assert.deepEqual(parseRunRule('daily 01:00 in nov-feb').months, [1, 2, 11, 12]);
  assert.deepEqual(parseRunRule('monthly 29 in feb 01:00').months, [2]);
});

test('overrides in any order after the time', () => {
  const r = parseRunRule('sun 02:00 priority=5 pool=Weekly-Full level=Full tz=utc');
  assert.equal(r.level, 'full');
  assert.equal(r.pool, 'Weekly-Full');
  assert.equal(r.priority, 5);
  assert.equal(r.zone, 'utc');
  const s = parseRunRule('Mon-Fri 01:00 in jan level=differential');
  assert.equal(s.level, 'differential');
  assert.equal(s.pool, undefined);
  assert.equal('priority' in s, false);
  assert.equal(parseRunRule('daily 01:00 level=incremental').level, 'incremental');
});

function refusal(text: string): { token: unknown; position: unknown; message: string } {
  try {
    parseRunRule(text);
  } catch (err) {
    assert.ok(isCairnError(err));
    assert.equal(err.code, 'CAIRN_E_SCHEDULE_INVALID');
    assert.equal(err.fields.rule, text);
    return { token: err.fields.token, position: err.fields.position, message: err.message };
  }
  assert.fail(`"${text}" was accepted`);
}

test('invalid rules: CAIRN_E_SCHEDULE_INVALID with the token at fault and its column', () => {
  const bad = refusal('Mon-Fri 25:00');
  assert.deepEqual([bad.token, bad.position], ['25:00', 9]);
  assert.equal(bad.message, 'schedule rule "Mon-Fri 25:00": 25:00 (column 9) is not a time (expected HH:MM, 00:00–23:59)');
  const cases: [string, string, number, RegExp][] = [
    ['daily at 12:60', '12:60', 10, /not a time/],
    ['Mon-Frx 01:00', 'Frx', 5, /not a weekday/],
    ['monthly 32 01:00', '32', 9, /not a day of the month/],
    ['monthly 6th sun 01:00', '6th', 9, /not an ordinal/],
    ['1st sun 01:00', '01:00', 9, /not "monthly"/],
    ['hourly at 15', '15', 11, /minute past the hour/],
    ['every 7 hours', '7', 7, /divides a day/],
    ['every 0 minutes', '0', 7, /divides a day/],
    ['every 5 weeks', 'weeks', 9, /not a unit/],
    ['daily 01:00 in jun-foo', 'foo', 20, /not a month/],
    ['daily 01:00 level=weekly', 'level=weekly', 13, /not a level/],
    ['daily 01:00 priority=0', 'priority=0', 13, /not a priority/],
    ['daily 01:00 tz=Europe/Berlin', 'tz=Europe/Berlin', 13, /time zone/],
    ['daily 01:00 pool=A pool=B', 'pool=B', 20, /second time/],
    ['daily 01:00 colour=red', 'colour=red', 13, /not an option/],
    ['daily 01:00 now', 'now', 13, /not understood/],
    ['monthly 31 in feb 01:00', 'monthly', 1, /none of its months/],
    ['monthly 30,31 01:00 in feb', 'monthly', 1, /none of its months/],
  ];
  for (const [text, token, position, problem] of cases) {
    const r = refusal(text);
    assert.deepEqual([r.token, r.position], [token, position], text);
    assert.match(r.message, problem, text);
    assert.ok(r.message.startsWith(`schedule rule "${text}": ${token} (column ${position})`), r.message);
  }
  const end = refusal('Mon-Fri');
  assert.deepEqual([end.token, end.position], ['', 8]);
  assert.match(end.message, /ends at column 8 \(expected HH:MM/);
  assert.equal(refusal('  ').token, '');
});
