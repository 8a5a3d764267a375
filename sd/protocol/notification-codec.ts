/**
 * SdNotification on the wire: a `3201 notification <type>` frame. Most
 * notifications carry their JSON as the body; catalog-records, which carry a
 * file's attributes and digests by the hundred thousand, have a binary body
 * (protocol.md §Notifications gives the layout): JSON with base64 payloads
 * cost the SD and the Director more than the whole volume write.
 */
import { Buffer } from 'node:buffer';
import { CairnError } from '../../plugin-api/index.js';
import type { RecordLocation, SdNotification } from '../api.js';

type CatalogRecords = Extract<SdNotification, { type: 'catalog-records' }>;

/** Fixed part of one record in the binary body: fileIndex u32, streamType u16, streamNo u16, volume u16, file u32, block u32, length u32. */
const RECORD_HEAD = 22;

export function encodeNotification(n: SdNotification): unknown {
  if (n.type !== 'catalog-records') return n;
  return encodeCatalogRecords(n);
}

export function encodeCatalogRecords(n: CatalogRecords): Buffer {
  const volumes: string[] = [];
  const volumeIndex = new Map<string, number>();
  let size = 4 + 4 + 2 + 4;
  for (const { record, location } of n.records) {
    if (!volumeIndex.has(location.volume)) {
      volumeIndex.set(location.volume, volumes.length);
      volumes.push(location.volume);
      size += 2 + Buffer.byteLength(location.volume, 'utf8');
    }
    size += RECORD_HEAD + record.payload.byteLength;
  }
  const b = Buffer.allocUnsafe(size);
  let o = b.writeUInt32BE(n.jobId, 0);
  o = b.writeUInt32BE(n.sessionId, o);
  o = b.writeUInt16BE(volumes.length, o);
  for (const v of volumes) {
    const len = b.write(v, o + 2, 'utf8');
    b.writeUInt16BE(len, o);
    o += 2 + len;
  }
  o = b.writeUInt32BE(n.records.length, o);
  for (const { record, location } of n.records) {
    o = b.writeUInt32BE(record.fileIndex, o);
    o = b.writeUInt16BE(record.streamType, o);
    o = b.writeUInt16BE(record.streamNo, o);
    o = b.writeUInt16BE(volumeIndex.get(location.volume)!, o);
    o = b.writeUInt32BE(location.file, o);
    o = b.writeUInt32BE(location.block, o);
    o = b.writeUInt32BE(record.payload.byteLength, o);
    b.set(record.payload, o);
    o += record.payload.byteLength;
  }
  return b;
}

export function decodeNotification(body: unknown): SdNotification {
  if (Buffer.isBuffer(body)) return decodeCatalogRecords(body);
  return body as SdNotification;
}

export function decodeCatalogRecords(b: Buffer): CatalogRecords {
  try {
    const jobId = b.readUInt32BE(0);
    const sessionId = b.readUInt32BE(4);
    const nv = b.readUInt16BE(8);
    let o = 10;
    const volumes: string[] = [];
    for (let i = 0; i < nv; i++) {
      const len = b.readUInt16BE(o);
      volumes.push(b.toString('utf8', o + 2, o + 2 + len));
      o += 2 + len;
    }
    const count = b.readUInt32BE(o);
    o += 4;
    const records: CatalogRecords['records'] = new Array(count);
    for (let i = 0; i < count; i++) {
      const fileIndex = b.readUInt32BE(o);
      const streamType = b.readUInt16BE(o + 4);
      const streamNo = b.readUInt16BE(o + 6);
      const volume = volumes[b.readUInt16BE(o + 8)];
      const file = b.readUInt32BE(o + 10);
      const block = b.readUInt32BE(o + 14);
      const len = b.readUInt32BE(o + 18);
      o += RECORD_HEAD;
      if (volume === undefined || o + len > b.length) throw new Error('record runs past the end of the notification');
      const location: RecordLocation = { volume, file, block };
      records[i] = { record: { fileIndex, streamType, streamNo, payload: b.subarray(o, o + len) }, location };
      o += len;
    }
    return { type: 'catalog-records', jobId, sessionId, records };
  } catch (err) {
    throw new CairnError('CAIRN_E_PROTOCOL_REPLY', `a catalog-records notification is malformed: ${(err as Error).message}`, {}, { cause: err });
  }
}
