/**
 * native/batch-degraded.ts — scanDirectory, readFiles and writeFiles over node:fs only,
 * for when the addon is missing: one libuv round trip per syscall with
 * bounded concurrency, the same results as the native calls (tested side by
 * side in batch-services.test.ts).
 */
import { constants as fsc, promises as fsp, type BigIntStats } from 'node:fs';
import {
  asBytes,
  checkBatch,
  checkWriteBatch,
  exactData,
  withDirPath,
  type EntryStat,
  type ReadFileRequest,
  type ReadFileResult,
  type ReadFilesOptions,
  type ScannedEntry,
  type ScanOptions,
  type WriteFileRequest,
  type WriteFileResult,
} from './batch-services.js';

/** In-flight fs calls of one degraded scan/read batch. */
const DEGRADED_CONCURRENCY = 32;

function fromBigIntStats(st: BigIntStats): EntryStat {
  return {
    mode: Number(st.mode),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: Number(st.size),
    mtimeNs: st.mtimeNs,
    atimeNs: st.atimeNs,
    ctimeNs: st.ctimeNs,
    dev: BigInt.asUintN(64, st.dev),
    ino: BigInt.asUintN(64, st.ino),
    nlink: Number(st.nlink),
    rdev: Number(st.rdev),
    blocks: Number(st.blocks),
  };
}

/** Runs fn over items with at most `limit` in flight; results in input order. */
/** Runs `fn` over `items` with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

function errnoOf(err: unknown): { errno: string; syscall: string } {
  const e = err as { code?: unknown; syscall?: unknown };
  if (typeof e?.code !== 'string' || typeof e.syscall !== 'string') throw err;
  return { errno: e.code, syscall: e.syscall };
}

/** Node has no xattr calls: ScanOptions.xattrs is ignored here (available.xattrs is false). */
export async function degradedScanDirectory(dir: string | Uint8Array, _opts?: ScanOptions): Promise<ScannedEntry[]> {
  const base = asBytes(dir);
  const names = await withDirPath(dir, fsp.readdir(base, { encoding: 'buffer' }));
  names.sort(Buffer.compare);
  const prefix = base[base.length - 1] === 0x2f ? base : Buffer.concat([base, Buffer.from('/')]);
  return mapLimit(names, DEGRADED_CONCURRENCY, async (name): Promise<ScannedEntry> => {
    try {
      return { name, stat: fromBigIntStats(await fsp.lstat(Buffer.concat([prefix, name]), { bigint: true })) };
    } catch (err) {
      return { name, stat: null, errno: errnoOf(err).errno };
    }
  });
}

const READ_FLAGS = fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK; // libuv adds O_CLOEXEC

async function degradedReadOne(file: ReadFileRequest): Promise<ReadFileResult> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(asBytes(file.path), READ_FLAGS);
  } catch (err) {
    return errnoOf(err);
  }
  let result: ReadFileResult;
  try {
    // Same shape as the native read: `size` bytes into an exact buffer, then a one-byte probe.
    const target = Buffer.allocUnsafeSlow(file.size);
    let length = 0;
    while (length < file.size) {
      const { bytesRead } = await fh.read(target, length, file.size - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    const probe = Buffer.alloc(1);
    if (length === file.size && (await fh.read(probe, 0, 1, null)).bytesRead === 1) length++;
    const data = exactData(target, length, probe[0]);
    result = { data, stat: fromBigIntStats(await fh.stat({ bigint: true })) };
  } catch (err) {
    result = errnoOf(err);
  }
  try {
    await fh.close();
  } catch (err) {
    if (result.errno === undefined) result = errnoOf(err);
  }
  return result;
}

export async function degradedReadFiles(files: readonly ReadFileRequest[], opts?: ReadFilesOptions): Promise<ReadFileResult[]> {
  checkBatch(files, opts);
  return mapLimit(files, DEGRADED_CONCURRENCY, degradedReadOne);
}

const WRITE_FLAGS = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW; // libuv adds O_CLOEXEC
/** node:fs names for the native calls' syscalls. */
const SYSCALL_NAMES: Readonly<Record<string, string>> = { futime: 'futimens', utime: 'futimens' };

/** Seconds as a double, as FileHandle.utimes takes them (about a microsecond of precision). */
function seconds(ns: bigint): number {
  const sec = ns / 1_000_000_000n - (ns % 1_000_000_000n < 0n ? 1n : 0n);
  return Number(sec) + Number(ns - sec * 1_000_000_000n) / 1e9;
}

function writeFailure(err: unknown): WriteFileResult {
  const { errno, syscall } = errnoOf(err);
  return { errno, syscall: SYSCALL_NAMES[syscall] ?? syscall };
}

async function degradedWriteOne(file: WriteFileRequest): Promise<WriteFileResult> {
  const temp = asBytes(file.temp);
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(temp, WRITE_FLAGS, 0o600);
  } catch (err) {
    return writeFailure(err);
  }
  let result: WriteFileResult = { ok: true };
  try {
    let at = 0;
    while (at < file.data.length) at += (await fh.write(file.data, at, file.data.length - at, null)).bytesWritten;
    if (file.chown) await fh.chown(file.uid, file.gid);
    await fh.chmod(file.mode & 0o7777);
    await fh.utimes(seconds(file.atimeNs), seconds(file.mtimeNs));
  } catch (err) {
    result = writeFailure(err);
  }
  try {
    await fh.close();
  } catch (err) {
    if (result.ok) result = writeFailure(err);
  }
  if (result.ok) {
    try {
      await fsp.rename(temp, asBytes(file.final));
    } catch (err) {
      result = writeFailure(err);
    }
  }
  if (!result.ok) await fsp.unlink(temp).catch(() => undefined);
  return result;
}

export async function degradedWriteFiles(files: readonly WriteFileRequest[]): Promise<WriteFileResult[]> {
  checkWriteBatch(files);
  return mapLimit(files, DEGRADED_CONCURRENCY, degradedWriteOne);
}
