/**
 * native/file-services.ts — the two implementations of the platform file
 * services: one over the addon, one degraded over node:fs for when the addon
 * is missing. Both satisfy plugin-api's PlatformFileServices; native/ may not
 * import plugin-api, so FileServices below restates that interface and
 * native/file-services.test.ts pins the two together at compile time.
 */
import { promises as fsp } from 'node:fs';
import type { RawBinding } from './binding.js';
import { degradedReadFiles, degradedScanDirectory, degradedWriteFiles } from './batch-degraded.js';
import {
  nativeReadFiles,
  nativeScanDirectory,
  nativeWriteFiles,
  type ReadFileRequest,
  type ReadFileResult,
  type ReadFilesOptions,
  type ScannedEntry,
  type ScanOptions,
  type WriteFileRequest,
  type WriteFileResult,
} from './batch-services.js';
import { NativeError } from './errors.js';
import { degradedXattrServices, nativeXattrServices, type XattrServices } from './xattr-services.js';

/** Structurally identical to plugin-api's PlatformFileServices. */
export interface FileServices extends XattrServices {
  readonly available: {
    readonly utimensat: boolean;
    readonly mknod: boolean;
    readonly seekData: boolean;
    readonly fsyncDir: boolean;
    readonly batch: boolean;
    readonly xattrs: boolean;
  };
  setTimes(path: string | Uint8Array, atimeNs: bigint, mtimeNs: bigint, followSymlinks: boolean): Promise<void>;
  mkfifo(path: string | Uint8Array, mode: number): Promise<void>;
  mknod(path: string | Uint8Array, mode: number, rdev: number): Promise<void>;
  dataRegions(fd: number, size: number): Promise<Array<[number, number]>>;
  fsyncDir(path: string | Uint8Array): Promise<void>;
  scanDirectory(dir: string | Uint8Array, opts?: ScanOptions): Promise<ScannedEntry[]>;
  readFiles(files: readonly ReadFileRequest[], opts?: ReadFilesOptions): Promise<ReadFileResult[]>;
  writeFiles(files: readonly WriteFileRequest[]): Promise<WriteFileResult[]>;
}

const NS_PER_SEC = 1_000_000_000n;

/** A path as the bytes the kernel sees: strings are UTF-8, byte arrays pass untouched. */
export function pathBytes(path: string | Uint8Array): Buffer {
  if (typeof path === 'string') return Buffer.from(path, 'utf8');
  return Buffer.isBuffer(path) ? path : Buffer.from(path.buffer, path.byteOffset, path.byteLength);
}

/** Splits nanoseconds since the epoch into whole seconds and 0..999999999 ns (floored). */
export function splitNs(ns: bigint): [number, number] {
  let sec = ns / NS_PER_SEC;
  let rem = ns % NS_PER_SEC;
  if (rem < 0n) {
    sec -= 1n;
    rem += NS_PER_SEC;
  }
  return [Number(sec), Number(rem)];
}

/** Puts the caller's own path (string or bytes) on an errno error from the addon. */
async function withPath<T>(path: string | Uint8Array, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof Error && typeof (err as { syscall?: unknown }).syscall === 'string') {
      (err as Error & { path: unknown }).path = path;
    }
    throw err;
  }
}

/** The real services, over the loaded addon. */
export function nativeFileServices(binding: RawBinding): FileServices {
  return {
    available: { utimensat: true, mknod: true, seekData: binding.features.seekData, fsyncDir: true, batch: true, xattrs: binding.xattr.supported },
    ...nativeXattrServices(binding),
    async setTimes(path, atimeNs, mtimeNs, followSymlinks) {
      const [as, ans] = splitNs(atimeNs);
      const [ms, mns] = splitNs(mtimeNs);
      await withPath(path, binding.setTimes(pathBytes(path), as, ans, ms, mns, followSymlinks));
    },
    async mkfifo(path, mode) {
      await withPath(path, binding.mkfifo(pathBytes(path), mode));
    },
    async mknod(path, mode, rdev) {
      await withPath(path, binding.mknod(pathBytes(path), mode, rdev));
    },
    async dataRegions(fd, size) {
      return binding.dataRegions(fd, size);
    },
    async fsyncDir(path) {
      await withPath(path, binding.fsyncDir(pathBytes(path)));
    },
    scanDirectory(dir, opts) {
      return nativeScanDirectory(binding, dir, opts);
    },
    readFiles(files, opts) {
      return nativeReadFiles(binding, files, opts);
    },
    writeFiles(files) {
      return nativeWriteFiles(binding, files);
    },
  };
}

function unsupported(operation: string, path: string | Uint8Array, reason: string): NativeError {
  return new NativeError(
    'CAIRN_E_PLATFORM_UNSUPPORTED',
    `cannot ${operation} ${JSON.stringify(pathBytes(path).toString('utf8'))}: ${reason}; run \`npm run build:native\` to enable it`,
    { operation, path, reason },
  );
}

/**
 * The degraded services, over node:fs only: times to about a microsecond
 * (fs.utimes/lutimes take seconds as a double), no fifos or device nodes
 * (CAIRN_E_PLATFORM_UNSUPPORTED; mkfifo(1) is deliberately not shelled out
 * to, as argv cannot carry non-UTF-8 path bytes), one data region per file,
 * directory fsync as a no-op, scanDirectory/readFiles/writeFiles emulated with one
 * node:fs call per syscall (same results, slower), and no extended
 * attributes (CAIRN_E_PLATFORM_UNSUPPORTED; scans ignore ScanOptions.xattrs).
 */
export function degradedFileServices(reason: string): FileServices {
  return {
    available: { utimensat: false, mknod: false, seekData: false, fsyncDir: false, batch: false, xattrs: false },
    ...degradedXattrServices(reason),
    async setTimes(path, atimeNs, mtimeNs, followSymlinks) {
      const [as, ans] = splitNs(atimeNs);
      const [ms, mns] = splitNs(mtimeNs);
      const p = pathBytes(path);
      const atime = as + ans / 1e9;
      const mtime = ms + mns / 1e9;
      await withPath(path, followSymlinks ? fsp.utimes(p, atime, mtime) : fsp.lutimes(p, atime, mtime));
    },
    async mkfifo(path) {
      throw unsupported('mkfifo', path, reason);
    },
    async mknod(path) {
      throw unsupported('mknod', path, reason);
    },
    async dataRegions(_fd, size) {
      return size > 0 ? [[0, size]] : [];
    },
    async fsyncDir() {
      // no-op by contract (plugin-api/platform.ts)
    },
    scanDirectory: degradedScanDirectory,
    readFiles: degradedReadFiles,
    writeFiles: degradedWriteFiles,
  };
}
