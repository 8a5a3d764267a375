/**
 * Read-direction data frames (docs/protocol.md §Read data): the first byte
 * says what the frame holds.
 *   'R' records: u16 volume-name length, name (UTF-8), u32 file, u32 block,
 *       then one or more wire DataRecords, all located at that (volume, file, block).
 *   'B' bad-block, 'V' volume-end, 'E' error: the rest is a JSON object.
 * decodeReadFrameChunks decodes a frame as received, in pieces, without
 * joining them: a record payload that lies within one piece is a view of it;
 * only headers and payloads that straddle pieces are copied.
 */
import { CairnError } from '../../plugin-api/index.js';
import type { ReadItem, RecordLocation } from '../api.js';
import { RECORD_HEADER_BYTES, encodeRecordHeader } from './data-record.js';

export const READ_TAG = { RECORDS: 0x52, BAD_BLOCK: 0x42, VOLUME_END: 0x56, ERROR: 0x45 } as const;

export function encodeRecordsFrame(location: RecordLocation, records: Array<Extract<ReadItem, { kind: 'record' }>>): Uint8Array[] {
  const name = Buffer.from(location.volume, 'utf8');
  const head = Buffer.allocUnsafe(1 + 2 + name.length + 8);
  head[0] = READ_TAG.RECORDS;
  head.writeUInt16BE(name.length, 1);
  name.copy(head, 3);
  head.writeUInt32BE(location.file, 3 + name.length);
  head.writeUInt32BE(location.block, 7 + name.length);
  const parts: Uint8Array[] = [head];
  for (const it of records) {
    parts.push(encodeRecordHeader(it.record));
    parts.push(it.record.payload);
  }
  return parts;
}

export function encodeJsonFrame(tag: number, obj: unknown): Uint8Array[] {
  return [Buffer.from([tag]), Buffer.from(JSON.stringify(obj), 'utf8')];
}

export type ReadFrame = { kind: 'items'; items: ReadItem[] } | { kind: 'error'; error: CairnError };

export function decodeReadFrame(b: Buffer): ReadFrame {
  const tag = b[0];
  if (tag === READ_TAG.RECORDS) {
    const nl = b.readUInt16BE(1);
    const volume = b.toString('utf8', 3, 3 + nl);
    const file = b.readUInt32BE(3 + nl);
    const block = b.readUInt32BE(7 + nl);
    const location: RecordLocation = { volume, file, block };
    const items: ReadItem[] = [];
    let p = 11 + nl;
    while (p < b.length) {
      if (p + RECORD_HEADER_BYTES > b.length) throw cut();
      const len = b.readUInt32BE(p + 8);
      const end = p + RECORD_HEADER_BYTES + len;
      if (end > b.length) throw cut();
      items.push({
        kind: 'record',
        record: { fileIndex: b.readUInt32BE(p), streamType: b.readUInt16BE(p + 4), streamNo: b.readUInt16BE(p + 6), payload: b.subarray(p + RECORD_HEADER_BYTES, end) },
        location,
      });
      p = end;
    }
    return { kind: 'items', items };
  }
  const obj = JSON.parse(b.toString('utf8', 1)) as Record<string, unknown>;
  if (tag === READ_TAG.BAD_BLOCK) return { kind: 'items', items: [{ ...(obj as object), kind: 'bad-block' } as ReadItem] };
  if (tag === READ_TAG.VOLUME_END) return { kind: 'items', items: [{ ...(obj as object), kind: 'volume-end' } as ReadItem] };
  if (tag === READ_TAG.ERROR) {
    return { kind: 'error', error: new CairnError(String(obj.code ?? 'CAIRN_E_SD_INTERNAL'), String(obj.message ?? 'read failed'), (obj.fields ?? {}) as Record<string, unknown>) };
  }
  throw new CairnError('CAIRN_E_PROTOCOL_FRAME', `Unknown read frame tag 0x${(tag ?? 0).toString(16)}.`, { tag });
}

/** A frame received as pieces (`length` bytes in all): records are decoded in place; other frames are joined first (they are small). */
export function decodeReadFrameChunks(chunks: Buffer[], length: number): ReadFrame {
  if (chunks.length === 1) return decodeReadFrame(chunks[0]);
  if (!chunks.length || chunks[0][0] !== READ_TAG.RECORDS) return decodeReadFrame(Buffer.concat(chunks, length));
  const r = new PieceReader(chunks, length);
  r.take(1);
  const nl = r.take(2).readUInt16BE(0);
  if (r.left < nl + 8) throw cut();
  const volume = r.take(nl).toString('utf8');
  const at = r.take(8);
  const location: RecordLocation = { volume, file: at.readUInt32BE(0), block: at.readUInt32BE(4) };
  const items: ReadItem[] = [];
  while (r.left > 0) {
    if (r.left < RECORD_HEADER_BYTES) throw cut();
    const h = r.take(RECORD_HEADER_BYTES);
    const len = h.readUInt32BE(8);
    if (len > r.left) throw cut();
    items.push({ kind: 'record', record: { fileIndex: h.readUInt32BE(0), streamType: h.readUInt16BE(4), streamNo: h.readUInt16BE(6), payload: r.take(len) }, location });
  }
  return { kind: 'items', items };
}

/** Consecutive reads across a list of pieces: a view when the bytes lie in one piece, a copy when they straddle. */
class PieceReader {
  private i = 0;
  private pos = 0;
  left: number;

  constructor(
    private readonly chunks: Buffer[],
    length: number,
  ) {
    this.left = Math.min(length, chunks.reduce((a, c) => a + c.length, 0));
  }

  take(n: number): Buffer {
    if (n > this.left) throw cut();
    this.left -= n;
    while (this.i < this.chunks.length && this.pos === this.chunks[this.i].length) {
      this.i++;
      this.pos = 0;
    }
    const c = this.chunks[this.i];
    if (n === 0) return Buffer.alloc(0);
    if (this.pos === 0 && n === c.length) {
      // The piece itself (not a view of it): a piece passed by an in-memory pair is known by its identity (buffer-loans.ts).
      this.i++;
      return c;
    }
    if (this.pos + n <= c.length) {
      const v = c.subarray(this.pos, this.pos + n);
      this.pos += n;
      return v;
    }
    const out = Buffer.allocUnsafe(n);
    let o = 0;
    while (o < n) {
      const piece = this.chunks[this.i];
      const k = Math.min(n - o, piece.length - this.pos);
      piece.copy(out, o, this.pos, this.pos + k);
      o += k;
      this.pos += k;
      if (this.pos === piece.length) {
        this.i++;
        this.pos = 0;
      }
    }
    return out;
  }
}

function cut(): CairnError {
  return new CairnError('CAIRN_E_PROTOCOL_RECORD', 'A read frame ends inside a record.', {});
}
