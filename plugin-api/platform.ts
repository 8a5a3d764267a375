/**
 * Platform file services: what Node alone cannot do and the fs agent needs.
 * The host implements them with the native addon (native/) and offers them
 * through AgentContext.platform, so agents import only plugin-api.
 * Where the addon is missing, `available` says so and the degraded calls
 * fall back as documented per method (and the host warns loudly once).
 */
export interface PlatformFileServices {
  /** Which native services are present; false entries are degraded. */
  readonly available: {
    readonly utimensat: boolean;
    readonly mknod: boolean;
    readonly seekData: boolean;
    readonly fsyncDir: boolean;
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
}
