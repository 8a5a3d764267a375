/**
 * native/batch-services.ts — scanDirectory and readFiles, the batched file
 * services (contract: plugin-api/platform.ts), over the addon: one
 * thread-pool job per call (src/batch-services.cc), results shaped here from
 * its stat columns. Also the argument checks the degraded twin
 * (batch-degraded.ts) shares. Types restate plugin-api's (native/ may not
 * import it); native/file-services.test.ts pins them together.
 */

/** lstat/fstat facts: plugin-api's EntryStat. */
export interface EntryStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeNs: bigint;
  atimeNs: bigint;
  ctimeNs: bigint;
  dev: bigint;
  ino: bigint;
  nlink: number;
  rdev: number;
  blocks: number;
}

export interface ScannedEntry {
  readonly name: Buffer;
  readonly stat: EntryStat | null;
  readonly errno?: string;
}

export interface ReadFileRequest {
  readonly path: string | Uint8Array;
  readonly size: number;
}

export type ReadFileResult =
  | { readonly data: Buffer; readonly stat: EntryStat; readonly errno?: undefined; readonly syscall?: undefined }
  | { readonly errno: string; readonly syscall: string; readonly data?: undefined; readonly stat?: undefined };

export interface ReadFilesOptions {
  readonly maxBytes?: number;
}

/** Default cap on the sum of sizes of one readFiles batch. */
export const DEFAULT_READ_BATCH_BYTES = 64 * 1024 * 1024;

/** Column layout shared with src/batch-services.cc. */
interface StatColumnsRaw {
  readonly nums: Float64Array; // mode uid gid size nlink rdev blocks
  readonly times: BigInt64Array; // atimeNs mtimeNs ctimeNs
  readonly ids: BigUint64Array; // dev ino
  readonly failures: Array<[number, string, string]>;
}

/** The raw surface of src/batch-services.cc. */
export interface RawBatchBinding {
  scanDirectory(dir: Uint8Array): Promise<StatColumnsRaw & { names: Buffer[] }>;
  /** Reads into `buffers` (one per file, exactly size bytes) in place. */
  readFiles(paths: Uint8Array, count: number, sizes: Float64Array, buffers: Buffer[]): Promise<StatColumnsRaw & { lengths: Float64Array; extra: Uint8Array }>;
}

function statAt(c: StatColumnsRaw, i: number): EntryStat {
  const n = i * 7;
  const t = i * 3;
  const d = i * 2;
  return {
    mode: c.nums[n],
    uid: c.nums[n + 1],
    gid: c.nums[n + 2],
    size: c.nums[n + 3],
    mtimeNs: c.times[t + 1],
    atimeNs: c.times[t],
    ctimeNs: c.times[t + 2],
    dev: c.ids[d],
    ino: c.ids[d + 1],
    nlink: c.nums[n + 4],
    rdev: c.nums[n + 5],
    blocks: c.nums[n + 6],
  };
}

export function asBytes(path: string | Uint8Array): Buffer {
  if (typeof path === 'string') return Buffer.from(path, 'utf8');
  return Buffer.isBuffer(path) ? path : Buffer.from(path.buffer, path.byteOffset, path.byteLength);
}

function hasNul(path: string | Uint8Array): boolean {
  return typeof path === 'string' ? path.includes('\0') : path.includes(0);
}

/** Checks sizes, NULs and the byte cap before anything is read; returns the total. */
export function checkBatch(files: readonly ReadFileRequest[], opts: ReadFilesOptions | undefined): number {
  const maxBytes = opts?.maxBytes ?? DEFAULT_READ_BATCH_BYTES;
  let total = 0;
  for (const f of files) {
    if (!Number.isSafeInteger(f.size) || f.size < 0) throw new TypeError(`readFiles: size must be a non-negative integer (got ${String(f.size)})`);
    if (hasNul(f.path) || f.path.length === 0) throw new TypeError('readFiles: a path must be non-empty and must not contain NUL bytes');
    total += f.size;
  }
  if (total > maxBytes) {
    throw new RangeError(`readFiles: the batch holds ${total} bytes, more than maxBytes ${maxBytes}; split it into smaller groups`);
  }
  return total;
}

/** Every path, NUL-terminated, in one buffer (one argument crossing into C++). */
function packPaths(files: readonly ReadFileRequest[]): Buffer {
  let bytes = 0;
  for (const f of files) bytes += (typeof f.path === 'string' ? Buffer.byteLength(f.path, 'utf8') : f.path.length) + 1;
  const packed = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const f of files) {
    if (typeof f.path === 'string') at += packed.write(f.path, at, 'utf8');
    else {
      packed.set(f.path, at);
      at += f.path.length;
    }
    packed[at++] = 0;
  }
  return packed;
}

export function withDirPath<T>(dir: string | Uint8Array, call: Promise<T>): Promise<T> {
  return call.catch((err: unknown) => {
    if (err instanceof Error && typeof (err as { syscall?: unknown }).syscall === 'string') {
      const e = err as Error & { path: unknown; syscall: string; errno?: number };
      e.path = dir;
      if (typeof e.errno === 'number') e.errno = Math.abs(e.errno); // positive, as the addon reports it
      if (e.syscall === 'scandir') e.syscall = 'opendir'; // node:fs's name for the same failure
    }
    throw err;
  });
}

export async function nativeScanDirectory(binding: RawBatchBinding, dir: string | Uint8Array): Promise<ScannedEntry[]> {
  const raw = await withDirPath(dir, binding.scanDirectory(asBytes(dir)));
  const out: ScannedEntry[] = new Array<ScannedEntry>(raw.names.length);
  for (let i = 0; i < raw.names.length; i++) out[i] = { name: raw.names[i], stat: statAt(raw, i) };
  for (const [i, errno] of raw.failures) out[i] = { name: raw.names[i], stat: null, errno };
  return out;
}

/**
 * The bytes of one file as exactly `length` bytes in a buffer of its own:
 * the full target as is (the usual case), else a copy (shrunk, or grown by
 * the probe byte `extra`).
 */
export function exactData(target: Buffer, length: number, extra: number): Buffer {
  if (length === target.length) return target;
  const out = Buffer.allocUnsafeSlow(length);
  target.copy(out, 0, 0, Math.min(length, target.length));
  if (length > target.length) out[target.length] = extra;
  return out;
}

export async function nativeReadFiles(binding: RawBatchBinding, files: readonly ReadFileRequest[], opts?: ReadFilesOptions): Promise<ReadFileResult[]> {
  const total = checkBatch(files, opts);
  if (files.length === 0) return [];
  const sizes = new Float64Array(files.length);
  // One slab per call, a view per file: 100,000 small files as 100,000 ArrayBuffers cost more in GC
  // (measured: ~2.5 s of a 15 s backup) than reading them. Views share the slab, so a consumer must
  // copy rather than transfer them (the host copies any chunk that does not span its whole buffer).
  const slab = Buffer.allocUnsafeSlow(Math.max(1, total));
  const targets = new Array<Buffer>(files.length);
  let at = 0;
  for (let i = 0; i < files.length; i++) {
    sizes[i] = files[i].size;
    targets[i] = slab.subarray(at, at + files[i].size);
    at += files[i].size;
  }
  const raw = await binding.readFiles(packPaths(files), files.length, sizes, targets);
  const out: ReadFileResult[] = new Array<ReadFileResult>(files.length);
  for (let i = 0; i < files.length; i++) {
    const length = raw.lengths[i];
    if (length >= 0) out[i] = { data: exactData(targets[i], length, raw.extra[i]), stat: statAt(raw, i) };
  }
  for (const [i, errno, syscall] of raw.failures) out[i] = { errno, syscall };
  return out;
}
