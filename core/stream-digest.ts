/**
 * The SHA-256 of one stream, computed where it is cheapest. A stream that
 * is one chunk (most small files) is hashed on the compression worker, in
 * parallel, instead of on the main thread; as soon as a second chunk comes,
 * the main thread takes over and hashes from the first byte (the first
 * chunk is kept for that: it is copied to the worker, never transferred).
 * Sparse streams hash each chunk's offset and length too, on the main thread.
 * Restore and verify use the same rule when checking (core/stream-decoder.ts).
 * The digest is the plain SHA-256 of the stream either way (volume-format.md §Digests).
 */
import { createHash, type Hash } from 'node:crypto';
import { Buffer } from 'node:buffer';

const EMPTY_SHA256 = createHash('sha256').digest();

export class StreamDigest {
  private hash: Hash | null = null;
  private first: Uint8Array | null = null;
  private worker: Promise<Buffer | null> | null = null;
  private workerDone: Buffer | null = null;
  private chunks = 0;

  /**
   * Accounts one chunk. Returns true when the worker should hash it (the
   * caller then hands the worker's result to fromWorker()).
   */
  add(data: Uint8Array, sparseHead: Buffer | null, workerAvailable: boolean): boolean {
    this.chunks++;
    if (this.chunks === 1 && workerAvailable && sparseHead === null) {
      this.first = data;
      return true;
    }
    if (!this.hash) {
      this.hash = createHash('sha256');
      if (this.first) this.hash.update(this.first);
      this.first = null;
      this.worker = null;
      this.workerDone = null;
    }
    if (sparseHead) this.hash.update(sparseHead);
    this.hash.update(data);
    return false;
  }

  fromWorker(digest: Promise<Buffer | null> | Buffer): void {
    if (this.hash) return;
    if (digest instanceof Promise) this.worker = digest;
    else this.workerDone = digest;
  }

  /** The stream's digest, or a promise of it when a worker is still computing it. */
  finish(): Buffer | Promise<Buffer> {
    this.first = null;
    if (this.hash) return this.hash.digest();
    if (this.workerDone) return this.workerDone;
    if (this.worker) return this.worker.then((d) => d ?? EMPTY_SHA256);
    return EMPTY_SHA256;
  }
}

/** DIGEST_SHA256 payload: the 32-byte digest then the stream's logical length (u64 BE). */
export function digestPayload(digest: Buffer, length: number): Buffer {
  const b = Buffer.allocUnsafe(40);
  digest.copy(b, 0, 0, 32);
  b.writeBigUInt64BE(BigInt(length), 32);
  return b;
}
