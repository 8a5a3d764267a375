/**
 * native/tape.ts — tape drives through the addon (src/tape-device.cc): open a
 * no-rewind st device, read and write whole blocks, MTIOCTOP operations,
 * MTIOCGET/MTIOCPOS status. Each open drive has its own thread in the addon;
 * its operations run one at a time in the order they were issued.
 *
 * A `TapePort` is the drive at the level of the syscalls: errors are errno
 * Errors exactly as st gives them (`code`, `errno`, `syscall`, `op`, `path`);
 * `tapeError()` (tape-errors.ts) maps them to CAIRN_E_TAPE_* codes. The SD's
 * TapeDrive (sd/device/) is built on this port, and so is its vtape
 * emulator, which answers with the same errno values.
 *
 * Does not promise: anything but Linux st semantics; partitions, setmarks,
 * MTSEEK, compression or density control (not exposed).
 */
import { stat } from 'node:fs/promises';
import { NativeError } from './errors.js';
import { tapeError, type TapeOp, type TapeStatus } from './tape-errors.js';

/** The raw TapeDevice object of src/tape-device.cc. */
export interface RawTapeDevice {
  read(buf: Uint8Array, offset: number, length: number): Promise<number>;
  write(buf: Uint8Array, offset: number, length: number): Promise<number>;
  op(mtOp: number, count: number): Promise<void>;
  status(): Promise<{ fileNo: number; blockNo: number; dsreg: number; gstat: number; type: number; erreg: number; resid: number; position: number }>;
  close(): Promise<void>;
}

export interface RawTapeConstants {
  readonly ops: Readonly<Record<TapeOp, number>>;
  readonly gmt: { readonly EOF: number; readonly BOT: number; readonly EOT: number; readonly SM: number; readonly EOD: number; readonly WR_PROT: number; readonly ONLINE: number; readonly DR_OPEN: number; readonly IM_REP_EN: number };
  readonly blksizeMask: number;
  readonly blksizeShift: number;
  readonly densityMask: number;
  readonly densityShift: number;
}

/** What src/tape-device.cc registers (part of RawBinding). flags: 1 read-only, 2 O_NONBLOCK. */
export interface RawTapeBinding {
  tapeOpen(path: Uint8Array, flags: number): Promise<RawTapeDevice>;
  readonly tapeConstants: RawTapeConstants;
}

export interface TapeOpenOptions {
  /** Open O_RDONLY (writes then fail with EACCES); default read-write, which st refuses with EROFS for a write-protected tape. */
  readonly readOnly?: boolean;
  /**
   * O_NONBLOCK: the open succeeds without a tape (status says doorOpen) and
   * does not wait for the drive to become ready; without it st waits up to
   * ST_BLOCK_SECONDS (120 s) and then fails with ENOMEDIUM or EIO.
   */
  readonly nonBlocking?: boolean;
}

/** One open drive at the level of the syscalls; every method is one syscall on the drive's thread. */
export interface TapePort {
  /** Path the drive was opened with. */
  readonly device: string;
  /** read(2): bytes of one block (variable mode) or whole fixed blocks; 0 at a filemark. */
  read(buf: Uint8Array): Promise<number>;
  /** write(2): one block (variable mode) or a multiple of the fixed block size. */
  write(buf: Uint8Array): Promise<number>;
  /** ioctl(MTIOCTOP) with mt_count = count. */
  op(op: TapeOp, count: number): Promise<void>;
  /** ioctl(MTIOCGET) and ioctl(MTIOCPOS) (position null when MTIOCPOS fails). */
  status(): Promise<TapeStatus>;
  /** close(2): st writes a filemark if the last operation was a write. */
  close(): Promise<void>;
}

/** Decodes MTIOCGET as st fills it. */
export function decodeTapeStatus(raw: Awaited<ReturnType<RawTapeDevice['status']>>, c: RawTapeConstants): TapeStatus {
  const g = raw.gstat >>> 0;
  const bit = (mask: number): boolean => (g & mask) >>> 0 !== 0;
  return {
    fileNo: raw.fileNo,
    blockNo: raw.blockNo,
    blockSize: ((raw.dsreg >>> 0) & c.blksizeMask) >>> c.blksizeShift,
    density: ((raw.dsreg >>> 0) & c.densityMask) >>> c.densityShift,
    position: raw.position < 0 ? null : raw.position,
    bot: bit(c.gmt.BOT),
    eof: bit(c.gmt.EOF),
    eot: bit(c.gmt.EOT),
    eod: bit(c.gmt.EOD),
    writeProtected: bit(c.gmt.WR_PROT),
    online: bit(c.gmt.ONLINE),
    doorOpen: bit(c.gmt.DR_OPEN),
    gstat: g,
  };
}

/** Linux device numbers from a bigint st_rdev. */
function majorMinor(rdev: bigint): { major: number; minor: number } {
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return { major, minor };
}

/** SCSI tape (st) character devices have major 9; bit 7 of the minor marks the no-rewind node. */
const ST_MAJOR = 9;

/**
 * Refuses an auto-rewind st device (/dev/stN, or a symlink to one) before
 * opening it: it rewinds on every close, so the next session would
 * overwrite what was written.
 */
async function refuseRewindingDevice(path: string): Promise<void> {
  let st;
  try {
    st = await stat(path, { bigint: true });
  } catch {
    return; // open reports it with its own errno
  }
  if (!st.isCharacterDevice()) return;
  const { major, minor } = majorMinor(st.rdev);
  if (major === ST_MAJOR && (minor & 0x80) === 0) {
    throw new NativeError(
      'CAIRN_E_TAPE_REWINDING_DEVICE',
      `${path} is an auto-rewind tape device (char ${major}:${minor}): it rewinds on every close. Use the no-rewind device (/dev/nst…, minor ${minor | 0x80}).`,
      { device: path, major, minor },
    );
  }
}

/**
 * Opens a tape drive through the addon. Rejects with a CAIRN_E_TAPE_* error
 * (already mapped: not found, access, busy, no medium, write protected, not a
 * tape, rewinding device); later failures of the port are errno errors.
 */
export async function openTapePort(binding: RawTapeBinding, path: string, options: TapeOpenOptions = {}): Promise<TapePort> {
  if (typeof path !== 'string' || path === '' || path.includes('\0')) throw new TypeError('tape device path must be a non-empty string without NUL bytes');
  await refuseRewindingDevice(path);
  const flags = (options.readOnly === true ? 1 : 0) | (options.nonBlocking === true ? 2 : 0);
  let dev: RawTapeDevice;
  try {
    dev = await binding.tapeOpen(Buffer.from(path), flags);
  } catch (err) {
    const op = typeof (err as { op?: unknown }).op === 'string' ? String((err as { op: string }).op) : 'open';
    throw tapeError(err, { device: path, op });
  }
  const c = binding.tapeConstants;
  return {
    device: path,
    read: (buf) => dev.read(buf, 0, buf.length),
    write: (buf) => dev.write(buf, 0, buf.length),
    op: (op, count) => {
      const code = c.ops[op];
      if (code === undefined) return Promise.reject(new TypeError(`unknown tape operation ${String(op)}`));
      return dev.op(code, count);
    },
    status: async () => decodeTapeStatus(await dev.status(), c),
    close: () => dev.close(),
  };
}
