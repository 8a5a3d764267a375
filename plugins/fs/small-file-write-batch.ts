/**
 * Small-file restore writes through the platform's batched writeFiles (one
 * thread-pool job per group: create temp, write, fchown, fchmod, futimens,
 * close, rename, per file) instead of five or more libuv round trips per
 * file. Files are grouped as they are queued: a group is sent when it holds
 * GROUP_FILES files or GROUP_BYTES bytes, or, while fewer than
 * CALLS_IN_FLIGHT calls run, at the next setImmediate with whatever is queued
 * (so a slow producer is never kept waiting for a full group). `add` waits
 * only while a full group is queued behind CALLS_IN_FLIGHT running calls.
 * Each file's promise resolves with its own result and never rejects.
 */
import type { PlatformFileServices } from '../../plugin-api/index.js';

export type WriteFilesCall = NonNullable<PlatformFileServices['writeFiles']>;
export type WriteRequest = Parameters<WriteFilesCall>[0][number];
export type WriteResult = Awaited<ReturnType<WriteFilesCall>>[number];

/** Files per writeFiles call at most. */
export const GROUP_FILES = 128;
/** Bytes per writeFiles call before the group is sent (the last file may overshoot). */
export const GROUP_BYTES = 4 * 1024 * 1024;
/** writeFiles calls running at once: each holds one libuv pool thread until its group is written. */
export const CALLS_IN_FLIGHT = 2;

interface Member {
  readonly request: WriteRequest;
  readonly resolve: (r: WriteResult | Error) => void;
}

interface Group {
  members: Member[];
  bytes: number;
}

export class SmallFileWriteBatcher {
  private open: Group = { members: [], bytes: 0 };
  private inFlight = 0;
  private readonly running = new Set<Promise<void>>();
  private scheduled = false;
  private waiters: Array<() => void> = [];

  constructor(private readonly writeFiles: WriteFilesCall) {}

  private full(): boolean {
    return this.open.members.length >= GROUP_FILES || this.open.bytes >= GROUP_BYTES;
  }

  /**
   * Queues one file; resolves (once it is queued) with `result`, a promise of its
   * result: the per-file WriteFileResult, or the Error the whole call
   * rejected with.
   */
  async add(request: WriteRequest): Promise<{ readonly result: Promise<WriteResult | Error> }> {
    while (this.full()) {
      this.send();
      if (this.full()) await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    const result = new Promise<WriteResult | Error>((resolve) => this.open.members.push({ request, resolve }));
    this.open.bytes += request.data.byteLength;
    if (this.full()) this.send();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.send();
      });
    }
    return { result };
  }

  /** Sends whatever is queued and waits until every call has finished. */
  async drain(): Promise<void> {
    for (;;) {
      this.send();
      if (this.running.size === 0 && this.open.members.length === 0) return;
      await Promise.race(this.running);
    }
  }

  /** Starts a call with the open group if one may run now. */
  private send(): void {
    if (this.inFlight >= CALLS_IN_FLIGHT || this.open.members.length === 0) return;
    const g = this.open;
    this.open = { members: [], bytes: 0 };
    this.inFlight++;
    const call = this.writeFiles(g.members.map((m) => m.request))
      .then(
        (results) => g.members.forEach((m, i) => m.resolve(results[i] ?? new Error('writeFiles returned no result for this file'))),
        (err: unknown) => g.members.forEach((m) => m.resolve(err instanceof Error ? err : new Error(String(err)))),
      )
      .finally(() => {
        this.inFlight--;
        this.running.delete(call);
        const ws = this.waiters;
        this.waiters = [];
        for (const w of ws) w();
        this.send();
      });
    this.running.add(call);
  }
}
