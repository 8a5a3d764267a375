/**
 * Scheduler: emits each scheduled job's runs when they come due. It owns the
 * timer and the clock checks only; whether a job is already running, queued
 * or allowed is the caller's decision in onDue.
 *
 * Robustness: it never sleeps longer than `lookaheadMs` (default one minute,
 * and never past setTimeout's 2^31-1 ms), and reads the clock afresh on every
 * wake. A wake that finds runs overdue (suspend, clock set forward, a blocked
 * event loop) starts each such job once, at the last missed instant and the
 * highest level among its missed rules, and reports it through onMissed.
 * A clock set back replans from the new time.
 */
import { CairnError } from '../../plugin-api/index.js';
import { JobPlan, type PlannedRun, type ScheduledJob } from './job-plan.js';
import { parseRunRule } from './rule-parser.js';
import type { RunRule } from './run-rule.js';
import type { ZoneOffsets } from './wall-clock.js';

export interface ScheduleDef {
  readonly name: string;
  /** Run rules, one per string (docs/schedules.md); none = a schedule that never fires. */
  readonly run: readonly string[];
}

export interface DueRun {
  readonly job: string;
  readonly schedule: string;
  readonly level: PlannedRun['level'];
  readonly pool?: string;
  readonly priority?: number;
  /** The instant the schedule named (not when the timer happened to wake). */
  readonly scheduledFor: Date;
}

export interface MissedRuns {
  readonly job: string;
  readonly schedule: string;
  /** Instants that came due while the scheduler could not act (≥ 1); a lower bound when `countCapped`. */
  readonly missed: number;
  readonly countCapped: boolean;
  readonly firstMissed: Date;
  readonly lastMissed: Date;
  /** How late the wake was for the first missed instant. */
  readonly lateByMs: number;
  /** The one run started in their place (also passed to onDue, right after). */
  readonly runAs: DueRun;
}

export type UpcomingRun = PlannedRun;

export interface SchedulerOptions {
  readonly schedules: readonly ScheduleDef[];
  readonly jobs: readonly ScheduledJob[];
  readonly onDue: (due: DueRun) => void;
  readonly onMissed?: (missed: MissedRuns) => void;
  /** An exception from onDue/onMissed; without this handler the first is rethrown after the wake's other runs are emitted. */
  readonly onError?: (err: unknown, due: DueRun) => void;
  readonly now?: () => Date;
  readonly setTimer?: (fn: () => void, ms: number) => unknown;
  readonly clearTimer?: (handle: unknown) => void;
  /** Longest single sleep before the clock is read again (default 60 000 ms). */
  readonly lookaheadMs?: number;
  /** A wake later than this after a run's instant counts as missed (default 60 000 ms). */
  readonly lateAfterMs?: number;
  /** Offsets of the Director's local time (tests); default the process's TZ. */
  readonly localZone?: ZoneOffsets;
}

/** setTimeout's largest delay; longer ones fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;
export const DEFAULT_LOOKAHEAD_MS = 60_000;
export const DEFAULT_LATE_AFTER_MS = 60_000;
/** upcoming(untilDate) returns at most this many runs. */
export const UPCOMING_MAX = 10_000;

/** Parse every schedule's rules; CAIRN_E_SCHEDULE_INVALID names the schedule too. */
export function parseSchedules(schedules: readonly ScheduleDef[]): Map<string, RunRule[]> {
  const out = new Map<string, RunRule[]>();
  for (const s of schedules) {
    if (out.has(s.name)) throw new CairnError('CAIRN_E_SCHEDULE_DUPLICATE', `schedule "${s.name}" is defined twice`, { schedule: s.name });
    out.set(
      s.name,
      s.run.map((text) => {
        try {
          return parseRunRule(text);
        } catch (err) {
          const e = err as CairnError;
          throw new CairnError(e.code, `schedule "${s.name}": ${e.message}`, { ...e.fields, schedule: s.name }, { cause: err });
        }
      }),
    );
  }
  return out;
}

export class Scheduler {
  private readonly plans: JobPlan[] = [];
  private readonly pending = new Map<JobPlan, PlannedRun | null>();
  private readonly now: () => Date;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private readonly lookaheadMs: number;
  private readonly lateAfterMs: number;
  private handle: unknown;
  private running = false;
  /** Bumped by stop(): a timer armed before it does nothing. */
  private generation = 0;
  private lastWakeMs = 0;

  constructor(private readonly options: SchedulerOptions) {
    const rules = parseSchedules(options.schedules);
    const seen = new Set<string>();
    for (const job of options.jobs) {
      if (seen.has(job.name)) throw new CairnError('CAIRN_E_SCHEDULE_DUPLICATE', `job "${job.name}" is defined twice`, { job: job.name });
      seen.add(job.name);
      if (job.schedule === undefined) continue;
      const r = rules.get(job.schedule);
      if (r === undefined) {
        throw new CairnError('CAIRN_E_SCHEDULE_UNKNOWN', `job "${job.name}" names schedule "${job.schedule}", which is not defined`, {
          job: job.name,
          schedule: job.schedule,
          known: [...rules.keys()],
        });
      }
      this.plans.push(new JobPlan(job, job.schedule, r, options.localZone));
    }
    this.now = options.now ?? (() => new Date());
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
    this.lookaheadMs = Math.min(positive(options.lookaheadMs, DEFAULT_LOOKAHEAD_MS, 'lookaheadMs'), MAX_TIMER_MS);
    this.lateAfterMs = positive(options.lateAfterMs, DEFAULT_LATE_AFTER_MS, 'lateAfterMs');
  }

  /** Plan from now and arm the timer; a run due this very millisecond fires on the first wake. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const now = this.now().getTime();
    this.replan(now);
    this.lastWakeMs = now;
    this.arm(now);
  }

  stop(): void {
    this.running = false;
    this.generation++;
    if (this.handle !== undefined) this.clearTimer(this.handle);
    this.handle = undefined;
  }

  /** The next `limit` runs, or all runs up to and including a date (at most UPCOMING_MAX), from now, in order. */
  upcoming(limit: number | Date): UpcomingRun[] {
    const untilMs = limit instanceof Date ? limit.getTime() : Infinity;
    const max = limit instanceof Date ? UPCOMING_MAX : Math.min(Math.max(0, Math.floor(limit)), UPCOMING_MAX);
    const from = new Date(this.now().getTime() - 1);
    const heads = this.plans.map((p) => p.next(from));
    const out: UpcomingRun[] = [];
    while (out.length < max) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i];
        if (h !== null && (best < 0 || h.at < heads[best]!.at)) best = i;
      }
      if (best < 0 || heads[best]!.at.getTime() > untilMs) break;
      const run = heads[best]!;
      out.push(run);
      heads[best] = this.plans[best].next(run.at);
    }
    return out;
  }

  private replan(nowMs: number): void {
    const from = new Date(nowMs - 1);
    for (const p of this.plans) this.pending.set(p, p.next(from));
  }

  private arm(nowMs: number): void {
    let earliest = Infinity;
    for (const run of this.pending.values()) if (run !== null) earliest = Math.min(earliest, run.at.getTime());
    if (earliest === Infinity) return; // nothing will ever come due
    const delay = Math.max(0, Math.min(earliest - nowMs, this.lookaheadMs));
    const gen = this.generation;
    this.handle = this.setTimer(() => this.wake(gen), delay);
  }

  private wake(gen: number): void {
    if (!this.running || gen !== this.generation) return;
    this.handle = undefined;
    const now = this.now().getTime();
    if (now < this.lastWakeMs - this.lateAfterMs) this.replan(now); // the clock was set back
    const batch: { due: DueRun; missed?: MissedRuns }[] = [];
    for (const plan of this.plans) {
      const p = this.pending.get(plan);
      if (p == null || p.at.getTime() > now) continue;
      const c = plan.collapse(p, now);
      const { at, ...rest } = c.run;
      const due: DueRun = { ...rest, scheduledFor: at };
      const lateByMs = now - c.first.getTime();
      const missed =
        c.count > 1 || lateByMs > this.lateAfterMs
          ? { job: due.job, schedule: due.schedule, missed: c.count, countCapped: c.countCapped, firstMissed: c.first, lastMissed: c.last, lateByMs, runAs: due }
          : undefined;
      batch.push(missed === undefined ? { due } : { due, missed });
      this.pending.set(plan, plan.next(new Date(now)));
    }
    batch.sort((a, b) => a.due.scheduledFor.getTime() - b.due.scheduledFor.getTime()); // stable: job order within an instant
    this.lastWakeMs = now;
    this.arm(now);
    let firstError: { err: unknown } | undefined;
    for (const { due, missed } of batch) {
      try {
        if (missed !== undefined) this.options.onMissed?.(missed);
        this.options.onDue(due);
      } catch (err) {
        if (this.options.onError !== undefined) this.options.onError(err, due);
        else firstError ??= { err };
      }
    }
    if (firstError !== undefined) throw firstError.err;
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`Scheduler: ${name} must be a positive number of milliseconds, not ${value}`);
  return value;
}
