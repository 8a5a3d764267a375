/**
 * Block layout v1 (docs/volume-format.md §Blocks). Every block is exactly
 * blockSize bytes: a 40-byte header, `payloadLength` payload bytes, zeros to
 * the end. All integers big-endian.
 *
 *  0 u32 magic 'CRNB'       4 u16 format version   6 u16 block kind
 *  8 u32 checksum          12 u16 header length    14 u16 flags (0)
 * 16 u32 block number      20 u32 session id       24 u32 session sequence
 * 28 u32 payload length    32 u32 first record offset (0xFFFFFFFF = none)
 * 36 u32 reserved (0)
 *
 * Checksum: CRC-32 over bytes [0,8) then [12, headerLength + payloadLength).
 */
import { CairnError } from '../../plugin-api/index.js';
import { crc32 } from './checksum.js';

export const BLOCK_MAGIC = 0x43524e42; // 'CRNB'
export const FORMAT_VERSION = 1;
export const BLOCK_HEADER_BYTES = 40;
export const NO_RECORD_START = 0xffffffff;

export const BlockKind = {
  VOLUME_LABEL: 1,
  SESSION_START: 2,
  DATA: 3,
  SESSION_END: 4,
} as const;

export interface BlockHeader {
  kind: number;
  checksum: number;
  headerLength: number;
  flags: number;
  blockNumber: number;
  sessionId: number;
  sessionSeq: number;
  payloadLength: number;
  firstRecordOffset: number;
}

/** Fills the header of `block` (payload already in place at BLOCK_HEADER_BYTES), zeroes the tail and sets the checksum. */
export function sealBlock(
  block: Buffer,
  h: { kind: number; blockNumber: number; sessionId: number; sessionSeq: number; payloadLength: number; firstRecordOffset: number },
): void {
  block.writeUInt32BE(BLOCK_MAGIC, 0);
  block.writeUInt16BE(FORMAT_VERSION, 4);
  block.writeUInt16BE(h.kind, 6);
  block.writeUInt16BE(BLOCK_HEADER_BYTES, 12);
  block.writeUInt16BE(0, 14);
  block.writeUInt32BE(h.blockNumber, 16);
  block.writeUInt32BE(h.sessionId, 20);
  block.writeUInt32BE(h.sessionSeq, 24);
  block.writeUInt32BE(h.payloadLength, 28);
  block.writeUInt32BE(h.firstRecordOffset >>> 0, 32);
  block.writeUInt32BE(0, 36);
  const end = BLOCK_HEADER_BYTES + h.payloadLength;
  // Never let stale memory (another session's bytes) reach the medium.
  if (end < block.length) block.fill(0, end);
  block.writeUInt32BE(blockChecksum(block, BLOCK_HEADER_BYTES, h.payloadLength), 8);
}

function blockChecksum(block: Buffer, headerLength: number, payloadLength: number): number {
  const c = crc32(block.subarray(0, 8));
  return crc32(block.subarray(12, headerLength + payloadLength), c);
}

export type BlockCheck = { ok: true; header: BlockHeader } | { ok: false; reason: string; code: string };

/** Checks a block read from a volume; never throws. */
export function checkBlock(block: Buffer, blockSize: number): BlockCheck {
  if (block.length < BLOCK_HEADER_BYTES) return bad('block shorter than its header', 'CAIRN_E_VOLUME_BAD_BLOCK');
  if (block.readUInt32BE(0) !== BLOCK_MAGIC) return bad('bad block magic', 'CAIRN_E_VOLUME_BAD_BLOCK');
  const version = block.readUInt16BE(4);
  if (version !== FORMAT_VERSION) return bad(`block format version ${version} not supported (this SD reads ${FORMAT_VERSION})`, 'CAIRN_E_VOLUME_VERSION');
  const headerLength = block.readUInt16BE(12);
  const payloadLength = block.readUInt32BE(28);
  if (headerLength < BLOCK_HEADER_BYTES || headerLength + payloadLength > Math.min(block.length, blockSize)) {
    return bad('block header or payload length out of range', 'CAIRN_E_VOLUME_BAD_BLOCK');
  }
  const checksum = block.readUInt32BE(8);
  if (blockChecksum(block, headerLength, payloadLength) !== checksum) return bad('block checksum mismatch', 'CAIRN_E_VOLUME_BAD_BLOCK');
  return {
    ok: true,
    header: {
      kind: block.readUInt16BE(6),
      checksum,
      headerLength,
      flags: block.readUInt16BE(14),
      blockNumber: block.readUInt32BE(16),
      sessionId: block.readUInt32BE(20),
      sessionSeq: block.readUInt32BE(24),
      payloadLength,
      firstRecordOffset: block.readUInt32BE(32),
    },
  };
}

function bad(reason: string, code: string): BlockCheck {
  return { ok: false, reason, code };
}

export function blockError(volume: string, block: number, reason: string, code = 'CAIRN_E_VOLUME_BAD_BLOCK'): CairnError {
  return new CairnError(code, `Volume ${volume} block ${block}: ${reason}.`, { volume, block, reason });
}
