/**
 * zstd on a piscina pool sized to the cores, for both directions: backup
 * compresses chunks, restore and verify decompress frames, each with the
 * SHA-256 of the plain bytes when asked for. Small pieces are batched into
 * one task (a task costs ~50 µs; a 4 KiB file compresses in less). A piece
 * in shared memory (an agent's chunk buffer, core/chunk-buffers.ts) is read
 * in place; a lone piece that owns its whole buffer moves to the worker; the
 * rest are copied into a reused input slab — never into fresh memory.
 * Decompressed pieces land in a slab of shared memory (core/slab-ring.ts)
 * reused batch after batch: such a piece has a release() its user calls
 * once done with the bytes (RestoreRun: after the agent's writeData
 * settled); other holders (the hash thread) hold the slab themselves.
 */
import { availableParallelism } from 'node:os';
import { Buffer } from 'node:buffer';
import { createRequire } from 'node:module';
import { Piscina } from 'piscina';
import type { CompressResult, CompressTask, PackSealSpec, SealSpec } from './zstd-worker.js';
import { SlabRing, slabOf, type Slab } from './slab-ring.js';

/** A batch's chunks as the worker reads them, and the holds to let go once it is done. */
interface Staged {
  frames: Uint8Array[];
  release: () => void;
}

const binding = createRequire(import.meta.url)('zstd-napi/binding') as typeof import('zstd-napi/binding.js');

/** Size of the reusable output slabs of decompression (a batch whose output is bigger gets a one-off slab). */
export const SLAB_BYTES = 4 << 20;
/** Free slabs kept for reuse (beyond, they are left to GC). */
export const SLABS_KEPT = 24;
/** A frame whose header announces more than this is decompressed the old way (a damaged header must not allocate gigabytes). */
const MAX_PIECE_BYTES = 64 << 20;

/** A batch is sent when it holds this many bytes… (1 MiB: one task ≈ 3 ms of zstd -1, so the 50 µs task cost is noise). */
export const BATCH_BYTES = 1 << 20;
/** …or this many pieces (bounds latency for runs of tiny files). */
export const BATCH_CHUNKS = 256;
/** A partly filled batch is sent after this long even if the producer is busy elsewhere (a slow agent must not stall the SD stream). */
export const BATCH_MAX_DELAY_MS = 20;

export interface ZstdPiece {
  data: Buffer;
  /** compress: false when the chunk did not shrink and is stored plain. decompress: false when the frame is corrupt (data empty). */
  compressed: boolean;
  /** SHA-256 of the plain bytes, when asked for. */
  digest: Buffer | null;
  /** decompress: data lies in a reusable slab; call once the bytes are no longer needed (they may then be overwritten). */
  release?: () => void;
  /** compress with `seal`: data is the sealed record payload, and this its SHA-256 (for the signed manifest). */
  recordDigest?: Buffer | null;
}

export interface ChunkOptions {
  /** Compute the SHA-256 of the plain bytes on the worker too. */
  digest?: boolean;
  /** The caller still needs the bytes afterwards: copy them, never transfer the buffer. */
  keep?: boolean;
  /** compress: store the chunk as it is (no zstd), e.g. an encrypted job without compression. */
  store?: boolean;
  /** compress: seal the (compressed) chunk for its place in an encrypted job. */
  seal?: SealSpec;
}

/** A pack compressed (or unpacked) on a worker, with each member's SHA-256. */
export interface PackPiece {
  data: Buffer;
  /** pack: true when data is a zstd frame, false when stored plain. unpack: false when the pack does not decode to its members' total length (data empty). */
  compressed: boolean;
  digests: Buffer[];
  /** Sealed pack: the PACK_INDEX payload (made on the worker: the seal is bound to it)… */
  index?: Buffer;
  /** …and the SHA-256 of the index payload and of the sealed data payload. */
  recordDigests?: Buffer[];
}

type Op = 'compress' | 'decompress';

/** A queued piece; `sent` turns true once its batch has gone to a worker (awaiting it then needs no flush). */
export type PendingPiece = Promise<ZstdPiece> & { sent: boolean };

interface Pending {
  chunks: Uint8Array[];
  options: ChunkOptions[];
  bytes: number;
  /** decompress: each frame's content size from its header (null: some frame's is unknown, the batch takes the old path). */
  sizes: number[] | null;
  outBytes: number;
  waiters: Array<{ resolve: (p: ZstdPiece) => void; reject: (e: unknown) => void }>;
  promises: PendingPiece[];
  /** Slabs of the queued chunks, held from queue() until the worker is done (the caller may let go at once). */
  holds: Slab[];
}

export class ZstdPool {
  private readonly pool: Piscina;
  private readonly level: number;
  private readonly pending: Record<Op, Pending | null> = { compress: null, decompress: null };
  private timer: NodeJS.Timeout | null = null;
  /** Output slabs of decompression. */
  readonly slabs = new SlabRing(SLAB_BYTES, SLABS_KEPT);
  /** Input slabs (the chunks or frames of one batch not already in shared memory). */
  readonly inputs = new SlabRing(SLAB_BYTES, SLABS_KEPT);

  constructor(options: { level: number; threads?: number }) {
    this.level = options.level;
    const threads = options.threads ?? Math.max(1, availableParallelism());
    this.pool = new Piscina({
      filename: new URL('./zstd-worker-entry.cjs', import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: 5_000,
    });
  }

  /** Queues a chunk for compression; settles when its batch is done. Call flush() before awaiting it. */
  compress(chunk: Uint8Array, options: ChunkOptions = {}): PendingPiece {
    return this.queue('compress', chunk, options);
  }

  /**
   * Queues a zstd frame for decompression; settles when its batch is done. A frame in shared memory that is
   * not a slab of this pool's (the SD's loaned read buffers, in local mode) is read in place: the caller keeps
   * it unchanged until the piece settles.
   */
  decompress(frame: Uint8Array, options: ChunkOptions = {}): PendingPiece {
    return this.queue('decompress', frame, { ...options, keep: true });
  }

  private queue(op: Op, chunk: Uint8Array, options: ChunkOptions): PendingPiece {
    let p = this.pending[op];
    if (!p) {
      p = this.pending[op] = { chunks: [], options: [], bytes: 0, sizes: op === 'decompress' ? [] : null, outBytes: 0, waiters: [], promises: [], holds: [] };
      this.timer ??= setTimeout(() => this.flush(), BATCH_MAX_DELAY_MS);
      this.timer.unref?.();
    }
    const batch = p;
    const promise = new Promise<ZstdPiece>((resolve, reject) => batch.waiters.push({ resolve, reject })) as PendingPiece;
    promise.sent = false;
    batch.promises.push(promise);
    batch.chunks.push(chunk);
    const slab = slabOf(chunk);
    if (slab) batch.holds.push(slab.hold());
    batch.options.push(options);
    batch.bytes += chunk.byteLength;
    if (batch.sizes) {
      const size = contentSize(chunk);
      if (size === null) batch.sizes = null;
      else {
        batch.sizes.push(size);
        batch.outBytes += size;
      }
    }
    // A batch's output fits one slab too (frames of very compressible data are tiny).
    if (batch.bytes >= BATCH_BYTES || batch.chunks.length >= BATCH_CHUNKS || batch.outBytes >= SLAB_BYTES) this.send(op);
    return promise;
  }

  /**
   * Compresses one pack (the members' bytes end to end in the first `used` bytes of `members`) and digests
   * each member. An ArrayBuffer is transferred; a SharedArrayBuffer is read in place and free again once
   * the promise settles (the result never points into it).
   */
  pack(members: ArrayBuffer | SharedArrayBuffer, lengths: number[], used: number, opts: { seal?: PackSealSpec; store?: boolean } = {}): Promise<PackPiece> {
    return this.runPack({ op: 'pack', data: members, lengths, level: this.level, digest: [], used, ...(opts.seal ? { packSeal: opts.seal } : {}), ...(opts.store ? { store: [true] } : {}) });
  }

  /** Decodes one pack record's payload (copied) into its members' bytes, with each member's digest. */
  unpack(payload: Uint8Array, lengths: number[], compressed: boolean): Promise<PackPiece> {
    const data = new ArrayBuffer(payload.byteLength);
    new Uint8Array(data).set(payload);
    return this.runPack({ op: 'unpack', data, lengths, level: this.level, digest: [], compressed });
  }

  private async runPack(task: CompressTask): Promise<PackPiece> {
    const transferList = task.data instanceof ArrayBuffer ? [task.data] : [];
    const r = (await this.pool.run(task, { transferList })) as CompressResult;
    const view = (d: Uint8Array) => Buffer.from(d.buffer, d.byteOffset, d.byteLength);
    const digests = r.digests.map((d) => view(d!));
    const piece: PackPiece = { data: Buffer.from(r.data), compressed: r.compressed[0], digests };
    if (r.index) piece.index = view(r.index);
    if (r.recordDigests) piece.recordDigests = r.recordDigests.map((d) => view(d!));
    return piece;
  }

  /** Sends the batches being filled, if any. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.send('compress');
    this.send('decompress');
  }

  private send(op: Op): void {
    const p = this.pending[op];
    if (!p) return;
    this.pending[op] = null;
    for (const promise of p.promises) promise.sent = true;
    const lengths = p.chunks.map((c) => c.byteLength);
    const digest = p.options.map((o) => o.digest === true);
    if (p.sizes) {
      this.sendIntoSlab({ op, data: new ArrayBuffer(0), lengths, level: this.level, digest }, p.sizes, p);
      return;
    }
    const only = p.chunks.length === 1 && !p.options[0].keep ? p.chunks[0] : null;
    const task: CompressTask = { op, data: new ArrayBuffer(0), lengths, level: this.level, digest };
    if (p.options.some((o) => o.store)) task.store = p.options.map((o) => o.store === true);
    if (p.options.some((o) => o.seal)) task.seal = p.options.map((o) => o.seal ?? null);
    const transferList: ArrayBuffer[] = [];
    let staged: Staged | null = null;
    if (only && only.byteOffset === 0 && only.buffer instanceof ArrayBuffer && only.buffer.byteLength === only.byteLength) {
      // A chunk that owns its whole buffer moves to the worker without a copy.
      task.data = only.buffer;
      transferList.push(only.buffer);
    } else {
      staged = this.stage(p);
      task.frames = staged.frames;
    }
    this.pool.run(task, { transferList }).finally(() => (staged ? staged.release() : releaseAll(p.holds))).then(
      (r: CompressResult) => {
        const all = Buffer.from(r.data);
        let off = 0;
        r.lengths.forEach((len, i) => {
          const d = r.digests[i];
          const rd = r.recordDigests?.[i];
          p.waiters[i].resolve({ data: all.subarray(off, off + len), compressed: r.compressed[i], digest: d ? Buffer.from(d.buffer, d.byteOffset, d.byteLength) : null, recordDigest: rd ? Buffer.from(rd.buffer, rd.byteOffset, rd.byteLength) : null });
          off += len;
        });
      },
      (err: unknown) => p.waiters.forEach((w) => w.reject(err)),
    );
  }

  /**
   * Lays a batch out for a worker with no fresh memory: chunks in shared memory are read in place (their
   * slabs are held since queue()), the others are copied into one reused input slab.
   * Fresh memory is what this avoids: first touching it costs ≈ 2.5 ms per MiB of page faults on the
   * development VM (docs/benchmarks.md), more than the copy into a warm slab (≈ 0.04 ms per MiB).
   */
  private stage(p: Pending): Staged {
    const { chunks, holds } = p;
    let copyBytes = 0;
    for (const c of chunks) if (!(c.buffer instanceof SharedArrayBuffer)) copyBytes += c.byteLength;
    const input = copyBytes ? this.inputs.acquire(copyBytes) : null;
    if (input) holds.push(input);
    let o = 0;
    const frames = chunks.map((c) => {
      if (c.buffer instanceof SharedArrayBuffer) return c;
      const v = new Uint8Array(input!.sab, o, c.byteLength);
      v.set(c);
      o += c.byteLength;
      return v;
    });
    return { frames, release: () => releaseAll(holds) };
  }

  /** Decompresses a batch straight into a slab; each good piece holds the slab until released. */
  private sendIntoSlab(task: CompressTask, sizes: number[], p: Pending): void {
    const total = sizes.reduce((a, b) => a + b, 0);
    const slab = this.slabs.acquire(total);
    const staged = this.stage(p);
    task.frames = staged.frames;
    task.out = slab.sab;
    task.sizes = sizes;
    this.pool.run(task).finally(() => staged.release()).then(
      (r: CompressResult) => {
        let off = 0;
        sizes.forEach((size, i) => {
          const d = r.digests[i];
          const ok = r.compressed[i];
          let release: (() => void) | undefined;
          if (ok) {
            slab.hold();
            let done = false;
            release = () => {
              if (!done) slab.release();
              done = true;
            };
          }
          p.waiters[i].resolve({ data: ok ? Buffer.from(slab.sab, off, size) : Buffer.alloc(0), compressed: ok, digest: d ? Buffer.from(d.buffer, d.byteOffset, d.byteLength) : null, release });
          off += size;
        });
        slab.release();
      },
      (err: unknown) => {
        slab.release();
        p.waiters.forEach((w) => w.reject(err));
      },
    );
  }

  async close(): Promise<void> {
    this.flush();
    await this.pool.destroy();
  }
}

function releaseAll(slabs: Slab[]): void {
  for (const s of slabs) s.release();
  slabs.length = 0;
}

/** A frame's content size from its header, or null when unknown, unreadable or implausibly big. */
export function contentSize(frame: Uint8Array): number | null {
  let n: number | null;
  try {
    n = binding.getFrameContentSize(frame);
  } catch {
    return null;
  }
  return n === null || !Number.isSafeInteger(n) || n < 0 || n > MAX_PIECE_BYTES ? null : n;
}
