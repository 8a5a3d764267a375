/**
 * One repository is written by one process at a time. The lock is a file
 * created with O_EXCL holding the holder's pid, host, command and start time;
 * a lock whose pid is gone on this host is stale and taken over (with a log
 * line). A second writer fails naming the holder, or waits with --wait.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync, fsyncSync } from 'node:fs';
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

export class RepoLock {
  private constructor(private readonly path: string) {}

  static async acquire(repo: string, command: string, opts: { wait?: boolean; waitTimeoutMs?: number; onWait?: (h: LockHolder) => void } = {}): Promise<RepoLock> {
    const path = join(repo, 'lock');
    const deadline = Date.now() + (opts.waitTimeoutMs ?? Number.POSITIVE_INFINITY);
    let told = false;
    for (;;) {
      const holder = tryCreate(path, command);
      if (holder === null) return new RepoLock(path);
      if (holder.host === hostname() && !alive(holder.pid)) {
        try {
          unlinkSync(path);
        } catch {
          // someone else cleared it first
        }
        continue;
      }
      if (!opts.wait || Date.now() > deadline) {
        throw new CairnError(
          'CAIRN_E_REPO_LOCKED',
          `repository ${repo} is locked by pid ${holder.pid} on ${holder.host} (${holder.command}, since ${holder.since}); wait for it, or pass --wait to queue behind it`,
          { repo, ...holder },
          { retryable: true },
        );
      }
      if (!told) {
        opts.onWait?.(holder);
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

function tryCreate(path: string, command: string): LockHolder | null {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    } catch {
      // being written right now, or torn: treat as held by an unknown live process for one poll
      return { pid: -1, host: 'unknown', command: 'unknown', since: 'unknown' };
    }
  }
  const holder: LockHolder = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() };
  writeSync(fd, JSON.stringify(holder));
  fsyncSync(fd);
  closeSync(fd);
  return null;
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
