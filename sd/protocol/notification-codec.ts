/**
 * SdNotification on the wire: a `3201 notification <type>` frame whose JSON
 * body is the notification, record payloads as base64 strings.
 */
import type { RecordLocation, SdNotification } from '../api.js';

interface WireCatalogRecord {
  record: { fileIndex: number; streamType: number; streamNo: number; payload: string };
  location: RecordLocation;
}

export function encodeNotification(n: SdNotification): unknown {
  if (n.type !== 'catalog-records') return n;
  const records: WireCatalogRecord[] = n.records.map((r) => ({
    record: { fileIndex: r.record.fileIndex, streamType: r.record.streamType, streamNo: r.record.streamNo, payload: Buffer.from(r.record.payload.buffer, r.record.payload.byteOffset, r.record.payload.byteLength).toString('base64') },
    location: r.location,
  }));
  return { ...n, records };
}

export function decodeNotification(body: unknown): SdNotification {
  const n = body as { type: string; records?: WireCatalogRecord[] };
  if (n.type !== 'catalog-records') return body as SdNotification;
  const c = body as Extract<SdNotification, { type: 'catalog-records' }>;
  return {
    type: 'catalog-records',
    jobId: c.jobId,
    sessionId: c.sessionId,
    records: (n.records ?? []).map((r) => ({ record: { ...r.record, payload: Buffer.from(r.record.payload, 'base64') }, location: r.location })),
  };
}
