/**
 * DataRecord on the wire (docs/protocol.md §Data frames): u32 fileIndex,
 * u16 streamType, u16 streamNo, u32 length, then `length` payload bytes, all
 * big-endian. A data frame holds one or more whole records; a record never
 * spans frames. Parsing hands payloads back as zero-copy slices.
 */
import { CairnError } from '../../plugin-api/index.js';
import type { DataRecord } from '../api.js';

export const RECORD_HEADER_BYTES = 12;

export interface RecordHeader {
  fileIndex: number;
  streamType: number;
  streamNo: number;
  length: number;
}

export function encodeRecordHeader(r: DataRecord, into = Buffer.allocUnsafe(RECORD_HEADER_BYTES), at = 0): Buffer {
  into.writeUInt32BE(r.fileIndex >>> 0, at);
  into.writeUInt16BE(r.streamType, at + 4);
  into.writeUInt16BE(r.streamNo, at + 6);
  into.writeUInt32BE(r.payload.length, at + 8);
  return into;
}

export function checkRecord(r: DataRecord): void {
  if (!Number.isInteger(r.fileIndex) || r.fileIndex < 0 || r.fileIndex > 0xffffffff) throw badRecord('fileIndex', r.fileIndex);
  if (!Number.isInteger(r.streamType) || r.streamType < 0 || r.streamType > 0xffff) throw badRecord('streamType', r.streamType);
  if (!Number.isInteger(r.streamNo) || r.streamNo < 0 || r.streamNo > 0xffff) throw badRecord('streamNo', r.streamNo);
}

function badRecord(field: string, value: unknown): CairnError {
  return new CairnError('CAIRN_E_PROTOCOL_RECORD', `Record field ${field} out of range: ${String(value)}.`, { field, value });
}

/** Receives parsed records; may return a promise to pause parsing (back-pressure). */
export type RecordSink = (h: RecordHeader, payload: Buffer[]) => void | Promise<void>;

/** A cursor over a frame's chunks. */
class ChunkCursor {
  private i = 0;
  private off = 0;
  constructor(private readonly chunks: Buffer[]) {}

  get atEnd(): boolean {
    while (this.i < this.chunks.length && this.off >= this.chunks[this.i].length) {
      this.i++;
      this.off = 0;
    }
    return this.i >= this.chunks.length;
  }

  /** Zero-copy slices covering the next n bytes, or null if fewer remain. */
  slices(n: number): Buffer[] | null {
    const out: Buffer[] = [];
    let left = n;
    while (left > 0) {
      if (this.atEnd) return null;
      const c = this.chunks[this.i];
      const take = Math.min(left, c.length - this.off);
      out.push(c.subarray(this.off, this.off + take));
      this.off += take;
      left -= take;
    }
    return out;
  }

  header(): RecordHeader | null {
    const parts = this.slices(RECORD_HEADER_BYTES);
    if (!parts) return null;
    const b = parts.length === 1 ? parts[0] : Buffer.concat(parts, RECORD_HEADER_BYTES);
    return { fileIndex: b.readUInt32BE(0), streamType: b.readUInt16BE(4), streamNo: b.readUInt16BE(6), length: b.readUInt32BE(8) };
  }
}

/** Parses every record of one data frame, calling `sink` for each (awaiting it when it returns a promise). */
export async function parseDataFrame(chunks: Buffer[], sink: RecordSink): Promise<number> {
  const cur = new ChunkCursor(chunks);
  let n = 0;
  while (!cur.atEnd) {
    const h = cur.header();
    if (!h) throw new CairnError('CAIRN_E_PROTOCOL_RECORD', 'Data frame ends inside a record header.', { record: n });
    const payload = cur.slices(h.length);
    if (!payload) throw new CairnError('CAIRN_E_PROTOCOL_RECORD', 'Data frame ends inside a record payload (records never span frames).', { record: n, length: h.length });
    const p = sink(h, payload);
    if (p) await p;
    n++;
  }
  return n;
}
