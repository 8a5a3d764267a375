/**
 * Small-file reads through the platform's batched readFiles (one
 * thread-pool job per group, off the event loop). Files join the open group
 * until it holds GROUP_FILES files or GROUP_BYTES bytes, or until someone
 * needs one of its files now (hurry); then the group is sealed and read in
 * one call. At most GROUPS_IN_FLIGHT calls run at once; later sealed groups
 * wait their turn in order. Each result is checked against the walk's lstat
 * exactly as readSmall does: a length or size/mtime/ctime/ino/dev change
 * means the file changed while it was being read.
 */
import type { EntryStat, PlatformFileServices, ReadFileResult } from '../../plugin-api/index.js';
import { CHANGED, SMALL_FILE_LIMIT, sameFile, skipFor, type Skip } from './file-reader.js';

/** Files per readFiles call at most (the contract asks for a few hundred). */
export const GROUP_FILES = 256;
/** Bytes per readFiles call before the group is sealed (a few MiB; the last file may overshoot). */
export const GROUP_BYTES = 2 * 1024 * 1024;
/** readFiles calls running at once: each holds one libuv pool thread until its group is read. */
export const GROUPS_IN_FLIGHT = 3;

export type ReadFilesCall = NonNullable<PlatformFileServices['readFiles']>;

/** One file's outcome: its bytes, a skip (warned by the caller), or null when the batcher was cancelled. */
export type SmallRead = { data: Buffer } | Skip | null;

interface Member {
  readonly path: Buffer;
  readonly stat: EntryStat;
  readonly resolve: (r: SmallRead) => void;
  readonly reject: (err: unknown) => void;
}

interface Group {
  readonly members: Member[];
  bytes: number;
  sealed: boolean;
  hurried: boolean;
}

/** Checks one readFiles result against the walk's lstat. */
export function checkRead(st: EntryStat, r: ReadFileResult): { data: Buffer } | Skip {
  if (r.errno !== undefined) return skipFor({ code: r.errno }, r.syscall === 'open' ? 'opened' : 'read');
  if (r.data.length !== st.size || !sameFile(st, r.stat)) return CHANGED;
  return { data: r.data };
}

export class SmallFileBatcher {
  private open: Group | null = null;
  private readonly waiting: Group[] = [];
  private inFlight = 0;
  private cancelled = false;

  constructor(private readonly readFiles: ReadFilesCall) {}

  /**
   * Queues one non-empty small file. `hurry` asks for its group to be read
   * soon: the group is sealed after the current burst of queued work
   * (setImmediate), so files the walk already has in memory still join it.
   */
  add(path: Buffer, stat: EntryStat): { result: Promise<SmallRead>; hurry: () => void } {
    const g = this.open ?? (this.open = { members: [], bytes: 0, sealed: false, hurried: false });
    const result = new Promise<SmallRead>((resolve, reject) => g.members.push({ path, stat, resolve, reject }));
    result.catch(() => undefined); // a failed call surfaces where the result is awaited; never unhandled
    g.bytes += stat.size;
    if (g.members.length >= GROUP_FILES || g.bytes >= GROUP_BYTES) this.seal(g);
    const hurry = (): void => {
      if (g.sealed || g.hurried) return;
      g.hurried = true;
      setImmediate(() => this.seal(g));
    };
    return { result, hurry };
  }

  /** Seals the open group (no more files are coming soon). */
  flush(): void {
    if (this.open) this.seal(this.open);
  }

  /** Drops every group not yet started: their files resolve to null without being read. */
  cancel(): void {
    this.cancelled = true;
    const dropped = [...(this.open ? [this.open] : []), ...this.waiting.splice(0)];
    this.open = null;
    for (const g of dropped) {
      g.sealed = true;
      for (const m of g.members) m.resolve(null);
    }
  }

  private seal(g: Group): void {
    if (g.sealed) return;
    g.sealed = true;
    if (this.open === g) this.open = null;
    this.waiting.push(g);
    this.start();
  }

  private start(): void {
    while (!this.cancelled && this.inFlight < GROUPS_IN_FLIGHT && this.waiting.length > 0) {
      const g = this.waiting.shift()!;
      this.inFlight++;
      const requests = g.members.map((m) => ({ path: m.path, size: m.stat.size }));
      this.readFiles(requests, { maxBytes: GROUP_BYTES + SMALL_FILE_LIMIT })
        .then(
          (results) => g.members.forEach((m, i) => m.resolve(checkRead(m.stat, results[i]))),
          (err: unknown) => g.members.forEach((m) => m.reject(err)),
        )
        .finally(() => {
          this.inFlight--;
          this.start();
        });
    }
  }
}
