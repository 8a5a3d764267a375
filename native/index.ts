/**
 * cairn/native — platform file services Node lacks, from the C++ addon
 * (native/src/, built into native/build/Release/cairn_native.node).
 *
 * Owns: loading the addon, the real PlatformFileServices over it
 * (nanosecond utimensat, mkfifo, mknod, SEEK_DATA/SEEK_HOLE data regions,
 * directory fsync, batched directory scans, small-file reads and writes,
 * extended attributes without following symlinks), the degraded node:fs
 * fallback when the addon is missing or unloadable, and the one loud warning
 * that says so; tape drives (openTapePort: st blocks, MTIOCTOP,
 * MTIOCGET/MTIOCPOS on a thread per drive) and the mapping of tape errno
 * failures to CAIRN_E_TAPE_* codes (tapeError), which the vtape emulator
 * shares. Imports no other part of Cairn (it is a leaf).
 *
 * Does not promise: anything on Windows; regions finer than the
 * filesystem's allocation unit; that fd offsets are untouched *during* a
 * dataRegions call (they are restored afterwards).
 */
import { loadBinding, type BindingLoad } from './binding.js';
import { NativeError } from './errors.js';
import { degradedFileServices, nativeFileServices, type FileServices } from './file-services.js';
import { openTapePort, type TapeOpenOptions, type TapePort } from './tape.js';

export { NATIVE_ERRORS, NativeError, type NativeErrorCode, type NativeErrorSpec } from './errors.js';
export type { FileServices } from './file-services.js';
export { TAPE_OPS, tapeError, tapeErrno, isErrnoError, type TapeOp, type TapeStatus, type TapeErrnoError, type TapeErrorContext } from './tape-errors.js';
export { decodeTapeStatus, type TapeOpenOptions, type TapePort } from './tape.js';
export {
  DEFAULT_READ_BATCH_BYTES,
  type EntryStat,
  type ReadFileRequest,
  type ReadFileResult,
  type ReadFilesOptions,
  type ScannedEntry,
  type WriteFileRequest,
  type WriteFileResult,
  type ScanOptions,
} from './batch-services.js';
export { XATTRS_DEGRADED, type Xattr, type XattrSelection } from './xattr-services.js';

/** What is lost without the addon, in the words the warning uses. */
export const DEGRADED_SERVICES = ['nanosecond times', 'fifos/devices', 'sparse detection', 'directory fsync', 'batched scans/reads/writes', 'xattrs'] as const;

export interface NativeStatus {
  readonly loaded: boolean;
  /** Why the addon did not load (absent when loaded). */
  readonly error?: string;
  /** Services running degraded; empty when everything is native. */
  readonly degraded: string[];
}

export interface PlatformFileServicesOptions {
  /** Where the one degraded-mode warning goes (default: stderr). */
  readonly warn?: (message: string) => void;
  /** Test hook: hand out the degraded implementation even if the addon loaded. */
  readonly forceDegraded?: boolean;
}

let cached: BindingLoad | undefined;
let warned = false;

function load(): BindingLoad {
  cached ??= loadBinding();
  return cached;
}

/** The state of the addon: loaded or not, why not, and what is degraded. */
export function nativeStatus(): NativeStatus {
  const l = load();
  if (l.binding === undefined) return { loaded: false, error: l.reason, degraded: [...DEGRADED_SERVICES] };
  const degraded: string[] = [];
  if (!l.binding.features.seekData) degraded.push('sparse detection');
  if (!l.binding.xattr.supported) degraded.push('xattrs');
  return { loaded: true, degraded };
}

/** The multi-line warning for running without the addon. */
export function degradedWarning(reason: string): string {
  return [
    '*** WARNING: Cairn native addon not available — file services are DEGRADED ***',
    `  why: ${reason}`,
    '  degraded:',
    '    - nanosecond times: restored atime/mtime are set to about a microsecond (fs.utimes)',
    '    - fifos/devices: fifos and device nodes cannot be restored (CAIRN_E_PLATFORM_UNSUPPORTED)',
    '    - sparse detection: holes are not detected; sparse files are read and stored in full',
    '    - directory fsync: skipped, so a crash may lose newly created directory entries',
    '    - batched scans/reads/writes: scanDirectory/readFiles/writeFiles make one fs call per syscall (same results, slower)',
    '    - xattrs: extended attributes and ACLs are neither backed up nor restored (xattrs not supported without the native addon)',
    '  fix: run `npm run build:native` in the Cairn directory (needs python3, make and a C++ compiler),',
    '       then restart this process.',
  ].join('\n');
}

/**
 * Throws CAIRN_E_NATIVE_LOAD unless the addon is loaded; for callers that
 * cannot degrade (tape) and for checks such as CI.
 */
export function assertNativeLoaded(): void {
  const l = load();
  if (l.binding === undefined) {
    throw new NativeError('CAIRN_E_NATIVE_LOAD', `Cairn native addon not available: ${l.reason}; run \`npm run build:native\``, { binary: l.binaryPath, reason: l.reason }, { cause: l.cause });
  }
}

/**
 * The platform file services for agents (AgentContext.platform): native when
 * the addon loads, else degraded, in which case the first call in this
 * process warns loudly (options.warn, else stderr). The result is assignable
 * to plugin-api's PlatformFileServices.
 */
export function platformFileServices(options: PlatformFileServicesOptions = {}): FileServices {
  const l = load();
  if (l.binding !== undefined && options.forceDegraded !== true) return nativeFileServices(l.binding);
  const reason = l.binding === undefined ? (l.reason ?? 'unknown') : 'degraded mode forced by the caller (forceDegraded)';
  if (!warned) {
    warned = true;
    const message = degradedWarning(reason);
    if (options.warn !== undefined) options.warn(message);
    else process.stderr.write(`${message}\n`);
  }
  return degradedFileServices(reason);
}

/**
 * Opens a tape drive (a no-rewind st device such as /dev/nst0) through the
 * addon. Tape has no degraded mode: without the addon this throws
 * CAIRN_E_NATIVE_LOAD naming why and how to build it. Open failures are
 * CAIRN_E_TAPE_* errors; the port's later failures are errno errors that
 * `tapeError()` maps.
 */
export async function openTapeDevice(path: string, options: TapeOpenOptions = {}): Promise<TapePort> {
  const l = load();
  if (l.binding === undefined) {
    throw new NativeError('CAIRN_E_NATIVE_LOAD', `Tape drives need Cairn's native addon, which is not available: ${l.reason}. Run \`npm run build:native\` in the Cairn directory (needs python3, make and a C++ compiler), then restart.`, { binary: l.binaryPath, reason: l.reason, device: path }, { cause: l.cause });
  }
  return openTapePort(l.binding, path, options);
}
