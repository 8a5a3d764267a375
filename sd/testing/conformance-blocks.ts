/**
 * The blocks the device conformance suite writes: a volume label and sealed
 * data blocks numbered n (random payloads), in the suite's process and in
 * the size-limited child of fill-volume.ts alike.
 */
import { randomBytes } from 'node:crypto';
import { BLOCK_HEADER_BYTES, BlockKind, NO_RECORD_START, sealBlock } from '../volume/block.js';
import { labelBlock, volumeLabelObject } from '../volume/labels.js';

export const CONFORMANCE_BLOCK_SIZE = 64 * 1024;

/** A sealed data block numbered `n`, with a random payload. */
export function dataBlock(n: number, bs = CONFORMANCE_BLOCK_SIZE): Buffer {
  const b = Buffer.alloc(bs);
  const payload = randomBytes(1000 + (n % 7) * 5000);
  payload.copy(b, BLOCK_HEADER_BYTES);
  sealBlock(b, { kind: BlockKind.DATA, blockNumber: n, sessionId: 1, sessionSeq: n, payloadLength: payload.length, firstRecordOffset: NO_RECORD_START });
  return b;
}

/** Block 0 of a conformance volume: its label. */
export function label0(volume: string, bs = CONFORMANCE_BLOCK_SIZE): Buffer {
  return labelBlock(bs, BlockKind.VOLUME_LABEL, volumeLabelObject({ volumeName: volume, pool: 'Conf', mediaType: 'any', labelTime: 1, blockSize: bs }), { blockNumber: 0, sessionId: 0, sessionSeq: 0 });
}
