/**
 * JobPlan: one job's schedule as a sequence of runs. Rules of the schedule
 * that fire at the same instant merge into one run (the highest level wins,
 * and that rule's pool and priority with it); a stretch of missed runs
 * collapses into one catch-up run the same way.
 */
import type { Level } from '../../plugin-api/index.js';
import { nextRun } from './next-run.js';
import { LEVEL_RANK, type RunRule } from './run-rule.js';
import type { ZoneOffsets } from './wall-clock.js';

/** A job as the scheduler needs it; pool and priority are the job's defaults. */
export interface ScheduledJob {
  readonly name: string;
  /** Name of a schedule; a job without one runs only when started by hand. */
  readonly schedule?: string;
  readonly level: Level;
  readonly pool?: string;
  readonly priority?: number;
}

/** One run of a job: its level after overrides, pool/priority when the rule or the job gives one. */
export interface PlannedRun {
  readonly job: string;
  readonly schedule: string;
  readonly level: Level;
  readonly pool?: string;
  readonly priority?: number;
  readonly at: Date;
}

export interface CollapsedRuns {
  /** The one run to start now: at the last missed instant, merged over every rule that fired. */
  readonly run: PlannedRun;
  /** Instants that came due (≥ 1); a lower bound when `countCapped`. */
  readonly count: number;
  readonly countCapped: boolean;
  readonly first: Date;
  readonly last: Date;
}

/** Counting missed instants stops here (every minute for a week is 10 080). */
const COLLAPSE_COUNT_CAP = 10_000;
const DAY = 86_400_000;

export class JobPlan {
  constructor(
    readonly job: ScheduledJob,
    readonly schedule: string,
    readonly rules: readonly RunRule[],
    /** Offsets for the rules in local time (tests inject a zone); UTC rules ignore it. */
    private readonly localZone?: ZoneOffsets,
  ) {}

  private ruleNext(rule: RunRule, after: Date): Date {
    return nextRun(rule, after, rule.zone === 'local' ? this.localZone : undefined);
  }

  /** The job's first run strictly after `after`; null for a schedule without rules. */
  next(after: Date): PlannedRun | null {
    let at: number | undefined;
    let firing: RunRule[] = [];
    for (const rule of this.rules) {
      const t = this.ruleNext(rule, after).getTime();
      if (at === undefined || t < at) {
        at = t;
        firing = [rule];
      } else if (t === at) {
        firing.push(rule);
      }
    }
    return at === undefined ? null : this.merge(firing, new Date(at));
  }

  /** Every run from `pending` (due) up to `nowMs`, as one run at the last of them. */
  collapse(pending: PlannedRun, nowMs: number): CollapsedRuns {
    let last = pending;
    let count = 1;
    let countCapped = false;
    for (let n = this.next(last.at); n !== null && n.at.getTime() <= nowMs; n = this.next(last.at)) {
      last = n;
      count++;
      if (count >= COLLAPSE_COUNT_CAP && !countCapped) {
        // Skip to the last day before now: only the last instant matters from here.
        countCapped = true;
        const skipTo = Math.max(last.at.getTime(), nowMs - DAY);
        const jump = this.next(new Date(skipTo));
        if (jump === null || jump.at.getTime() > nowMs) break;
        last = jump;
      }
    }
    const sinceFirst = new Date(pending.at.getTime() - 1);
    const fired = this.rules.filter((r) => this.ruleNext(r, sinceFirst).getTime() <= nowMs);
    return { run: this.merge(fired, last.at), count, countCapped, first: pending.at, last: last.at };
  }

  /** The highest level wins (full > differential > incremental); ties go to the earlier rule. */
  private merge(rules: readonly RunRule[], at: Date): PlannedRun {
    let win = rules[0];
    for (const r of rules) if (LEVEL_RANK[r.level ?? this.job.level] > LEVEL_RANK[win.level ?? this.job.level]) win = r;
    const pool = win.pool ?? this.job.pool;
    const priority = win.priority ?? this.job.priority;
    return {
      job: this.job.name,
      schedule: this.schedule,
      level: win.level ?? this.job.level,
      ...(pool !== undefined ? { pool } : {}),
      ...(priority !== undefined ? { priority } : {}),
      at,
    };
  }
}
