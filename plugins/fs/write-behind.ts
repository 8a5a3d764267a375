/**
 * Write-behind for streamed (large) files. writeData copies the chunk into a
 * buffer of the agent's own — the host may reuse its chunk once writeData has
 * settled (docs/plugin-api.md) — queues it and returns: the host goes on
 * decoding the next record while the kernel copies this one into the page
 * cache. A file's queued chunks are written one positioned write at a time,
 * in order: concurrent buffered writes to one file serialize on its inode
 * lock in the kernel, and the threads waiting for it spin (measured: 5 % of a
 * restore's CPU spent spinning on that lock with four writes in flight, on
 * two cores). At most `maxBytes` are queued over all files (writeData waits
 * for room); buffers are reused, never fresh per chunk (copying into a warm
 * buffer costs ≈ 0.05 ms per MiB, a fresh one ≈ 2.5 ms, docs/benchmarks.md).
 * A file's first failure is kept for its end() to report; later chunks of
 * that file are dropped.
 */
import { writeAll } from './fs-calls.js';

interface QueuedWrite {
  buf: Buffer;
  n: number;
  position: number;
  reusable: boolean;
}

export class WriteBehind {
  private readonly free: Buffer[] = [];
  private queued = 0;
  private waiters: Array<() => void> = [];

  constructor(
    /** Bytes queued or being written at most (a chunk bigger than this still goes, alone). */
    private readonly maxBytes: number,
    /** Size of the reused buffers; a bigger chunk gets a buffer of its own. */
    private readonly bufferBytes: number,
  ) {}

  /** A file's writes: queue them with write(), wait for them all with end(). */
  file(fd: number): BehindFile {
    return new BehindFile(this, fd);
  }

  /** @internal A copy of `data`, once there is room for it. */
  async take(data: Uint8Array, position: number): Promise<QueuedWrite> {
    const n = data.byteLength;
    while (this.queued > 0 && this.queued + n > this.maxBytes) await new Promise<void>((resolve) => this.waiters.push(resolve));
    const reusable = n <= this.bufferBytes;
    const buf = reusable ? (this.free.pop() ?? Buffer.allocUnsafeSlow(this.bufferBytes)) : Buffer.allocUnsafeSlow(n);
    buf.set(data);
    this.queued += n;
    return { buf, n, position, reusable };
  }

  /** @internal A queued write is done (written or dropped): its room and buffer are free again. */
  give(w: QueuedWrite): void {
    this.queued -= w.n;
    if (w.reusable) this.free.push(w.buf);
    const ws = this.waiters;
    this.waiters = [];
    for (const resolve of ws) resolve();
  }
}

export class BehindFile {
  private readonly queue: QueuedWrite[] = [];
  /** The drain loop, while it runs. */
  private draining: Promise<void> | null = null;
  private error: unknown = null;

  constructor(
    private readonly behind: WriteBehind,
    private readonly fd: number,
  ) {}

  /** Copies `data` and queues it for `position`; an earlier failure of this file throws here, a later one at end(). */
  async write(data: Uint8Array, position: number): Promise<void> {
    if (this.error) throw this.error;
    this.queue.push(await this.behind.take(data, position));
    this.draining ??= this.drain();
  }

  private async drain(): Promise<void> {
    for (let w = this.queue.shift(); w; w = this.queue.shift()) {
      try {
        if (!this.error) await writeAll(this.fd, w.buf.subarray(0, w.n), w.position);
      } catch (err) {
        this.error = err;
      } finally {
        this.behind.give(w);
      }
    }
    this.draining = null;
  }

  /** Waits for every write queued; throws the first failure, if any. */
  async end(): Promise<void> {
    while (this.draining) await this.draining;
    if (this.error) throw this.error;
  }
}
