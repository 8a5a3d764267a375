/**
 * Platform file services: what Node alone cannot do and the fs agent needs.
 * The host implements them with the native addon (native/) and offers them
 * through AgentContext.platform, so agents import only plugin-api.
 * Where the addon is missing, `available` says so and the degraded calls
 * fall back as documented per method (and the host warns loudly once).
 */
import type { FileStat, Xattr } from './types.js';

/**
 * Which extended attributes a read returns: `'all'` (every name the kernel
 * lists to this process), or a list in which an entry ending in `.` is a
 * namespace prefix (`'user.'`) and any other an exact name
 * (`'system.posix_acl_access'`).
 */
export type XattrSelection = 'all' | readonly string[];

/** Options of scanDirectory(). */
export interface ScanOptions {
  /**
   * Also read each entry's extended attributes (llistxattr + lgetxattr on
   * the entry itself, never through a symlink), in the same thread-pool job.
   * Only where `available.xattrs` is true; ignored otherwise.
   */
  readonly xattrs?: XattrSelection;
}

/**
 * An lstat/fstat result as the batched calls return it: FileStat (times,
 * dev and ino as bigint nanoseconds/numbers exactly as from
 * `fs.lstat(p, { bigint: true })`, everything else a number) plus
 * `blocks` (st_blocks, 512-byte units: less than size/512 means holes).
 * A plain object, assignable to FileEntry.stat as is.
 */
export interface EntryStat extends FileStat {
  blocks: number;
}

/** One entry of scanDirectory(). */
export interface ScannedEntry {
  /** The name within the directory as raw bytes (never decoded); a fresh Buffer of its own. */
  readonly name: Buffer;
  /** lstat of the entry (a symlink's own stat, never its target's); null when lstat failed. */
  readonly stat: EntryStat | null;
  /** The errno name ('ENOENT' when the entry vanished after readdir) when stat is null. */
  readonly errno?: string;
  /**
   * With ScanOptions.xattrs: the selected attributes in the order the
   * filesystem lists them; absent when the entry has none (or its stat failed).
   */
  readonly xattrs?: Xattr[];
  /**
   * With ScanOptions.xattrs: why its attributes could not be read (errno
   * name: 'EOPNOTSUPP' — a filesystem without xattr support —, 'ENOENT',
   * 'EACCES'…); `xattrs` is then absent.
   */
  readonly xattrErrno?: string;
  /** The failing call with xattrErrno: 'llistxattr' or 'lgetxattr'. */
  readonly xattrSyscall?: string;
}

/** One file for readFiles(): its path and the size the caller's lstat saw. */
export interface ReadFileRequest {
  readonly path: string | Uint8Array;
  readonly size: number;
}

/** A file readFiles() read: its bytes and the fstat taken after reading. */
export interface ReadFileData {
  /**
   * Exactly the bytes read (at most size + 1), owned by the caller: no one
   * else writes into them. The files of one call may be views into one
   * shared ArrayBuffer (one slab per call: a hundred thousand small buffers
   * cost more in garbage collection than reading the files), so copy rather
   * than transfer them to a worker thread.
   */
  readonly data: Buffer;
  readonly stat: EntryStat;
  readonly errno?: undefined;
  readonly syscall?: undefined;
}

/** A file readFiles() could not read; other files of the batch are unaffected. */
export interface ReadFileFailure {
  /** Errno name: 'ENOENT' (gone), 'ELOOP' (now a symlink), 'EACCES', 'EAGAIN' (a fifo with a writer)… */
  readonly errno: string;
  /** The failing syscall: 'open', 'read', 'fstat' or 'close'. */
  readonly syscall: string;
  readonly data?: undefined;
  readonly stat?: undefined;
}

/** Narrow with `r.errno === undefined` (or `r.data !== undefined`). */
export type ReadFileResult = ReadFileData | ReadFileFailure;

/**
 * One file for writeFiles(): its bytes, written under `temp` (a new name in
 * the final directory) and renamed to `final` when complete.
 */
export interface WriteFileRequest {
  /** The temporary name, in the same directory as `final`; must not exist (O_EXCL). */
  readonly temp: string | Uint8Array;
  readonly final: string | Uint8Array;
  readonly data: Uint8Array;
  /** Permission bits set by fchmod (mode & 0o7777, setuid/setgid/sticky included), after any fchown. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** fchown(uid, gid) before the fchmod (root restoring ownership). */
  readonly chown: boolean;
  readonly atimeNs: bigint;
  readonly mtimeNs: bigint;
}

/** A file writeFiles() could not put in place; its temp name was removed. */
export interface WriteFileFailure {
  /** Errno name: 'EEXIST' (temp name taken), 'EISDIR' (final is a directory), 'ENOSPC', 'EPERM'… */
  readonly errno: string;
  /** The failing syscall: 'open', 'write', 'fchown', 'fchmod', 'futimens', 'close' or 'rename'. */
  readonly syscall: string;
  readonly ok?: undefined;
}

/** Narrow with `r.ok === true` (or `r.errno !== undefined`). */
export type WriteFileResult = { readonly ok: true; readonly errno?: undefined; readonly syscall?: undefined } | WriteFileFailure;

export interface PlatformFileServices {
  /** Which native services are present; false entries are degraded. */
  readonly available: {
    readonly utimensat: boolean;
    readonly mknod: boolean;
    readonly seekData: boolean;
    readonly fsyncDir: boolean;
    /**
     * scanDirectory/readFiles/writeFiles run natively, one thread-pool job per call.
     * false or absent: they are emulated with node:fs (same results, one
     * libuv round trip per syscall) or, when the methods are absent, not
     * offered by this host at all.
     */
    readonly batch?: boolean;
    /**
     * The extended-attribute calls (llistxattr…readXattrs, ScanOptions.xattrs)
     * work. false or absent: without the native addon (or on a platform other
     * than Linux) they reject with CAIRN_E_PLATFORM_UNSUPPORTED and scans
     * ignore ScanOptions.xattrs.
     */
    readonly xattrs?: boolean;
  };
  /**
   * Sets atime and mtime with nanoseconds; `followSymlinks: false` sets them
   * on a symlink itself (lutimes). Degraded: fs.utimes/lutimes (microseconds).
   */
  setTimes(path: string | Uint8Array, atimeNs: bigint, mtimeNs: bigint, followSymlinks: boolean): Promise<void>;
  /** Creates a fifo. Degraded: throws CAIRN_E_PLATFORM_UNSUPPORTED. */
  mkfifo(path: string | Uint8Array, mode: number): Promise<void>;
  /** Creates a char/block device node (root only). Degraded: throws CAIRN_E_PLATFORM_UNSUPPORTED. */
  mknod(path: string | Uint8Array, mode: number, rdev: number): Promise<void>;
  /**
   * The data regions of an open file, from SEEK_DATA/SEEK_HOLE, as
   * [offset, length] pairs in order. Degraded (or a filesystem without
   * support): one region covering the whole file.
   */
  dataRegions(fd: number, size: number): Promise<Array<[number, number]>>;
  /** fsync a directory (after creating or renaming entries in it). Degraded: no-op. */
  fsyncDir(path: string | Uint8Array): Promise<void>;

  /**
   * Lists a directory and lstats every entry, in one call (native: one
   * thread-pool job doing open(O_DIRECTORY) + readdir + fstatat(dirfd, name,
   * AT_SYMLINK_NOFOLLOW) per entry; the event loop never blocks).
   *
   * - Every entry except `.` and `..`, sorted by name bytes (memcmp order,
   *   a prefix before its extensions: Buffer.compare), i.e. tree order.
   * - An entry whose lstat failed (removed between readdir and lstat) has
   *   `stat: null` and `errno` ('ENOENT'); the call still resolves.
   * - `dir` itself is followed if it is a symlink (like fs.readdir).
   * - Rejects, like node:fs, with an Error whose `code` is the errno name,
   *   `errno` the positive number, `syscall` 'opendir' (or 'readdir' for a
   *   failure while listing) and `path` as given, when the directory cannot
   *   be listed (ENOENT, ENOTDIR, EACCES…).
   * - Cost: the whole listing is in memory (about 200 bytes per entry).
   * - With `opts.xattrs` (where `available.xattrs`): each entry whose lstat
   *   succeeded also gets its selected extended attributes (`xattrs`) or the
   *   errno of reading them (`xattrErrno`, `xattrSyscall`); the scan itself
   *   never fails for them. One llistxattr per entry, plus one lgetxattr per
   *   selected attribute.
   *
   * Optional so hosts and kits written before it keep compiling: check
   * `platform.scanDirectory !== undefined` before calling. Degraded (no
   * addon): fs.promises.readdir(dir, { encoding: 'buffer' }) plus
   * lstat({ bigint: true }) per entry with bounded concurrency; same results.
   */
  scanDirectory?(dir: string | Uint8Array, opts?: ScanOptions): Promise<ScannedEntry[]>;
  /**
   * Reads many small files in one call (native: one thread-pool job doing,
   * per file, open(O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC), read until EOF
   * but at most `size + 1` bytes, fstat, close). Results are in request order.
   *
   * - Change detection is the caller's: compare `data.length` and `stat`
   *   (size, mtimeNs, ctimeNs, ino) with its earlier lstat; data.length ===
   *   size + 1 means the file grew, less than size that it shrank.
   * - A failing file gives `{ errno, syscall }` for that entry only: ENOENT
   *   (gone), ELOOP (replaced by a symlink: O_NOFOLLOW), EACCES…
   * - Meant for regular files. Anything else is opened non-blocking and read
   *   at most size + 1 bytes: a fifo returns empty data (no writer) or
   *   EAGAIN, never hangs. Never pass device nodes (opening a tape rewinds it).
   * - Each `data` is the caller's; the files of one call may share one
   *   ArrayBuffer (see ReadFileData.data), so copy, do not transfer.
   * - Rejects with a RangeError, reading nothing, when the sizes add up to
   *   more than `opts.maxBytes` (default 64 MiB); with a TypeError for a
   *   size that is not a non-negative integer or a path containing NUL.
   * - One call occupies one libuv pool thread (UV_THREADPOOL_SIZE, default
   *   4) until the whole group is read: keep groups to a few MiB and a few
   *   hundred files, and keep two or three calls in flight for throughput.
   *
   * Optional, like scanDirectory. Degraded (no addon): the same per file
   * with fs.promises (open with the same flags, read, fstat, close) with
   * bounded concurrency; same results.
   */
  readFiles?(files: readonly ReadFileRequest[], opts?: { readonly maxBytes?: number }): Promise<ReadFileResult[]>;
  /**
   * Writes many small files in one call (native: one thread-pool job doing,
   * per file, open(temp, O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, 0600),
   * write all bytes, fchown when `chown`, fchmod(mode & 0o7777), futimens
   * with the nanosecond times, close, rename(temp, final)). Results are in
   * request order: `{ ok: true }` or `{ errno, syscall }`.
   *
   * - A failing file is reported for that entry only and its temp name is
   *   unlinked (when this call created it); the next file goes on. EEXIST
   *   from 'open' means the temp name was taken (nothing of it is touched).
   * - rename replaces an existing non-directory `final`; an existing
   *   directory fails ('rename', EISDIR/ENOTEMPTY/EEXIST).
   * - Rejects with a TypeError, writing nothing, for an empty path or one
   *   containing NUL, a mode/uid/gid that is not a 32-bit unsigned integer,
   *   or a time that is not a 64-bit bigint.
   * - One call occupies one libuv pool thread until the group is written:
   *   keep groups to a few MiB and a few hundred files, one or two in flight.
   *
   * Optional, like scanDirectory. Degraded (no addon): the same steps per
   * file with fs.promises with bounded concurrency; same results, times to
   * about a microsecond.
   */
  writeFiles?(files: readonly WriteFileRequest[]): Promise<WriteFileResult[]>;
  // Extended attributes, on the path itself (never through a symlink: the
  // l* calls). Names and values are bytes; a string name is UTF-8. Errors
  // reject like node:fs (`code` the errno name, positive `errno`, `syscall`,
  // `path`): a filesystem without xattr support gives `EOPNOTSUPP` (Linux's
  // ENOTSUP is the same number), a missing attribute `ENODATA`, a `user.`
  // name on a symlink or device `EPERM`. Optional (hosts before API 1.4 lack
  // them); where `available.xattrs` is false they reject with
  // CAIRN_E_PLATFORM_UNSUPPORTED ("xattrs not supported without the native addon").
  /** The names of the path's attributes (llistxattr), each a Buffer, in the filesystem's order. */
  llistxattr?(path: string | Uint8Array): Promise<Buffer[]>;
  /** One attribute's value (lgetxattr). */
  lgetxattr?(path: string | Uint8Array, name: string | Uint8Array): Promise<Buffer>;
  /**
   * Sets one attribute (lsetxattr): `flags` 'create' fails with EEXIST if it
   * exists, 'replace' with ENODATA if it does not; default either. The value
   * is copied before the call returns.
   */
  lsetxattr?(path: string | Uint8Array, name: string | Uint8Array, value: Uint8Array, flags?: 'create' | 'replace'): Promise<void>;
  /** Removes one attribute (lremovexattr). */
  lremovexattr?(path: string | Uint8Array, name: string | Uint8Array): Promise<void>;
  /**
   * Lists and reads the selected attributes (default 'all') in one
   * thread-pool job: llistxattr then lgetxattr per selected name; a name
   * removed in between is left out. `[]` when there are none.
   */
  readXattrs?(path: string | Uint8Array, select?: XattrSelection): Promise<Xattr[]>;
}
