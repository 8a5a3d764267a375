/**
 * Reading file data for backup. Small files are read whole, ahead of time
 * (one fresh buffer each); large and sparse files are opened ahead (so a file
 * that vanished or cannot be opened is skipped before it is reported) and
 * streamed in chunks of at most 1 MiB, each read into a buffer the host
 * hands out again once done with it (AgentContext.chunkBuffer, API 1.2;
 * a fresh buffer on older hosts and for sparse files, whose chunks are cut
 * into pieces).
 * A file whose size, mtime, ctime or inode differ after the read from the
 * walk's lstat "changed while being read".
 */
import fs from 'node:fs';
import type { DataChunk, EntryStat, PlatformFileServices } from '../../plugin-api/index.js';
import { close, errnoCode, fstat, open, read, toEntryStat } from './fs-calls.js';

/** Files below this are read whole by the read-ahead window. */
export const SMALL_FILE_LIMIT = 256 * 1024;
/** Largest chunk readData yields (the host's record payload limit is larger). */
export const CHUNK_SIZE = 1024 * 1024;

/** O_NOFOLLOW: a path swapped for a symlink after the walk is not followed. O_NONBLOCK: a path swapped for a fifo does not hang open(). */
const READ_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;

export interface Skip {
  readonly skip: true;
  readonly code: string;
  readonly text: string;
}

export function skipFor(err: unknown, what: string): Skip {
  const errno = errnoCode(err);
  if (errno === 'ENOENT') return { skip: true, code: 'CAIRN_E_FS_VANISHED', text: `file vanished before it could be ${what}` };
  if (errno === 'ELOOP') return { skip: true, code: 'CAIRN_E_FS_FILE_CHANGED', text: `file was replaced by a symlink before it could be ${what}` };
  return { skip: true, code: 'CAIRN_E_FS_UNREADABLE', text: `file could not be ${what} (${errno ?? String(err)})` };
}

export function sameFile(a: EntryStat, b: EntryStat): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

export const CHANGED: Skip = { skip: true, code: 'CAIRN_E_FS_FILE_CHANGED', text: 'file changed while it was being read; skipped (it will be picked up by the next backup)' };

/** Opens a file for reading (never through a symlink, never blocking on a fifo), or the Skip that says why not. */
async function openForRead(path: Buffer): Promise<number | Skip> {
  try {
    return await open(path, READ_FLAGS);
  } catch (err) {
    return skipFor(err, 'opened');
  }
}

/** Reads a small file whole into a fresh buffer, checking it did not change meanwhile. */
export async function readSmall(path: Buffer, st: EntryStat): Promise<{ data: Buffer } | Skip> {
  const size = st.size;
  const fd = await openForRead(path);
  if (typeof fd !== 'number') return fd;
  try {
    // One byte more than expected: reading it means the file grew.
    const buf = Buffer.allocUnsafeSlow(size + 1);
    let got = 0;
    for (;;) {
      const n = await read(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
      if (got === buf.length) break;
    }
    const after = await fstat(fd);
    if (got !== size || !sameFile(st, after)) return CHANGED;
    return { data: buf.subarray(0, size) };
  } catch (err) {
    return skipFor(err, 'read');
  } finally {
    await close(fd);
  }
}

/** readSmall with synchronous calls (the fast path on local disks; see tree-walker's syncIo). */
export function readSmallSync(path: Buffer, st: EntryStat): { data: Buffer } | Skip {
  const size = st.size;
  let fd: number;
  try {
    fd = fs.openSync(path, READ_FLAGS);
  } catch (err) {
    return skipFor(err, 'opened');
  }
  try {
    // Exactly `size` bytes in a buffer of its own (the host may transfer it to a worker); growth shows in fstat.
    const buf = Buffer.allocUnsafeSlow(size);
    let got = 0;
    while (got < size) {
      const n = fs.readSync(fd, buf, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    const after = toEntryStat(fs.fstatSync(fd, { bigint: true }));
    if (got !== size || !sameFile(st, after)) return CHANGED;
    return { data: buf };
  } catch (err) {
    return skipFor(err, 'read');
  } finally {
    fs.closeSync(fd);
  }
}

/** Opens a large or sparse file for later streaming; checks it is still the file the walk saw. */
export async function openLarge(path: Buffer, st: EntryStat): Promise<{ fd: number } | Skip> {
  const fd = await openForRead(path);
  if (typeof fd !== 'number') return fd;
  try {
    const now = await fstat(fd);
    if (!sameFile(st, now)) {
      await close(fd);
      return CHANGED;
    }
    return { fd };
  } catch (err) {
    await close(fd);
    return skipFor(err, 'examined');
  }
}

/** Zero-run detection granularity: a filesystem block. */
const ZERO_BLOCK = 4096;
const ZEROS = Buffer.alloc(ZERO_BLOCK);

/**
 * Splits a chunk of a sparse file into its runs of non-zero blocks, so zeros
 * inside a data region (or everything, when the platform cannot report
 * regions) are stored as holes too. Each piece is a buffer of its own.
 */
export function nonZeroRuns(data: Buffer, offset: number): Array<{ offset: number; data: Buffer }> {
  const out: Array<{ offset: number; data: Buffer }> = [];
  let start = -1;
  for (let pos = 0; pos < data.length; pos += ZERO_BLOCK) {
    const end = Math.min(pos + ZERO_BLOCK, data.length);
    const zero = data.compare(ZEROS, 0, end - pos, pos, end) === 0;
    if (!zero && start < 0) start = pos;
    if (zero && start >= 0) {
      out.push({ offset: offset + start, data: data.subarray(start, pos) });
      start = -1;
    }
  }
  if (start >= 0) out.push({ offset: offset + start, data: data.subarray(start) });
  if (out.length === 1 && out[0].data.length === data.length) return [{ offset, data }];
  return out.map((p) => ({ offset: p.offset, data: Buffer.from(p.data) }));
}

export interface StreamReport {
  /** Called once when the read fails or the file changed under it. */
  problem(code: string, text: string): void;
  bytes(n: number): void;
}

/**
 * Chunks read ahead of the consumer for one large file: while the host hashes
 * and hands off chunk n, chunks n+1… are already being read on the thread
 * pool (measured: with one read in flight, reading and hashing took turns and
 * the backup of 1 GiB of large files sat idle ~2 s). 4 × 1 MiB bounds memory.
 */
export const READ_AHEAD_CHUNKS = 4;

/** Where a chunk's memory comes from: the host's chunkBuffer, or a fresh buffer. */
export type ChunkAlloc = (size: number) => Buffer;

const freshChunk: ChunkAlloc = (size) => Buffer.allocUnsafeSlow(size);

async function readChunk(fd: number, pos: number, want: number, alloc: ChunkAlloc): Promise<Buffer> {
  const buf = alloc(want);
  let got = 0;
  while (got < want) {
    const n = await read(fd, buf, got, want - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got === want ? buf : buf.subarray(0, got);
}

/** Reads [offset, offset+length) of fd in chunks of at most CHUNK_SIZE from `alloc`, a few reads ahead. */
async function* readRange(fd: number, offset: number, length: number, signal: AbortSignal, alloc: ChunkAlloc): AsyncGenerator<Buffer> {
  const end = offset + length;
  let next = offset;
  const inFlight: Array<{ want: number; chunk: Promise<Buffer> }> = [];
  const fill = () => {
    while (inFlight.length < READ_AHEAD_CHUNKS && next < end) {
      const want = Math.min(CHUNK_SIZE, end - next);
      const chunk = readChunk(fd, next, want, alloc);
      chunk.catch(() => undefined); // awaited in order below; an early stop must not leave it unhandled
      inFlight.push({ want, chunk });
      next += want;
    }
  };
  try {
    fill();
    while (inFlight.length > 0) {
      if (signal.aborted) return;
      const { want, chunk } = inFlight.shift()!;
      const buf = await chunk;
      const got = buf.length; // read before yielding: the host may transfer (detach) or reuse the buffer
      if (got === 0) return;
      fill();
      yield buf;
      if (got < want) return; // shorter than it was: the final check reports it
    }
  } finally {
    // Let reads still in flight finish before the caller closes the fd.
    await Promise.allSettled(inFlight.map((r) => r.chunk));
  }
}

/**
 * Streams an opened file (sequential or sparse) and closes it. Read errors
 * end the stream early with a warning rather than failing the job; a change
 * seen at the end is reported the same way (the data already went out).
 */
export async function* streamFile(
  fd: number,
  st: EntryStat,
  sparse: boolean,
  platform: PlatformFileServices,
  signal: AbortSignal,
  report: StreamReport,
  alloc: ChunkAlloc = freshChunk,
): AsyncGenerator<DataChunk> {
  const size = st.size;
  try {
    if (sparse) {
      const regions = await platform.dataRegions(fd, size);
      for (const [offset, length] of regions) {
        let at = offset;
        // Fresh buffers: nonZeroRuns may yield several pieces of one chunk (chunkBuffer memory is yielded whole).
        for await (const data of readRange(fd, offset, Math.min(length, size - offset), signal, freshChunk)) {
          report.bytes(data.length);
          for (const piece of nonZeroRuns(data, at)) yield piece;
          at += data.length;
        }
      }
    } else {
      for await (const data of readRange(fd, 0, size, signal, alloc)) {
        const n = data.length; // before yielding: afterwards the buffer is the host's
        report.bytes(n);
        yield data;
      }
    }
    if (signal.aborted) return;
    const after = await fstat(fd);
    if (!sameFile(st, after)) report.problem('CAIRN_E_FS_FILE_CHANGED', 'file changed while it was being read; the stored copy may be inconsistent');
  } catch (err) {
    report.problem('CAIRN_E_FS_UNREADABLE', `reading stopped early (${errnoCode(err) ?? String(err)}); the stored copy is incomplete`);
  } finally {
    await close(fd);
  }
}
