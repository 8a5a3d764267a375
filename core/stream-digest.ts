/**
 * The SHA-256 of one stream, computed where it is cheapest. A stream that
 * is one chunk (most small files) is hashed on the compression worker, in
 * parallel, instead of on the main thread; as soon as a second chunk comes,
 * the stream moves to the hash thread (core/hash-thread.ts), which hashes
 * from the first byte (the first chunk is kept for that: it is copied to
 * the zstd worker, never transferred, and its slab, if any, is held). A
 * first chunk of a large stream with no worker to hash it goes to the hash
 * thread at once; a small one is hashed on the main thread.
 * Sparse streams hash each chunk's offset and length too, on the main thread.
 * Restore and verify use the same rule when checking (core/stream-decoder.ts).
 * The digest is the plain SHA-256 of the stream either way (volume-format.md §Digests).
 */
import { createHash, type Hash } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { hashThread, type HashStream } from './hash-thread.js';
import { slabOf, type Slab } from './slab-ring.js';

const EMPTY_SHA256 = createHash('sha256').digest();

/** A first chunk at least this big, with no worker to hash it, goes to the hash thread rather than the main thread. */
export const HASH_THREAD_MIN_BYTES = 256 << 10;
/** Producers wait (pressure()) while more than this many bytes are queued for the hash thread. */
export const HASH_BACKLOG_BYTES = 4 << 20;

export class StreamDigest {
  private hash: Hash | null = null;
  private thread: HashStream | null = null;
  private first: Uint8Array | null = null;
  private firstSlab: Slab | null = null;
  private worker: Promise<Buffer | null> | null = null;
  private workerDone: Buffer | null = null;
  private chunks = 0;

  /**
   * Accounts one chunk. Returns true when the worker should hash it (the
   * caller then hands the worker's result to fromWorker()). The chunk may be
   * reused by the caller once this returns: what is kept is held or copied.
   */
  add(data: Uint8Array, sparseHead: Buffer | null, workerAvailable: boolean): boolean {
    this.chunks++;
    if (this.chunks === 1 && workerAvailable && sparseHead === null) {
      this.first = data;
      this.firstSlab = slabOf(data)?.hold() ?? null;
      return true;
    }
    if (!this.hash && !this.thread) {
      if (sparseHead === null && (this.first || data.byteLength >= HASH_THREAD_MIN_BYTES)) {
        this.thread = hashThread().open();
        if (this.first) hashThread().update(this.thread, this.first);
      } else {
        this.hash = createHash('sha256');
        if (this.first) this.hash.update(this.first);
      }
      this.dropFirst();
      this.worker = null;
      this.workerDone = null;
    }
    if (this.thread) {
      if (sparseHead) hashThread().update(this.thread, sparseHead);
      hashThread().update(this.thread, data);
      return false;
    }
    if (sparseHead) this.hash!.update(sparseHead);
    this.hash!.update(data);
    return false;
  }

  /** Null, or a promise to await before the next chunk while the hash thread is far behind. */
  pressure(): Promise<void> | null {
    return this.thread ? hashThread().backlog(HASH_BACKLOG_BYTES) : null;
  }

  fromWorker(digest: Promise<Buffer | null> | Buffer): void {
    if (this.hash || this.thread) return;
    if (digest instanceof Promise) this.worker = digest;
    else this.workerDone = digest;
  }

  /** The stream's digest, or a promise of it when a worker or the hash thread is still computing it. */
  finish(): Buffer | Promise<Buffer> {
    this.dropFirst();
    if (this.thread) {
      const t = this.thread;
      this.thread = null;
      return hashThread().finish(t);
    }
    if (this.hash) return this.hash.digest();
    if (this.workerDone) return this.workerDone;
    if (this.worker) return this.worker.then((d) => d ?? EMPTY_SHA256);
    return EMPTY_SHA256;
  }

  /** Lets go of a stream that will not be finished (frees what it holds). */
  discard(): void {
    this.dropFirst();
    if (this.thread) hashThread().drop(this.thread);
    this.thread = null;
  }

  private dropFirst(): void {
    this.first = null;
    this.firstSlab?.release();
    this.firstSlab = null;
  }
}

/** DIGEST_SHA256 payload: the 32-byte digest then the stream's logical length (u64 BE). */
export function digestPayload(digest: Buffer, length: number): Buffer {
  const b = Buffer.allocUnsafe(40);
  digest.copy(b, 0, 0, 32);
  b.writeBigUInt64BE(BigInt(length), 32);
  return b;
}
