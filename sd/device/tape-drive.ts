/**
 * TapeDrive: one tape drive with Linux st semantics, whatever is behind it (a
 * real drive through the native addon, NativeTapeDrive; a vtape file,
 * VtapeDrive). It is a sequential device and deliberately not a Device
 * (device.ts): there is no positional write, no size(), no truncate — a tape
 * is positioned with rewind/fsf/bsf/fsr/bsr/eom and written where it stands.
 *
 * The rules every implementation honours (docs/tape.md; the conformance
 * suite in tape-conformance.ts checks them):
 * - One operation at a time, in call order: calls queue behind each other
 *   (a drive does one thing at a time); each settles when the drive is done.
 * - Errors are CairnErrors with CAIRN_E_TAPE_* codes (native/errors.ts) and
 *   fields errno, syscall, op, device; never a bare errno Error.
 * - A block written is durable only after a filemark is written or sync()
 *   returns (the drive's buffer is flushed then); close() after writing
 *   writes one filemark (st does) and so also makes the data durable.
 * - Writing anywhere but at end of data discards everything after the block
 *   or filemark written (tape semantics: end of data moves there).
 * - End of medium is CAIRN_E_TAPE_END_OF_MEDIUM (isTapeEndOfMedium), with
 *   fields.phase: 'early-warning' — the drive passed its early-warning mark;
 *   the block was NOT written; writing again is allowed (st lets every other
 *   write through, so a trailer/label fits) — or 'hard' — nothing more fits.
 *   The write that crosses the early-warning mark itself succeeds.
 */
import { isCairnError } from '../../plugin-api/index.js';
import type { TapeStatus } from '../../native/index.js';

export type { TapeStatus } from '../../native/index.js';

export interface TapeDrive {
  /** 'tape' (a drive through the addon) or 'vtape' (a file-backed emulated drive). */
  readonly kind: 'tape' | 'vtape';
  /** The device path or vtape file. */
  readonly device: string;
  /** Opened read-only: every write fails with CAIRN_E_TAPE_WRITE_PROTECTED. */
  readonly readOnly: boolean;

  /**
   * Writes one block where the tape stands (variable-block mode: the block
   * keeps its length on tape; fixed mode: the length must be a multiple of
   * the block size and makes that many blocks). Not durable until a
   * filemark or sync(). Fails with END_OF_MEDIUM (not written; see phase),
   * WRITE_PROTECTED, BLOCK_SIZE (outside the drive's limits or not a
   * multiple of the fixed size), NO_MEDIUM, IO.
   */
  writeBlock(block: Uint8Array): Promise<void>;
  /**
   * Reads the next block into buf and returns its length. Returns 0 at a
   * filemark, and the tape is then past it (start of the next file). At end
   * of data: a read right after a filemark returns 0 once more (two
   * consecutive 0 reads mean end of data), then END_OF_DATA. In variable
   * mode a block longer than buf fails with BLOCK_SIZE and is skipped (st's
   * ENOMEM); fixed mode reads whole blocks, buf a multiple of the size.
   */
  readBlock(buf: Uint8Array): Promise<number>;
  /** Writes `count` filemarks; flushes the drive's buffer (everything before is durable). 0 only flushes. */
  writeFilemarks(count: number): Promise<void>;
  /** Makes every block written so far durable (= writeFilemarks(0), as st does). */
  sync(): Promise<void>;
  /** Back to the beginning of the tape (file 0, block 0). A filemark is written first if the last operation was a write. */
  rewind(): Promise<void>;
  /** Forward over `count` filemarks: at the start of the file after the last one. Running into end of data: END_OF_DATA. */
  fsf(count: number): Promise<void>;
  /**
   * Backward over `count` filemarks: just before the last one crossed (at
   * the end of the file before it; blockNo becomes -1 as st reports).
   * bsf(1) then fsf(1) positions at the start of the current file. At BOT:
   * BEGINNING_OF_MEDIUM.
   */
  bsf(count: number): Promise<void>;
  /** Forward over `count` blocks; a filemark on the way stops it past the filemark with FILEMARK; end of data: END_OF_DATA. */
  fsr(count: number): Promise<void>;
  /** Backward over `count` blocks; a filemark stops it before the filemark with FILEMARK; BOT: BEGINNING_OF_MEDIUM. */
  bsr(count: number): Promise<void>;
  /** To end of recorded data, ready to append (fileNo = filemarks on tape; blockNo -1, eod set, as st reports). */
  eom(): Promise<void>;
  /** MTIOCGET + MTIOCPOS: file/block numbers (-1 = unknown to st), fixed block size, BOT/EOF/EOT/EOD, protection, online. */
  status(): Promise<TapeStatus>;
  /** 0 = variable-block mode; n = fixed blocks of n bytes. Outside the drive's limits: BLOCK_SIZE. */
  setBlockSize(size: number): Promise<void>;
  /** Rewinds and unloads (MTOFFL): later operations fail with NO_MEDIUM until load(). */
  offline(): Promise<void>;
  /** Loads the tape (MTLOAD): online at BOT. */
  load(): Promise<void>;
  /** Unloads (MTUNLOAD): as offline(). */
  unload(): Promise<void>;
  /** Closes the drive; writes a filemark first when the last operation was a write (st does). The tape stays where it is (no-rewind). */
  close(): Promise<void>;
}

export function isTapeEndOfMedium(err: unknown): boolean {
  return isCairnError(err) && err.code === 'CAIRN_E_TAPE_END_OF_MEDIUM';
}

/** 'early-warning' | 'hard' for an END_OF_MEDIUM error, else undefined. */
export function endOfMediumPhase(err: unknown): 'early-warning' | 'hard' | undefined {
  if (!isTapeEndOfMedium(err)) return undefined;
  const phase = (err as { fields: Record<string, unknown> }).fields.phase;
  return phase === 'hard' ? 'hard' : 'early-warning';
}

export function isTapeEndOfData(err: unknown): boolean {
  return isCairnError(err) && err.code === 'CAIRN_E_TAPE_END_OF_DATA';
}
