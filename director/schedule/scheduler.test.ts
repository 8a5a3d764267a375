// Scheduler with a fake clock: runs in order, same-minute merge, chunked
// sleeps, a suspend's missed runs fired once each, a clock set back, stop,
// upcoming, configuration errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCairnError } from '../../plugin-api/index.js';
import { MAX_TIMER_MS, Scheduler, type DueRun, type MissedRuns, type SchedulerOptions } from './scheduler.js';

/**
 * Wall clock plus a monotonic clock for timers, as on Linux: a suspend moves
 * the wall clock but not the timers' clock, so a timer fires late, after resume.
 */
class FakeClock {
  wall: number;
  private mono = 0;
  private timers: { due: number; fn: () => void; id: number }[] = [];
  private ids = 0;
  readonly delays: number[] = [];
  constructor(iso: string) {
    this.wall = Date.parse(iso);
  }
  now = (): Date => new Date(this.wall);
  setTimer = (fn: () => void, ms: number): number => {
    this.delays.push(ms);
    const id = ++this.ids;
    this.timers.push({ due: this.mono + ms, fn, id });
    return id;
  };
  clearTimer = (h: unknown): void => {
    this.timers = this.timers.filter((t) => t.id !== h);
  };
  /** Let `ms` pass, firing timers at their times. */
  advance(ms: number): void {
    const end = this.mono + ms;
    for (;;) {
      this.timers.sort((a, b) => a.due - b.due);
      const t = this.timers[0];
      if (t === undefined || t.due > end) break;
      this.timers.shift();
      this.wall += t.due - this.mono;
      this.mono = t.due;
      t.fn();
    }
    this.wall += end - this.mono;
    this.mono = end;
  }
  /** The machine sleeps: wall time passes, the timers' clock does not. */
  suspend(ms: number): void {
    this.wall += ms;
  }
  get pendingTimers(): number {
    return this.timers.length;
  }
}

function harness(iso: string, options: Partial<SchedulerOptions> & Pick<SchedulerOptions, 'schedules' | 'jobs'>) {
  const clock = new FakeClock(iso);
  const due: string[] = [];
  const dues: DueRun[] = [];
  const missed: MissedRuns[] = [];
  const scheduler = new Scheduler({
    now: clock.now,
    setTimer: clock.setTimer,
    clearTimer: clock.clearTimer,
    onDue: (d) => {
      dues.push(d);
      due.push(`${d.scheduledFor.toISOString()} ${d.job} ${d.level}${d.pool ? ` pool=${d.pool}` : ''}${d.priority ? ` priority=${d.priority}` : ''}`);
    },
    onMissed: (m) => missed.push(m),
    ...options,
  });
  return { clock, due, dues, missed, scheduler };
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

test('runs fire in order at their instants, several jobs, timers never longer than the lookahead', () => {
  const h = harness('2027-01-01T20:00:00Z', {
    schedules: [
      { name: 'Nightly', run: ['daily at 23:05 tz=UTC'] },
      { name: 'Often', run: ['every 6 hours tz=UTC level=differential priority=3'] },
    ],
    jobs: [
      { name: 'web', schedule: 'Nightly', level: 'incremental' },
      { name: 'db', schedule: 'Often', level: 'incremental', pool: 'DbPool' },
      { name: 'manual', level: 'full' },
    ],
  });
  h.scheduler.start();
  h.clock.advance(DAY + 3.5 * HOUR); // to 2027-01-02T23:30Z
  assert.deepEqual(h.due, [
    '2027-01-01T23:05:00.000Z web incremental',
    '2027-01-02T00:00:00.000Z db differential pool=DbPool priority=3',
    '2027-01-02T06:00:00.000Z db differential pool=DbPool priority=3',
    '2027-01-02T12:00:00.000Z db differential pool=DbPool priority=3',
    '2027-01-02T18:00:00.000Z db differential pool=DbPool priority=3',
    '2027-01-02T23:05:00.000Z web incremental',
  ]);
  assert.equal(h.missed.length, 0);
  assert.ok(h.clock.delays.every((d) => d >= 0 && d <= 60_000), 'every sleep is at most the default lookahead');
  assert.equal(h.dues[0].schedule, 'Nightly');
});

test('rules of one schedule at the same minute merge into one run of the highest level', () => {
  const h = harness('2027-01-01T00:00:00Z', {
    schedules: [
      {
        name: 'WeeklyCycle',
        run: ['daily 02:00 tz=UTC pool=Inc', 'sun 02:00 level=full pool=Full tz=UTC', '1st sun monthly 02:00 level=differential tz=UTC'],
      },
    ],
    jobs: [{ name: 'files', schedule: 'WeeklyCycle', level: 'incremental', priority: 10 }],
  });
  h.scheduler.start();
  h.clock.advance(3 * DAY);
  // 2027-01-03 is the 1st Sunday: full beats differential and incremental, and brings its pool.
  assert.deepEqual(h.due, [
    '2027-01-01T02:00:00.000Z files incremental pool=Inc priority=10',
    '2027-01-02T02:00:00.000Z files incremental pool=Inc priority=10',
    '2027-01-03T02:00:00.000Z files full pool=Full priority=10',
  ]);
});

test('long sleeps are chunked: never a timer past 2^31-1 ms, and the run still fires on time', () => {
  const h = harness('2027-02-01T00:00:00Z', {
    schedules: [{ name: 'Yearly', run: ['monthly 1 at 00:00 in jan tz=UTC level=full'] }],
    jobs: [{ name: 'archive', schedule: 'Yearly', level: 'incremental' }],
    lookaheadMs: 1e12,
  });
  h.scheduler.start();
  h.clock.advance(400 * DAY);
  assert.deepEqual(h.due, ['2028-01-01T00:00:00.000Z archive full']);
  assert.ok(h.clock.delays.length > 1);
  assert.ok(h.clock.delays.every((d) => d <= MAX_TIMER_MS));
  assert.equal(Math.max(...h.clock.delays), MAX_TIMER_MS);
});

test('after a suspend, each job with missed runs fires once, at the highest missed level, and onMissed says so', () => {
  const h = harness('2027-01-01T12:00:00Z', {
    schedules: [
      { name: 'Nightly', run: ['daily 01:00 tz=UTC', 'sun 01:00 level=full tz=UTC'] },
      { name: 'Hourly', run: ['hourly at :30 tz=UTC'] },
      { name: 'Later', run: ['daily 20:00 tz=UTC'] },
    ],
    jobs: [
      { name: 'files', schedule: 'Nightly', level: 'incremental' },
      { name: 'logs', schedule: 'Hourly', level: 'incremental' },
      { name: 'late', schedule: 'Later', level: 'differential' },
    ],
  });
  h.scheduler.start();
  h.clock.advance(1 * HOUR); // 12:30 logs
  assert.deepEqual(h.due, ['2027-01-01T12:30:00.000Z logs incremental']);
  h.due.length = 0;
  // Asleep from 13:00 Friday to 15:10 Monday: nightly Sat, Sun (full), Mon missed; 74 hourly; 3 evenings.
  h.clock.suspend(3 * DAY + 2 * HOUR + 10 * 60_000);
  h.clock.advance(60_000);
  assert.deepEqual(h.due, [
    '2027-01-04T01:00:00.000Z files full',
    '2027-01-03T20:00:00.000Z late differential',
    '2027-01-04T14:30:00.000Z logs incremental',
  ].sort());
  const byJob = Object.fromEntries(h.missed.map((m) => [m.job, m]));
  assert.equal(byJob.files.missed, 3);
  assert.equal(byJob.files.firstMissed.toISOString(), '2027-01-02T01:00:00.000Z');
  assert.equal(byJob.files.lastMissed.toISOString(), '2027-01-04T01:00:00.000Z');
  assert.equal(byJob.files.runAs.level, 'full');
  assert.equal(byJob.logs.missed, 74);
  assert.equal(byJob.late.missed, 3);
  assert.equal(byJob.logs.countCapped, false);
  // Back to normal: the next hourly run fires once, on time, without onMissed.
  h.due.length = 0;
  h.clock.advance(HOUR);
  assert.deepEqual(h.due, ['2027-01-04T15:30:00.000Z logs incremental']);
  assert.equal(h.missed.length, 3);
});

test('a short delay is not a miss; a wake later than lateAfterMs for a single run is reported', () => {
  const h = harness('2027-01-01T00:00:00Z', {
    schedules: [{ name: 'S', run: ['daily 01:00 tz=UTC'] }],
    jobs: [{ name: 'j', schedule: 'S', level: 'incremental' }],
    lateAfterMs: 5 * 60_000,
  });
  h.scheduler.start();
  h.clock.suspend(59 * 60_000); // timers' clock does not move: the wake comes ~1 min late
  h.clock.advance(60_000);
  assert.equal(h.missed.length, 0);
  h.clock.advance(DAY - 120_000);
  h.clock.suspend(10 * 60_000);
  h.clock.advance(60_000);
  assert.deepEqual(h.due, ['2027-01-01T01:00:00.000Z j incremental', '2027-01-02T01:00:00.000Z j incremental']);
  assert.equal(h.missed.length, 1);
  assert.equal(h.missed[0].missed, 1);
  assert.ok(h.missed[0].lateByMs > 5 * 60_000);
});

test('a clock set back replans from the new time without a burst', () => {
  const h = harness('2027-01-01T00:00:00Z', {
    schedules: [{ name: 'S', run: ['daily 03:00 tz=UTC'] }],
    jobs: [{ name: 'j', schedule: 'S', level: 'incremental' }],
  });
  h.scheduler.start();
  h.clock.advance(4 * HOUR); // 03:00 fired, now 04:00
  h.clock.wall -= 2 * DAY; // someone sets the date back two days
  h.clock.advance(2 * HOUR);
  h.clock.advance(DAY);
  assert.deepEqual(h.due, ['2027-01-01T03:00:00.000Z j incremental', '2026-12-31T03:00:00.000Z j incremental']);
  assert.equal(h.missed.length, 0);
});

test('stop() cancels the timer; start() again plans from now', () => {
  const h = harness('2027-01-01T00:00:00Z', {
    schedules: [{ name: 'S', run: ['every 1 hour tz=UTC'] }],
    jobs: [{ name: 'j', schedule: 'S', level: 'incremental' }],
  });
  h.scheduler.start();
  h.scheduler.start(); // idempotent
  h.clock.advance(HOUR);
  h.scheduler.stop();
  assert.equal(h.clock.pendingTimers, 0);
  h.clock.advance(5 * HOUR);
  h.scheduler.start();
  h.clock.advance(HOUR);
  // Started exactly on an instant, that instant fires; the stopped hours 02:00–05:00 do not.
  assert.deepEqual(h.due, [
    '2027-01-01T00:00:00.000Z j incremental',
    '2027-01-01T01:00:00.000Z j incremental',
    '2027-01-01T06:00:00.000Z j incremental',
    '2027-01-01T07:00:00.000Z j incremental',
  ]);
  assert.equal(h.missed.length, 0);
});

test('upcoming(n) and upcoming(until) list the next runs in order, merged per job', () => {
  const h = harness('2027-01-01T00:30:00Z', {
    schedules: [
      { name: 'Nightly', run: ['daily 01:00 tz=UTC', 'sat 01:00 level=full tz=UTC'] },
      { name: 'Evening', run: ['daily 18:00 tz=UTC pool=Eve'] },
    ],
    jobs: [
      { name: 'a', schedule: 'Nightly', level: 'incremental' },
      { name: 'b', schedule: 'Evening', level: 'differential' },
    ],
  });
  const list = (runs: ReturnType<Scheduler['upcoming']>): string[] => runs.map((r) => `${r.at.toISOString()} ${r.job} ${r.level}${r.pool ? ` ${r.pool}` : ''}`);
  assert.deepEqual(list(h.scheduler.upcoming(4)), [
    '2027-01-01T01:00:00.000Z a incremental',
    '2027-01-01T18:00:00.000Z b differential Eve',
    '2027-01-02T01:00:00.000Z a full',
    '2027-01-02T18:00:00.000Z b differential Eve',
  ]);
  assert.deepEqual(list(h.scheduler.upcoming(new Date('2027-01-01T18:00:00Z'))), ['2027-01-01T01:00:00.000Z a incremental', '2027-01-01T18:00:00.000Z b differential Eve']);
  assert.deepEqual(h.scheduler.upcoming(0), []);
});

test('configuration errors: unknown schedule, duplicates, a bad rule names its schedule', () => {
  const base = { onDue: () => {} };
  const code = (fn: () => unknown): { code: string; fields: Record<string, unknown> } => {
    try {
      fn();
    } catch (err) {
      assert.ok(isCairnError(err));
      return { code: err.code, fields: err.fields };
    }
    assert.fail('accepted');
  };
  const unknown = code(() => new Scheduler({ ...base, schedules: [{ name: 'A', run: [] }], jobs: [{ name: 'j', schedule: 'B', level: 'full' }] }));
  assert.deepEqual(unknown, { code: 'CAIRN_E_SCHEDULE_UNKNOWN', fields: { job: 'j', schedule: 'B', known: ['A'] } });
  assert.equal(code(() => new Scheduler({ ...base, schedules: [{ name: 'A', run: [] }, { name: 'A', run: [] }], jobs: [] })).code, 'CAIRN_E_SCHEDULE_DUPLICATE');
  assert.equal(code(() => new Scheduler({ ...base, schedules: [], jobs: [{ name: 'j', level: 'full' }, { name: 'j', level: 'full' }] })).code, 'CAIRN_E_SCHEDULE_DUPLICATE');
  const bad = code(() => new Scheduler({ ...base, schedules: [{ name: 'Night', run: ['daily 01:00', 'Mon-Fri 25:00'] }], jobs: [] }));
  assert.deepEqual(bad, { code: 'CAIRN_E_SCHEDULE_INVALID', fields: { rule: 'Mon-Fri 25:00', token: '25:00', position: 9, schedule: 'Night' } });
  // A schedule without rules is allowed and never arms a timer.
  const h = harness('2027-01-01T00:00:00Z', { schedules: [{ name: 'Off', run: [] }], jobs: [{ name: 'j', schedule: 'Off', level: 'full' }] });
  h.scheduler.start();
  assert.equal(h.clock.pendingTimers, 0);
});

test('an onDue that throws does not stop the other runs of the wake', () => {
  const seen: string[] = [];
  const errors: unknown[] = [];
  const clock = new FakeClock('2027-01-01T00:00:00Z');
  const s = new Scheduler({
    schedules: [{ name: 'S', run: ['daily 01:00 tz=UTC'] }],
    jobs: [{ name: 'a', schedule: 'S', level: 'full' }, { name: 'b', schedule: 'S', level: 'full' }],
    now: clock.now,
    setTimer: clock.setTimer,
    clearTimer: clock.clearTimer,
    onDue: (d) => {
      seen.push(d.job);
      if (d.job === 'a') throw new Error('boom');
    },
    onError: (err) => errors.push(err),
  });
  s.start();
  clock.advance(2 * DAY);
  assert.deepEqual(seen, ['a', 'b', 'a', 'b']);
  assert.equal(errors.length, 2);
});
