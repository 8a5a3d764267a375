/**
 * BlockWriter: packs one session's records into data blocks. The only copy
 * of a record's payload the SD makes is into the block buffer here. Records
 * that do not fit are split into fragments, each with its own header. When a
 * block is full it is handed to `emit`, which numbers, seals and queues it.
 */
import { BLOCK_HEADER_BYTES, NO_RECORD_START } from '../volume/block.js';
import { FRAGMENT_HEADER_BYTES, writeFragmentHeader } from '../volume/fragment.js';
import type { RecordHeader } from '../wire/data-record.js';
import { lastFileIndexOf } from '../../plugin-api/index.js';

export interface FilledBlock {
  buf: Buffer;
  payloadLength: number;
  firstRecordOffset: number;
  /** Tags of the records whose first byte is in this block, in order. */
  started: unknown[];
  /** Smallest and largest file index > 0 with a fragment in this block (0 if none). */
  minIndex: number;
  maxIndex: number;
}

export class BlockWriter {
  private buf: Buffer;
  private pos = BLOCK_HEADER_BYTES;
  private firstRecordOffset = NO_RECORD_START;
  private started: unknown[] = [];
  private minIndex = 0;
  private maxIndex = 0;
  private readonly spare: Buffer[] = [];

  constructor(
    private readonly blockSize: number,
    private readonly emit: (b: FilledBlock) => Promise<void>,
  ) {
    this.buf = Buffer.allocUnsafe(blockSize);
  }

  /** A spare block buffer, or a new one. */
  takeBuffer(): Buffer {
    return this.spare.pop() ?? Buffer.allocUnsafe(this.blockSize);
  }

  /** Returns a block buffer for reuse once its write is done. */
  recycle(buf: Buffer): void {
    if (buf.length === this.blockSize && this.spare.length < 4) this.spare.push(buf);
  }

  get isEmpty(): boolean {
    return this.pos === BLOCK_HEADER_BYTES;
  }

  async write(h: RecordHeader, parts: readonly Uint8Array[], tag?: unknown): Promise<void> {
    const total = h.length;
    let fragOff = 0;
    let partIdx = 0;
    let partOff = 0;
    for (;;) {
      const space = this.blockSize - this.pos - FRAGMENT_HEADER_BYTES;
      const left = total - fragOff;
      if (space < 1 && !(left === 0 && space >= 0)) {
        await this.flush();
        continue;
      }
      const n = Math.min(left, space);
      if (fragOff === 0) {
        if (this.firstRecordOffset === NO_RECORD_START) this.firstRecordOffset = this.pos - BLOCK_HEADER_BYTES;
        if (tag !== undefined) this.started.push(tag);
      }
      if (h.fileIndex > 0) {
        if (this.minIndex === 0 || h.fileIndex < this.minIndex) this.minIndex = h.fileIndex;
        const last = lastFileIndexOf(h.streamType, h.fileIndex, h.streamNo);
        if (last > this.maxIndex) this.maxIndex = last;
      }
      writeFragmentHeader(this.buf, this.pos, { fileIndex: h.fileIndex, streamType: h.streamType, streamNo: h.streamNo, totalLength: total, fragmentOffset: fragOff, fragmentLength: n });
      this.pos += FRAGMENT_HEADER_BYTES;
      let copy = n;
      while (copy > 0) {
        const p = parts[partIdx];
        const take = Math.min(copy, p.length - partOff);
        this.buf.set(take === p.length && partOff === 0 ? p : p.subarray(partOff, partOff + take), this.pos);
        this.pos += take;
        copy -= take;
        partOff += take;
        if (partOff === p.length) {
          partIdx++;
          partOff = 0;
        }
      }
      fragOff += n;
      if (fragOff >= total) return;
    }
  }

  /** Emits the current block if it holds anything. */
  async flush(): Promise<void> {
    if (this.isEmpty) return;
    const b: FilledBlock = { buf: this.buf, payloadLength: this.pos - BLOCK_HEADER_BYTES, firstRecordOffset: this.firstRecordOffset, started: this.started, minIndex: this.minIndex, maxIndex: this.maxIndex };
    this.minIndex = 0;
    this.maxIndex = 0;
    this.buf = this.spare.pop() ?? Buffer.allocUnsafe(this.blockSize);
    this.pos = BLOCK_HEADER_BYTES;
    this.firstRecordOffset = NO_RECORD_START;
    this.started = [];
    await this.emit(b);
  }
}
