/**
 * One repository is written by one process at a time. The lock is a file
 * holding the holder's pid, host, command and start time. It appears whole
 * or not at all: it is written under a private name, fsynced, then linked
 * to `lock` (link fails if `lock` exists). A lock whose pid is gone on this
 * host is stale and taken over; an unreadable lock older than
 * TORN_LOCK_AGE_MS (left by an older version or a damaged disk) is stale
 * too. Takeover is serialised by a second O_EXCL file, `lock.takeover`, and
 * the winner re-checks that the lock is still the stale one before removing
 * it, so two contenders never both delete a fresh lock. A second writer
 * fails naming the holder, or waits with --wait.
 */
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CairnError } from '../../plugin-api/index.js';

export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  since: string;
}

/** How often a waiting process looks at the lock again. */
const WAIT_POLL_MS = 200;
/** An unreadable lock file older than this is taken for a leftover, not a lock being written. */
const TORN_LOCK_AGE_MS = 10_000;
/** A takeover marker older than this belonged to a process that died mid-takeover. */
const TAKEOVER_STALE_MS = 10_000;

type Seen = { kind: 'free' } | { kind: 'held'; holder: LockHolder; raw: string } | { kind: 'stale'; raw: string | null; why: string };

export class RepoLock {
  private constructor(private readonly path: string) {}

  static async acquire(repo: string, command: string, opts: { wait?: boolean; waitTimeoutMs?: number; onWait?: (h: LockHolder) => void } = {}): Promise<RepoLock> {
    const path = join(repo, 'lock');
    const deadline = Date.now() + (opts.waitTimeoutMs ?? Number.POSITIVE_INFINITY);
    let told = false;
    for (;;) {
      if (tryCreate(path, command)) return new RepoLock(path);
      const seen = look(path);
      if (seen.kind === 'free') continue;
      if (seen.kind === 'stale') {
        takeOver(path, seen.raw);
        continue;
      }
      if (!opts.wait || Date.now() > deadline) {
        const h = seen.holder;
        throw new CairnError(
          'CAIRN_E_REPO_LOCKED',
          `repository ${repo} is locked by pid ${h.pid} on ${h.host} (${h.command}, since ${h.since}); wait for it, or pass --wait to queue behind it`,
          { repo, ...h },
          { retryable: true },
        );
      }
      if (!told) {
        opts.onWait?.(seen.holder);
        told = true;
      }
      await sleep(WAIT_POLL_MS);
    }
  }

  release(): void {
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}

/** Creates the lock whole, or returns false when someone holds it. */
function tryCreate(path: string, command: string): boolean {
  const holder: LockHolder = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() };
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
  const fd = openSync(temp, 'wx', 0o644);
  try {
    writeSync(fd, JSON.stringify(holder));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  } finally {
    unlinkSync(temp);
  }
}

function look(path: string): Seen {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'free' };
    throw err;
  }
  let holder: LockHolder | null = null;
  try {
    holder = JSON.parse(raw) as LockHolder;
    if (typeof holder.pid !== 'number') holder = null;
  } catch {
    holder = null;
  }
  if (!holder) {
    const age = ageMs(path);
    if (age === null) return { kind: 'free' };
    if (age > TORN_LOCK_AGE_MS) return { kind: 'stale', raw, why: 'unreadable lock file' };
    return { kind: 'held', holder: { pid: -1, host: 'unknown', command: 'unknown (lock file unreadable)', since: 'unknown' }, raw };
  }
  if (holder.host === hostname() && !alive(holder.pid)) return { kind: 'stale', raw, why: `pid ${holder.pid} is gone` };
  return { kind: 'held', holder, raw };
}

/** Removes a stale lock, if it is still the same stale lock, under the takeover marker. */
function takeOver(path: string, raw: string | null): void {
  const marker = `${path}.takeover`;
  let fd: number;
  try {
    fd = openSync(marker, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const age = ageMs(marker);
    if (age !== null && age > TAKEOVER_STALE_MS) safeUnlink(marker);
    return; // someone else is taking over: look again
  }
  closeSync(fd);
  try {
    let now: string | null = null;
    try {
      now = readFileSync(path, 'utf8');
    } catch {
      now = null;
    }
    if (now !== null && now === raw) safeUnlink(path);
  } finally {
    safeUnlink(marker);
  }
}

function ageMs(path: string): number | null {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

function safeUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already
  }
}

function alive(pid: number): boolean {
  if (pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
