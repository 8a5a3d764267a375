/**
 * Compression on a piscina pool sized to the cores, with small chunks batched
 * into one task (a task costs ~50 µs; a 4 KiB file compresses in less) and
 * buffers transferred, not copied, across threads.
 */
import { availableParallelism } from 'node:os';
import { Buffer } from 'node:buffer';
import { Piscina } from 'piscina';
import type { CompressResult, CompressTask } from './compress-worker.js';

/** A batch is sent when it holds this many bytes… (1 MiB: one task ≈ 3 ms of zstd -1, so the 50 µs task cost is noise). */
export const BATCH_BYTES = 1 << 20;
/** …or this many chunks (bounds latency for runs of tiny files). */
export const BATCH_CHUNKS = 256;

/** A partly filled batch is sent after this long even if the producer is busy elsewhere (a slow agent must not stall the SD stream). */
export const BATCH_MAX_DELAY_MS = 20;

export interface CompressedPiece {
  data: Buffer;
  /** false when the chunk did not shrink and is stored plain. */
  compressed: boolean;
  /** SHA-256 of the chunk, when asked for. */
  digest: Buffer | null;
}

export interface ChunkOptions {
  /** Compute the chunk's SHA-256 on the worker too. */
  digest?: boolean;
  /** The caller still needs the chunk's bytes afterwards: copy it, never transfer its buffer. */
  keep?: boolean;
}

interface Pending {
  chunks: Uint8Array[];
  options: ChunkOptions[];
  bytes: number;
  waiters: Array<{ resolve: (p: CompressedPiece) => void; reject: (e: unknown) => void }>;
}

export class CompressPool {
  private readonly pool: Piscina;
  private readonly level: number;
  private pending: Pending | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(options: { level: number; threads?: number }) {
    this.level = options.level;
    const threads = options.threads ?? Math.max(1, availableParallelism());
    this.pool = new Piscina({
      filename: new URL('./compress-worker.js', import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: 5_000,
    });
  }

  /** Queues a chunk; the promise settles when its batch has been compressed. Call flush() before awaiting it. */
  compress(chunk: Uint8Array, options: ChunkOptions = {}): Promise<CompressedPiece> {
    if (!this.pending) {
      this.pending = { chunks: [], options: [], bytes: 0, waiters: [] };
      this.timer = setTimeout(() => this.flush(), BATCH_MAX_DELAY_MS);
      this.timer.unref?.();
    }
    const p = this.pending;
    const promise = new Promise<CompressedPiece>((resolve, reject) => p.waiters.push({ resolve, reject }));
    p.chunks.push(chunk);
    p.options.push(options);
    p.bytes += chunk.byteLength;
    if (p.bytes >= BATCH_BYTES || p.chunks.length >= BATCH_CHUNKS) this.flush();
    return promise;
  }

  /** Sends the batch being filled, if any. */
  flush(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const only = p.chunks.length === 1 && !p.options[0].keep ? p.chunks[0] : null;
    let data: ArrayBuffer;
    if (only && only.byteOffset === 0 && only.buffer instanceof ArrayBuffer && only.buffer.byteLength === only.byteLength) {
      // A chunk that owns its whole buffer (the host owns agent chunks) moves to the worker without a copy.
      data = only.buffer;
    } else {
      data = new ArrayBuffer(p.bytes);
      const view = new Uint8Array(data);
      let o = 0;
      for (const c of p.chunks) {
        view.set(c, o);
        o += c.byteLength;
      }
    }
    const task: CompressTask = { data, lengths: p.chunks.map((c) => c.byteLength), level: this.level, digest: p.options.map((o) => o.digest === true) };
    this.pool.run(task, { transferList: [data] }).then(
      (r: CompressResult) => {
        const all = Buffer.from(r.data);
        let off = 0;
        r.lengths.forEach((len, i) => {
          const d = r.digests[i];
          p.waiters[i].resolve({ data: all.subarray(off, off + len), compressed: r.compressed[i], digest: d ? Buffer.from(d.buffer, d.byteOffset, d.byteLength) : null });
          off += len;
        });
      },
      (err: unknown) => p.waiters.forEach((w) => w.reject(err)),
    );
  }

  async close(): Promise<void> {
    this.flush();
    await this.pool.destroy();
  }
}
