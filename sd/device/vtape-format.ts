/**
 * The vtape file format (docs/tape.md, "vtape file format"): a 512-byte
 * header, then records — blocks (with their length), filemarks and one
 * end-of-data marker — each led by a 16-byte header that also carries the
 * length of the record before it, so the tape can be spaced backwards.
 * The LD_PRELOAD test shim (test/support/tape-shim/tape-shim.c) reads and
 * writes the same format, so one medium serves both.
 *
 * All integers little-endian.
 *   header: 0 magic "CAIRNVT1" · 8 u32 version (1) · 12 u32 header size (512)
 *           16 u64 capacity (bytes of records the tape holds) · 24 u64 early warning (bytes before capacity)
 *           32 u32 min block · 36 u32 max block · 40 u32 flags (bit 0 write-protected) · rest zero
 *   record: 0 u32 type · 4 u32 data length · 8 u32 length of the previous record's data (0xffffffff at BOT)
 *           12 u32 check = type ^ length ^ prev ^ 0x9e3779b9 · then the data (blocks only)
 */
import fs from 'node:fs/promises';
import { NativeError } from '../../native/index.js';

export const VTAPE_MAGIC = 'CAIRNVT1';
export const VTAPE_VERSION = 1;
export const VTAPE_HEADER_SIZE = 512;
export const RECORD_HEADER_SIZE = 16;
export const REC_BLOCK = 0x4b4c4256; // "VBLK"
export const REC_FILEMARK = 0x4d465456; // "VTFM"
export const REC_EOD = 0x444f4556; // "VEOD"
/** `prev` of the first record: nothing before it (BOT). */
export const NO_PREV = 0xffffffff;
const CHECK_XOR = 0x9e3779b9;

/** Defaults for a new vtape: the block limits an LTO drive typically reports to st are 1 B – 8 MiB; 1 MiB keeps tests light. */
export const VTAPE_DEFAULT_MAX_BLOCK = 1024 * 1024;
export const VTAPE_DEFAULT_MIN_BLOCK = 1;

export interface VtapeHeader {
  readonly version: number;
  readonly capacity: number;
  readonly earlyWarning: number;
  readonly minBlock: number;
  readonly maxBlock: number;
  readonly writeProtected: boolean;
}

export interface VtapeCreateOptions {
  /** Bytes of records the tape holds (block data plus 16 bytes per record). */
  readonly capacity: number;
  /** Bytes before the end where the early-warning zone starts (default: capacity/16, at most 64 MiB). */
  readonly earlyWarning?: number;
  readonly minBlock?: number;
  readonly maxBlock?: number;
  readonly writeProtected?: boolean;
}

export function defaultEarlyWarning(capacity: number): number {
  return Math.min(64 * 1024 * 1024, Math.floor(capacity / 16));
}

export function encodeHeader(h: VtapeHeader): Buffer {
  const b = Buffer.alloc(VTAPE_HEADER_SIZE);
  b.write(VTAPE_MAGIC, 0, 'latin1');
  b.writeUInt32LE(h.version, 8);
  b.writeUInt32LE(VTAPE_HEADER_SIZE, 12);
  b.writeBigUInt64LE(BigInt(h.capacity), 16);
  b.writeBigUInt64LE(BigInt(h.earlyWarning), 24);
  b.writeUInt32LE(h.minBlock, 32);
  b.writeUInt32LE(h.maxBlock, 36);
  b.writeUInt32LE(h.writeProtected ? 1 : 0, 40);
  return b;
}

function formatError(file: string, why: string): NativeError {
  return new NativeError('CAIRN_E_TAPE_FORMAT', `${file} is not a usable Cairn vtape: ${why}.`, { device: file, reason: why });
}

export function decodeHeader(b: Buffer, file: string): VtapeHeader {
  if (b.length < 44 || b.toString('latin1', 0, 8) !== VTAPE_MAGIC) throw formatError(file, 'no CAIRNVT1 header');
  const version = b.readUInt32LE(8);
  if (version !== VTAPE_VERSION) throw formatError(file, `format version ${version} (this Cairn reads version ${VTAPE_VERSION})`);
  if (b.readUInt32LE(12) !== VTAPE_HEADER_SIZE) throw formatError(file, `header size ${b.readUInt32LE(12)}`);
  const capacity = Number(b.readBigUInt64LE(16));
  const earlyWarning = Number(b.readBigUInt64LE(24));
  const minBlock = b.readUInt32LE(32);
  const maxBlock = b.readUInt32LE(36);
  if (!(capacity > 0) || earlyWarning > capacity || minBlock < 1 || maxBlock < minBlock) throw formatError(file, 'inconsistent capacity or block limits in the header');
  return { version, capacity, earlyWarning, minBlock, maxBlock, writeProtected: (b.readUInt32LE(40) & 1) !== 0 };
}

export function encodeRecord(type: number, length: number, prev: number, into: Buffer = Buffer.allocUnsafe(RECORD_HEADER_SIZE), at = 0): Buffer {
  into.writeUInt32LE(type, at);
  into.writeUInt32LE(length, at + 4);
  into.writeUInt32LE(prev >>> 0, at + 8);
  into.writeUInt32LE((type ^ length ^ prev ^ CHECK_XOR) >>> 0, at + 12);
  return into;
}

export interface RecordHeader {
  readonly type: typeof REC_BLOCK | typeof REC_FILEMARK | typeof REC_EOD;
  readonly length: number;
  readonly prev: number;
}

/** A record header, or null when the bytes are not one (a torn or foreign tail reads as end of data). */
export function decodeRecord(b: Buffer, at = 0): RecordHeader | null {
  if (b.length - at < RECORD_HEADER_SIZE) return null;
  const type = b.readUInt32LE(at);
  const length = b.readUInt32LE(at + 4);
  const prev = b.readUInt32LE(at + 8);
  if (b.readUInt32LE(at + 12) !== (type ^ length ^ prev ^ CHECK_XOR) >>> 0) return null;
  if (type === REC_BLOCK) return { type, length, prev };
  if ((type === REC_FILEMARK || type === REC_EOD) && length === 0) return { type, length, prev };
  return null;
}

/** Creates a blank vtape (header + end-of-data marker). Fails with EEXIST if the file exists. */
export async function createVtapeFile(file: string, opts: VtapeCreateOptions): Promise<VtapeHeader> {
  const capacity = opts.capacity;
  if (!Number.isSafeInteger(capacity) || capacity < 4096) throw new RangeError('vtape capacity must be an integer of at least 4096 bytes');
  const earlyWarning = opts.earlyWarning ?? defaultEarlyWarning(capacity);
  const maxBlock = opts.maxBlock ?? VTAPE_DEFAULT_MAX_BLOCK;
  const minBlock = opts.minBlock ?? VTAPE_DEFAULT_MIN_BLOCK;
  if (!Number.isSafeInteger(earlyWarning) || earlyWarning < 0 || earlyWarning >= capacity) throw new RangeError('vtape early warning must be from 0 to below the capacity');
  if (!Number.isInteger(minBlock) || !Number.isInteger(maxBlock) || minBlock < 1 || maxBlock < minBlock || maxBlock > 0xffffff) throw new RangeError('vtape block limits must satisfy 1 <= min <= max <= 16 MiB - 1');
  const header: VtapeHeader = { version: VTAPE_VERSION, capacity, earlyWarning, minBlock, maxBlock, writeProtected: opts.writeProtected === true };
  const fh = await fs.open(file, 'wx');
  try {
    await fh.writev([encodeHeader(header), encodeRecord(REC_EOD, 0, NO_PREV)], 0);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return header;
}
