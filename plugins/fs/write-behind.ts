/**
 * Write-behind for streamed (large) files. writeData copies the chunk into a
 * buffer of the agent's own — the host may reuse its chunk once writeData has
 * settled (docs/plugin-api.md) — and starts its positioned write at once,
 * without waiting for it: the host goes on decoding the next record while the
 * kernel copies this one into the page cache, and the next write is already
 * queued when this one ends. Writes of one file go to distinct offsets, so
 * they may complete in any order. At most `maxBytes` are in flight over all
 * files (writeData waits for room); buffers are reused, never fresh per chunk
 * (copying into a warm buffer costs ≈ 0.05 ms per MiB, a fresh one ≈ 2.5 ms,
 * docs/benchmarks.md). A file's failures are kept for its end() to report.
 */
import { writeAll } from './fs-calls.js';

export class WriteBehind {
  private readonly free: Buffer[] = [];
  private inFlight = 0;
  private waiters: Array<() => void> = [];

  constructor(
    /** Bytes of writes in flight at most (a chunk bigger than this still goes, alone). */
    private readonly maxBytes: number,
    /** Size of the reused buffers; a bigger chunk gets a buffer of its own. */
    private readonly bufferBytes: number,
  ) {}

  /** A file's writes: start them with write(), wait for them all with end(). */
  file(fd: number): BehindFile {
    return new BehindFile(this, fd);
  }

  /** @internal Starts one write of a copy of `data` at `position`; resolves once it has started. */
  async start(fd: number, data: Uint8Array, position: number, settled: (err: unknown) => void): Promise<void> {
    const n = data.byteLength;
    while (this.inFlight > 0 && this.inFlight + n > this.maxBytes) await new Promise<void>((resolve) => this.waiters.push(resolve));
    const reusable = n <= this.bufferBytes;
    const buf = reusable ? (this.free.pop() ?? Buffer.allocUnsafeSlow(this.bufferBytes)) : Buffer.allocUnsafeSlow(n);
    buf.set(data);
    this.inFlight += n;
    writeAll(fd, buf.subarray(0, n), position).then(
      () => settled(null),
      (err: unknown) => settled(err),
    ).finally(() => {
      this.inFlight -= n;
      if (reusable) this.free.push(buf);
      const ws = this.waiters;
      this.waiters = [];
      for (const w of ws) w();
    });
  }
}

export class BehindFile {
  private readonly pending = new Set<Promise<void>>();
  private error: unknown = null;

  constructor(
    private readonly behind: WriteBehind,
    private readonly fd: number,
  ) {}

  /** Copies `data` and starts writing it at `position`; an error shows at end(). */
  async write(data: Uint8Array, position: number): Promise<void> {
    if (this.error) throw this.error;
    let done!: () => void;
    const p = new Promise<void>((resolve) => (done = resolve));
    this.pending.add(p);
    try {
      await this.behind.start(this.fd, data, position, (err) => {
        if (err && !this.error) this.error = err;
        this.pending.delete(p);
        done();
      });
    } catch (err) {
      this.pending.delete(p);
      done();
      throw err;
    }
  }

  /** Waits for every write started; throws the first failure, if any. */
  async end(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
    if (this.error) throw this.error;
  }
}
