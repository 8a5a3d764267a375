/**
 * Write-behind for streamed (large) files. writeData copies the chunk into a
 * buffer of the agent's own — the host may reuse its chunk once writeData has
 * settled (docs/plugin-api.md) — hands it to the agent's writer thread
 * (write-worker.ts) and returns: the host goes on decoding the next record
 * while the kernel copies this one into the page cache. The writer writes
 * chunks one at a time, in order, in system calls of WRITE_PIECE_BYTES:
 *   - one at a time, because concurrent buffered writes to one file serialize
 *     on its inode lock and the threads waiting for it spin (measured: 5 % of
 *     a restore's CPU with four writes in flight, on two cores);
 *   - in small pieces, because on Linux 6.18 ext4 a 1 MiB write of a new file
 *     is 2–4× slower than the same bytes in 32–128 KiB writes (the page cache
 *     then allocates large folios, which come slow here; docs/benchmarks.md
 *     "Write size");
 *   - on a thread of its own, because pieces issued from the main thread each
 *     wait for it to be free (measured slower than one 1 MiB write).
 * At most `maxBytes` are queued over all files (writeData waits for room);
 * buffers (shared memory) are reused, never fresh per chunk. A file's first
 * failure is kept for its end() to report and refuses its later writes.
 * Should the thread fail to start, writes go through fs.write on the thread
 * pool, whole.
 */
import { Worker } from 'node:worker_threads';
import { writeAll } from './fs-calls.js';
import type { WriteOrder, WriteReply } from './write-worker.js';

/** Bytes per write system call (in a large restore 64 KiB beat 32 and 128 KiB; docs/benchmarks.md "Write size"). */
export const WRITE_PIECE_BYTES = 64 * 1024;

interface Pending {
  buffer: SharedArrayBuffer | null;
  n: number;
  settle: (err: unknown) => void;
}

export class WriteBehind {
  private readonly free: SharedArrayBuffer[] = [];
  private queued = 0;
  private waiters: Array<() => void> = [];
  private worker: Worker | null = null;
  /** The writer thread could not run: write on the thread pool instead. */
  private broken = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    /** Bytes queued or being written at most (a chunk bigger than this still goes, alone). */
    private readonly maxBytes: number,
    /** Size of the reused buffers; a bigger chunk gets a buffer of its own. */
    private readonly bufferBytes: number,
    /** false: write on the thread pool, as when the writer thread cannot start (tests). */
    options: { thread?: boolean } = {},
  ) {
    this.broken = options.thread === false;
  }

  /** A file's writes: queue them with write(), wait for them all with end(). */
  file(fd: number): BehindFile {
    return new BehindFile(this, fd);
  }

  /** @internal Copies `data` (once there is room) and sends it to be written at `position`; `settle` hears the outcome. */
  async send(fd: number, data: Uint8Array, position: number, settle: (err: unknown) => void): Promise<void> {
    const n = data.byteLength;
    while (this.queued > 0 && this.queued + n > this.maxBytes) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.queued += n;
    const worker = this.thread();
    if (!worker) {
      const copy = Buffer.from(data);
      writeAll(fd, copy, position).then(() => this.done(n, null, settle, null), (err: unknown) => this.done(n, null, settle, err));
      return;
    }
    const reusable = n <= this.bufferBytes;
    const buffer = (reusable ? this.free.pop() : undefined) ?? new SharedArrayBuffer(reusable ? this.bufferBytes : n);
    new Uint8Array(buffer, 0, n).set(data);
    const id = this.nextId++;
    this.pending.set(id, { buffer: reusable ? buffer : null, n, settle });
    if (this.pending.size === 1) worker.ref();
    const order: WriteOrder = { id, fd, buffer, length: n, position, piece: WRITE_PIECE_BYTES };
    worker.postMessage(order);
  }

  /** Stops the writer thread (the session is over; queued writes have been waited for). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  private thread(): Worker | null {
    if (this.worker || this.broken) return this.worker;
    try {
      const w = new Worker(new URL('./write-worker.js', import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 } });
      w.on('message', (r: WriteReply) => this.reply(r));
      w.on('error', (err) => this.lost(w, err));
      w.on('exit', (code) => this.lost(w, new Error(`the fs agent's writer thread exited with code ${code}`)));
      // After the listeners: adding a 'message' listener references the thread again.
      w.unref();
      this.worker = w;
    } catch {
      this.broken = true;
    }
    return this.worker;
  }

  private reply(r: WriteReply): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id);
    if (this.pending.size === 0) this.worker?.unref();
    const err = r.error ? Object.assign(new Error(r.error.message), { code: r.error.code, errno: r.error.errno, syscall: r.error.syscall }) : null;
    this.done(p.n, p.buffer, p.settle, err);
  }

  /** The thread died: what it had not answered fails, and later writes go through the thread pool. */
  private lost(w: Worker, err: unknown): void {
    if (this.worker !== w) return;
    this.worker = null;
    this.broken = true;
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) this.done(p.n, null, p.settle, err);
  }

  private done(n: number, buffer: SharedArrayBuffer | null, settle: (err: unknown) => void, err: unknown): void {
    this.queued -= n;
    if (buffer) this.free.push(buffer);
    settle(err);
    const ws = this.waiters;
    this.waiters = [];
    for (const resolve of ws) resolve();
  }
}

export class BehindFile {
  private readonly pending = new Set<Promise<void>>();
  private error: unknown = null;

  constructor(
    private readonly behind: WriteBehind,
    private readonly fd: number,
  ) {}

  /** Copies `data` and queues it for `position`; an earlier failure of this file throws here, a later one at end(). */
  async write(data: Uint8Array, position: number): Promise<void> {
    if (this.error) throw this.error;
    let settled!: () => void;
    const p = new Promise<void>((resolve) => (settled = resolve));
    this.pending.add(p);
    try {
      await this.behind.send(this.fd, data, position, (err) => {
        if (err && !this.error) this.error = err;
        this.pending.delete(p);
        settled();
      });
    } catch (err) {
      this.pending.delete(p);
      settled();
      throw err;
    }
  }

  /** Waits for every write queued; throws the first failure, if any. */
  async end(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
    if (this.error) throw this.error;
  }
}
