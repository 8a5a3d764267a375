/**
 * native/tape-errors.ts — what a tape failure means: errno (as the st driver
 * reports it) plus the operation and, for EIO, the drive status read right
 * after, mapped to one CAIRN_E_TAPE_* code. Shared by the addon-backed drive
 * and the vtape emulator (sd/device/), which reports the same errno values.
 *
 * The facts stay in fields: `errno` (name), `syscall`, `op` (the tape
 * operation: 'read', 'write', 'open', 'MTFSF', …), `device`, and the status
 * bits that decided an EIO. docs/tape.md lists the mapping.
 */
import { NativeError, type NativeErrorCode } from './errors.js';

/** Tape operations of MTIOCTOP this layer issues (names as in <sys/mtio.h>). */
export const TAPE_OPS = ['MTREW', 'MTWEOF', 'MTWEOFI', 'MTFSF', 'MTBSF', 'MTFSR', 'MTBSR', 'MTEOM', 'MTSETBLK', 'MTOFFL', 'MTLOAD', 'MTUNLOAD', 'MTNOP'] as const;
export type TapeOp = (typeof TAPE_OPS)[number];

/** MTIOCGET (and MTIOCPOS) decoded. Numbers are what st reports: -1 means unknown. */
export interface TapeStatus {
  /** mt_fileno: filemarks crossed since BOT; -1 when st lost count (after an eom on some paths, a seek). */
  readonly fileNo: number;
  /** mt_blkno: blocks since the last filemark; -1 after bsf, bsr over a filemark, an eom, a read error. */
  readonly blockNo: number;
  /** Fixed block size from mt_dsreg; 0 = variable-block mode. */
  readonly blockSize: number;
  readonly density: number;
  /** MTIOCPOS: logical block address from BOT (blocks and filemarks counted), or null when the drive cannot tell. */
  readonly position: number | null;
  /** GMT_BOT: file 0 block 0. */
  readonly bot: boolean;
  /** GMT_EOF: block 0 of a file after the first (just past a filemark). */
  readonly eof: boolean;
  /** GMT_EOT: past the early-warning mark (st's eof state EOM_OK/EOM_ERROR). */
  readonly eot: boolean;
  /** GMT_EOD: at end of recorded data (after an eom or a read/space into blank tape). */
  readonly eod: boolean;
  /** GMT_WR_PROT: the medium is write-protected. */
  readonly writeProtected: boolean;
  /** GMT_ONLINE: a tape is loaded and ready. */
  readonly online: boolean;
  /** GMT_DR_OPEN: no tape in the drive. */
  readonly doorOpen: boolean;
  /** mt_gstat as the driver gave it. */
  readonly gstat: number;
}

/** The errno Error shape of the addon and the vtape emulator (like node:fs errors, plus `op`). */
export interface TapeErrnoError extends Error {
  code: string;
  errno: number;
  syscall: string;
  op?: string;
  path?: unknown;
}

export function isErrnoError(err: unknown): err is TapeErrnoError {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'string' && typeof (err as { syscall?: unknown }).syscall === 'string';
}

export interface TapeErrorContext {
  /** The device path or vtape file, for messages and fields. */
  readonly device: string;
  /** The tape operation ('open', 'read', 'write', 'MTFSF', 'MTIOCGET', …). */
  readonly op: string;
  /** Drive status read after an EIO (decides what it meant), when it could be read. */
  readonly status?: TapeStatus;
  /** For ENOSPC on a write: which end of medium this was (the caller tracks st's alternation). */
  readonly phase?: 'early-warning' | 'hard';
}

function make(code: NativeErrorCode, message: string, err: TapeErrnoError, ctx: TapeErrorContext, extra: Record<string, unknown> = {}): NativeError {
  const fields: Record<string, unknown> = { device: ctx.device, op: ctx.op, errno: err.code, syscall: err.syscall, ...extra };
  if (ctx.status !== undefined) fields.status = ctx.status;
  return new NativeError(code, message, fields, { cause: err });
}

const WRITE_OPS = new Set(['write', 'MTWEOF', 'MTWEOFI']);
const SPACE_FORWARD = new Set(['MTFSF', 'MTFSR', 'MTEOM']);

/** Maps an EIO by operation and the status read after it. */
function mapEio(err: TapeErrnoError, ctx: TapeErrorContext): NativeError {
  const s = ctx.status;
  const where = `${ctx.op} on ${ctx.device}`;
  if (s !== undefined && (s.doorOpen || !s.online)) return make('CAIRN_E_TAPE_NO_MEDIUM', `No tape loaded in ${ctx.device} (${ctx.op} failed with EIO, drive not online).`, err, ctx);
  if (s !== undefined) {
    if ((ctx.op === 'read' || SPACE_FORWARD.has(ctx.op)) && s.eod) return make('CAIRN_E_TAPE_END_OF_DATA', `${where} ran into the end of recorded data (file ${s.fileNo}).`, err, ctx);
    if (ctx.op === 'MTFSR' && s.eof) return make('CAIRN_E_TAPE_FILEMARK', `${where} stopped at a filemark: now at the start of file ${s.fileNo}.`, err, ctx);
    if ((ctx.op === 'MTBSR' || ctx.op === 'MTBSF') && s.bot) return make('CAIRN_E_TAPE_BEGINNING_OF_MEDIUM', `${where} reached the beginning of the tape.`, err, ctx);
    if (ctx.op === 'MTBSR' && s.blockNo === -1) return make('CAIRN_E_TAPE_FILEMARK', `${where} stopped at a filemark: now at the end of file ${s.fileNo}.`, err, ctx);
    if (WRITE_OPS.has(ctx.op) && s.eot) return make('CAIRN_E_TAPE_END_OF_MEDIUM', `${where} failed past the early-warning mark: the tape is full.`, err, ctx, { phase: 'hard' });
  }
  return make('CAIRN_E_TAPE_IO', `Tape I/O error: ${where} failed (EIO); the tape position may be unknown.`, err, ctx);
}

/**
 * Maps an errno failure of a tape operation to a CAIRN_E_TAPE_* NativeError
 * (a CairnError by brand). Anything that is not an errno error is wrapped as
 * CAIRN_E_TAPE_IO; a CairnError passes through unchanged.
 */
export function tapeError(err: unknown, ctx: TapeErrorContext): Error {
  if (typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[Symbol.for('cairn.error')] === true) return err as Error;
  if (!isErrnoError(err)) {
    const e = Object.assign(new Error(String(err)), { code: 'EIO', errno: 5, syscall: ctx.op });
    return make('CAIRN_E_TAPE_IO', `Tape ${ctx.op} on ${ctx.device} failed: ${String(err)}.`, e, ctx);
  }
  const d = ctx.device;
  switch (err.code) {
    case 'ENOSPC': {
      const phase = ctx.phase ?? 'early-warning';
      const text = phase === 'hard' ? 'the tape is full (hard end of medium): nothing more fits' : 'early warning: the block was not written; a few more blocks (a trailer) may still be written';
      return make('CAIRN_E_TAPE_END_OF_MEDIUM', `End of medium on ${d} (${ctx.op}): ${text}.`, err, ctx, { phase, written: false });
    }
    case 'ENOMEDIUM':
      return make('CAIRN_E_TAPE_NO_MEDIUM', `No tape loaded in ${d} (${ctx.op}).`, err, ctx);
    case 'EROFS':
      return make('CAIRN_E_TAPE_WRITE_PROTECTED', `The tape in ${d} is write-protected; it cannot be opened for writing.`, err, ctx);
    case 'EACCES':
    case 'EPERM':
      if (ctx.op === 'open') return make('CAIRN_E_TAPE_ACCESS', `Permission denied opening ${d}: run as a user in the device's group (often "tape").`, err, ctx);
      return make('CAIRN_E_TAPE_WRITE_PROTECTED', `${ctx.op} on ${d} refused: ${ctx.status?.writeProtected === true ? 'the tape is write-protected' : 'the tape is write-protected or the drive was opened read-only'}.`, err, ctx, { readOnlyOpen: ctx.status?.writeProtected !== true });
    case 'ENOTTY':
      return make('CAIRN_E_TAPE_NOT_A_TAPE', `${d} is not a tape drive (${err.syscall} ${ctx.op}: ENOTTY).`, err, ctx);
    case 'EBUSY':
      return make('CAIRN_E_TAPE_BUSY', `${d} is busy: it is already open (the st driver allows one open at a time).`, err, ctx);
    case 'ENOENT':
    case 'ENXIO':
    case 'ENODEV':
      return make('CAIRN_E_TAPE_NOT_FOUND', `${d} does not exist or has no drive behind it (${err.code}).`, err, ctx);
    case 'ENOMEM':
      if (ctx.op === 'read') return make('CAIRN_E_TAPE_BLOCK_SIZE', `The block on ${d} is larger than the read buffer; the block was skipped (st moves past it).`, err, ctx);
      break;
    case 'EINVAL':
      if (ctx.op === 'read' || ctx.op === 'write' || ctx.op === 'MTSETBLK') return make('CAIRN_E_TAPE_BLOCK_SIZE', `${ctx.op} on ${d}: the size is outside the drive's block limits or not a multiple of the fixed block size (EINVAL).`, err, ctx);
      break;
    case 'ENOSYS':
    case 'EOPNOTSUPP':
    case 'ENOTSUP':
      return make('CAIRN_E_TAPE_UNSUPPORTED', `${d} does not support ${ctx.op} (${err.code}).`, err, ctx);
    case 'EIO':
      return mapEio(err, ctx);
    default:
      break;
  }
  return make('CAIRN_E_TAPE_IO', `Tape ${ctx.op} on ${d} failed: ${err.message}.`, err, ctx);
}

/** An errno Error like the addon's (for the vtape emulator): code, errno, syscall, op, path. */
export function tapeErrno(code: string, errno: number, syscall: string, op: string, path: string): TapeErrnoError {
  const e = new Error(`${code}: ${op} failed, ${syscall} '${path}'`) as TapeErrnoError;
  e.code = code;
  e.errno = errno;
  e.syscall = syscall;
  e.op = op;
  e.path = path;
  return e;
}
