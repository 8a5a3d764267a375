/**
 * The read-ahead window between the walk and nextFile(): it keeps up to
 * READ_AHEAD_FILES candidates (BATCH_READ_AHEAD_FILES when small files are
 * read in platform batches; READ_AHEAD_BYTES of small-file data either way)
 * being prepared concurrently — small files read whole, large ones opened —
 * so nextFile/readData rarely wait on a single syscall. Items come out in the
 * order they went in; skipped ones (vanished, unreadable, changed) are
 * dropped here with their warning already given.
 */
import type { EntryStat, FileEntry } from '../../plugin-api/index.js';
import type { Candidate } from './entry-selector.js';
import { SMALL_FILE_LIMIT, openLarge, readSmall, readSmallSync, type Skip } from './file-reader.js';
import { close } from './fs-calls.js';
import { GROUPS_IN_FLIGHT, GROUP_FILES, SmallFileBatcher, type ReadFilesCall, type SmallRead } from './small-file-batch.js';

/** Files being prepared at once: enough to keep libuv's pool busy on 1–16 KiB files. */
export const READ_AHEAD_FILES = 32;
/** Files ahead with batched reads: the groups in flight plus the one filling while the first is consumed. */
export const BATCH_READ_AHEAD_FILES = GROUP_FILES * (GROUPS_IN_FLIGHT + 1);
/** Small-file bytes held ahead at most (each small file is < SMALL_FILE_LIMIT). */
export const READ_AHEAD_BYTES = 8 * 1024 * 1024;

/** How small files are read: synchronous node:fs calls, the platform's batched readFiles, or (neither) async node:fs. */
export interface ReadAheadIo {
  readonly syncIo?: boolean;
  readonly readFiles?: ReadFilesCall;
}

export interface Prepared {
  readonly entry: FileEntry;
  readonly stat?: EntryStat;
  /** Whole data of a small file (sequential stream). */
  data?: Buffer;
  /** Open descriptor of a large or sparse file, closed by whoever streams it (or by release()). */
  fd?: number;
}

interface Slot {
  readonly bytes: number;
  readonly ready: Promise<Prepared | null>;
  /** Asks for a batched read to start now (the consumer is waiting for it). */
  readonly hurry?: () => void;
}

export class ReadAhead {
  private readonly queue: Slot[] = [];
  private queuedBytes = 0;
  private sourceDone = false;
  private pumping = false;
  private failure: unknown = undefined;
  private wake: (() => void) | null = null;
  private readonly batcher: SmallFileBatcher | null;
  private readonly maxFiles: number;
  private readonly syncIo: boolean;

  constructor(
    private readonly source: AsyncIterator<Candidate>,
    private readonly warn: (text: string, path: Buffer, code: string) => void,
    io: ReadAheadIo = {},
  ) {
    this.batcher = io.readFiles ? new SmallFileBatcher(io.readFiles) : null;
    this.maxFiles = this.batcher ? BATCH_READ_AHEAD_FILES : READ_AHEAD_FILES;
    this.syncIo = io.syncIo === true;
  }

  /** The next prepared entry in order, or null at the end. Rethrows a walk failure. */
  async next(): Promise<Prepared | null> {
    for (;;) {
      this.pump();
      const slot = this.queue.shift();
      if (slot) {
        this.queuedBytes -= slot.bytes;
        slot.hurry?.();
        this.pump();
        const p = await slot.ready;
        if (p !== null) return p;
        continue;
      }
      if (this.failure !== undefined) throw this.failure;
      if (this.sourceDone) return null;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Waits for everything in flight and closes descriptors nobody streamed. */
  async drain(): Promise<void> {
    this.sourceDone = true;
    this.batcher?.cancel();
    for (const slot of this.queue.splice(0)) {
      const p = await slot.ready;
      if (p?.fd !== undefined) await close(p.fd);
    }
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private pump(): void {
    if (this.pumping || this.sourceDone) return;
    if (this.queue.length >= this.maxFiles || this.queuedBytes >= READ_AHEAD_BYTES) return;
    this.pumping = true;
    void (async () => {
      try {
        while (!this.sourceDone && this.queue.length < this.maxFiles && this.queuedBytes < READ_AHEAD_BYTES) {
          const r = await this.source.next();
          if (r.done) {
            this.sourceDone = true;
            break;
          }
          const c = r.value;
          const small = c.entry.kind === 'file' && c.entry.streams[0]?.layout === 'sequential' && c.entry.stat.size < SMALL_FILE_LIMIT;
          const bytes = small ? c.entry.stat.size : 0;
          this.queuedBytes += bytes;
          this.queue.push({ bytes, ...this.start(c, small) });
          this.notify();
        }
      } catch (err) {
        this.failure = err;
        this.sourceDone = true;
      } finally {
        if (this.sourceDone) this.batcher?.flush();
        this.pumping = false;
        this.notify();
      }
    })();
  }

  /** Starts preparing one candidate: a batched read for a non-empty small file, else prepare(). */
  private start(c: Candidate, small: boolean): { ready: Promise<Prepared | null>; hurry?: () => void } {
    const { entry, stat } = c;
    if (!this.batcher || !small || !stat || entry.stat.size === 0) return { ready: this.prepare(c, small) };
    const path = entry.path as Buffer;
    const { result, hurry } = this.batcher.add(path, stat);
    return { ready: result.then((r) => this.settle(c, path, r)), hurry };
  }

  private settle(c: Candidate, path: Buffer, r: SmallRead): Prepared | null {
    if (r === null) return null;
    if ('skip' in r) {
      this.warn(r.text, path, r.code);
      return null;
    }
    return { entry: c.entry, stat: c.stat, data: r.data };
  }

  private async prepare(c: Candidate, small: boolean): Promise<Prepared | null> {
    const { entry, stat } = c;
    if (entry.kind !== 'file' || !stat) return { entry, stat };
    if (entry.stat.size === 0) return { entry, stat, data: Buffer.alloc(0) };
    const path = entry.path as Buffer;
    const r: { data: Buffer } | { fd: number } | Skip = small ? (this.syncIo ? readSmallSync(path, stat) : await readSmall(path, stat)) : await openLarge(path, stat);
    if ('skip' in r) {
      this.warn(r.text, path, r.code);
      return null;
    }
    return { entry, stat, ...r };
  }
}
