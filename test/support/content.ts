/**
 * Deterministic file content for tests and benchmarks.
 *
 * Owns: the byte stream a (seed, offset) pair stands for. Content is defined
 * per 4 KiB block, so any byte range can be produced without producing what
 * precedes it, in chunks of any size, with identical results. Each block is
 * either PRNG noise (incompressible) or runs copied from a fixed text pool at
 * PRNG-chosen offsets (very compressible but not block-identical, so a
 * deduplicating chunker does not collapse it). With RANDOM_PERCENT = 30,
 * `zstd -1` compresses the stream about 2.5×.
 *
 * Does not promise: identical bytes on big-endian hosts (noise is written
 * through a native-endian Int32Array for speed).
 */
import { closeSync, openSync, writeSync } from 'node:fs';

/** Content is defined per block of this many bytes (a page: cheap to align). */
export const CONTENT_BLOCK = 4096;
/** Share of blocks that are noise; the rest are text runs. Tuned for ~2.5× with zstd -1. */
const RANDOM_PERCENT = 30;
/** Text pool size: small enough to build in ~1 ms, big enough that runs rarely align. */
const POOL_SIZE = 64 * 1024;
/** Write buffer for large files: big enough for few syscalls, small enough to never matter. */
const WRITE_CHUNK = 8 * 1024 * 1024;

const WORDS = (
  'backup restore volume catalog job client storage director daemon pool media label block ' +
  'record session file daemon incremental differential full verify prune purge retention ' +
  'schedule fileset include exclude sparse hardlink symlink owner group mode mtime ctime ' +
  'inode device tape drive slot changer mount spool attribute digest checksum compress ' +
  'the of and to in is that for it as with was on be at by this from or have an are not'
).split(' ');

let pool: Buffer | undefined;

/** The fixed text pool: log-like lines of words and numbers, same on every run. */
function textPool(): Buffer {
  if (pool) return pool;
  const buf = Buffer.alloc(POOL_SIZE);
  let x = 0x2545f491;
  let pos = 0;
  let line = 0;
  while (pos < POOL_SIZE) {
    let text = `${String(line++).padStart(6, '0')} `;
    const n = 4 + (x >>> 28);
    for (let i = 0; i < n; i++) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      text += WORDS[(x >>> 0) % WORDS.length] + (i % 3 === 2 ? `=${(x >>> 20) & 1023} ` : ' ');
    }
    pos += buf.write(text.trimEnd() + '\n', pos, 'latin1');
  }
  pool = buf;
  return buf;
}

/** murmur3 finaliser: a cheap, well-mixed 32-bit hash step. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit hash of (seed, index); both may exceed 32 bits (up to 2^53). */
export function mixSeed(seed: number, index: number): number {
  let h = fmix32((seed >>> 0) ^ 0x9e3779b9);
  h = fmix32(h ^ (Math.floor(seed / 0x100000000) >>> 0));
  h = fmix32(h ^ (index >>> 0));
  h = fmix32(h ^ (Math.floor(index / 0x100000000) >>> 0) ^ 0x7f4a7c15);
  return h === 0 ? 0x6d2b79f5 : h;
}

/** Writes block number `block` of stream `seed` (CONTENT_BLOCK bytes) at dest[at]. */
function fillBlock(seed: number, block: number, dest: Buffer, at: number): void {
  let x = mixSeed(seed, block);
  if (x % 100 < RANDOM_PERCENT) {
    const start = dest.byteOffset + at;
    if (start % 4 === 0) {
      const words = new Int32Array(dest.buffer, start, CONTENT_BLOCK / 4);
      for (let i = 0; i < words.length; i++) {
        x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
        words[i] = x;
      }
    } else {
      for (let i = 0; i < CONTENT_BLOCK; i += 4) {
        x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
        dest.writeInt32LE(x | 0, at + i);
      }
    }
    return;
  }
  const text = textPool();
  let pos = 0;
  while (pos < CONTENT_BLOCK) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    const len = Math.min(32 + ((x >>> 0) % 481), CONTENT_BLOCK - pos);
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    const off = (x >>> 0) % (POOL_SIZE - len);
    text.copy(dest, at + pos, off, off + len);
    pos += len;
  }
}

/** Fills `dest` with the bytes of stream `seed` starting at byte `offset`. */
export function fillContent(seed: number, offset: number, dest: Buffer): Buffer {
  let scratch: Buffer | undefined;
  let pos = 0;
  while (pos < dest.length) {
    const abs = offset + pos;
    const block = Math.floor(abs / CONTENT_BLOCK);
    const within = abs % CONTENT_BLOCK;
    const n = Math.min(CONTENT_BLOCK - within, dest.length - pos);
    if (within === 0 && n === CONTENT_BLOCK) {
      fillBlock(seed, block, dest, pos);
    } else {
      scratch ??= Buffer.allocUnsafeSlow(CONTENT_BLOCK);
      fillBlock(seed, block, scratch, 0);
      scratch.copy(dest, pos, within, within + n);
    }
    pos += n;
  }
  return dest;
}

/** The `length` bytes of stream `seed` at `offset`, as a new buffer. Keep it small. */
export function contentBytes(seed: number, offset: number, length: number): Buffer {
  return fillContent(seed, offset, Buffer.allocUnsafeSlow(length));
}

/**
 * Writes bytes [offset, offset+length) of stream `seed` to `fd` at the same
 * file position, in chunks (never the whole range in memory). `chunk` is an
 * optional reusable buffer.
 */
export function writeContentRange(fd: number, seed: number, offset: number, length: number, chunk?: Buffer): void {
  const buf = chunk ?? Buffer.allocUnsafeSlow(Math.min(WRITE_CHUNK, Math.max(length, 1)));
  let done = 0;
  while (done < length) {
    const n = Math.min(buf.length, length - done);
    const part = n === buf.length ? buf : buf.subarray(0, n);
    fillContent(seed, offset + done, part);
    let written = 0;
    while (written < n) written += writeSync(fd, part, written, n - written, offset + done + written);
    done += n;
  }
}

/** Creates (or truncates) `path` holding the first `size` bytes of stream `seed`. */
export function writeContentFile(path: string | Buffer, seed: number, size: number, chunk?: Buffer): void {
  const fd = openSync(path, 'w');
  try {
    writeContentRange(fd, seed, 0, size, chunk);
  } finally {
    closeSync(fd);
  }
}
