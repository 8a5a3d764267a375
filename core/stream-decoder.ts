/**
 * Turns data records back into the chunks an agent wrote: zstd frames are
 * decompressed, sparse records split into offset and bytes. Keeps the running
 * SHA-256 and logical length of one stream, computed exactly as the backup
 * side did (docs/volume-format.md §Digests); for a stream of several chunks
 * that runs on the hash thread, so digest() may be pending.
 */
import { Buffer } from 'node:buffer';
import { Decompressor } from 'zstd-napi';
import { CairnError, StreamType, type DataChunk } from '../plugin-api/index.js';
import { StreamDigest } from './stream-digest.js';
import type { ZstdPiece } from './zstd-pool.js';

let decompressor: Decompressor | null = null;

export function unzstd(frame: Uint8Array): Buffer {
  decompressor ??= new Decompressor();
  try {
    return decompressor.decompress(frame);
  } catch (err) {
    throw new CairnError('CAIRN_E_RECORD_CORRUPT', `a zstd frame cannot be decompressed: ${(err as Error).message}`, {}, { cause: err });
  }
}

export function isDataStream(type: number): boolean {
  return type === StreamType.DATA || type === StreamType.DATA_ZSTD || type === StreamType.SPARSE_DATA || type === StreamType.SPARSE_DATA_ZSTD;
}

export class StreamDecoder {
  private readonly sum = new StreamDigest();
  length = 0;

  /**
   * Decodes one data record into the chunk to hand to the agent, updating the
   * digest. `piece` is the record's frame already decompressed on the zstd
   * pool (with the plain bytes' SHA-256 when that was asked for), or absent.
   */
  decode(type: number, payload: Uint8Array, piece?: ZstdPiece | null): DataChunk {
    const p = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    switch (type) {
      case StreamType.DATA:
        this.addSequential(p, null);
        return p;
      case StreamType.DATA_ZSTD: {
        const ready = piece && piece.compressed ? piece : null;
        const d = ready ? ready.data : unzstd(p);
        this.addSequential(d, ready?.digest ?? null);
        return d;
      }
      case StreamType.SPARSE_DATA:
      case StreamType.SPARSE_DATA_ZSTD: {
        if (p.length < 8) throw new CairnError('CAIRN_E_RECORD_CORRUPT', 'sparse record shorter than its offset', {});
        const offset = Number(p.readBigUInt64BE(0));
        const data = type === StreamType.SPARSE_DATA ? p.subarray(8) : piece && piece.compressed ? piece.data : unzstd(p.subarray(8));
        const head = Buffer.allocUnsafe(16);
        head.writeBigUInt64BE(BigInt(offset), 0);
        head.writeBigUInt64BE(BigInt(data.length), 8);
        this.sum.add(data, head, false);
        this.length = Math.max(this.length, offset + data.length);
        return { offset, data };
      }
      default:
        throw new CairnError('CAIRN_E_RECORD_CORRUPT', `stream type ${type} is not data`, { streamType: type });
    }
  }

  private addSequential(d: Buffer, workerDigest: Buffer | null): void {
    if (this.sum.add(d, null, workerDigest !== null)) this.sum.fromWorker(workerDigest!);
    this.length += d.length;
  }

  /** The digest of everything decoded (sha-256 of the empty stream when nothing was); a promise while the hash thread or a worker is still at it. */
  digest(): Buffer | Promise<Buffer> {
    return this.sum.finish();
  }

  /** Null, or a promise to await before more data while the hash thread is far behind. */
  pressure(): Promise<void> | null {
    return this.sum.pressure();
  }

  /** Lets go of a stream that will not be checked (frees what its digest holds). */
  discard(): void {
    this.sum.discard();
  }
}
