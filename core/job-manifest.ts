/**
 * The signed job manifest (docs/encryption.md §Manifest): what the FD sent,
 * signed with its Ed25519 key at the end of the job — counts, every
 * stream's plain SHA-256 and length, and the SHA-256 of every record's
 * payload as sent (ciphertext for sealed records) in session order, so a
 * verifier without any data key (the SD) can check the stored records
 * against it and a storage host that alters or swaps data is caught.
 *
 * Layout (big-endian):
 *   "CRNMANI1" (8) · u32 head length · head JSON ·
 *   u32 record count · per record u32 fileIndex, u16 streamType, u16 streamNo, u32 length, 32-byte SHA-256 ·
 *   u32 stream count · per stream u32 fileIndex, u16 streamNo, u64 length, 32-byte SHA-256 ·
 *   64-byte Ed25519 signature of SHA-512("cairn manifest v1\0" ‖ every byte before it).
 * On the volume it is split into MANIFEST records of at most MANIFEST_PART_BYTES
 * (fileIndex 0, streamNo = part number), after every other record of the session.
 */
import { Buffer } from 'node:buffer';
import nacl from 'tweetnacl';
import { StreamType } from '../plugin-api/index.js';
import { MANIFEST_MAGIC, RECORD_ENTRY_BYTES, STREAM_ENTRY_BYTES, manifestPrehash, type DataRecord, type Manifest, type ManifestHead } from '../sd/index.js';

// The read side (decoding, signature check) is the SD's too: its keyless verify reads the manifest (sd/volume/signed-manifest.ts).
export { parseManifest, verifyManifest, RECORD_ENTRY_BYTES, STREAM_ENTRY_BYTES, SIGNATURE_BYTES } from '../sd/index.js';
export type { Manifest, ManifestHead, RecordDigest, StreamDigestEntry } from '../sd/index.js';

/** A manifest record carries at most this many bytes (records are limited to 16 MiB − 12 on the wire). */
export const MANIFEST_PART_BYTES = 4 << 20;

/** Collects a session's record digests and stream digests as records leave for the SD. */
export class ManifestBuilder {
  private readonly recordTable: Buffer[] = [];
  private recordBuf = Buffer.allocUnsafe(RECORD_ENTRY_BYTES * 4096);
  private recordUsed = 0;
  private records = 0;
  private readonly streamTable: Buffer[] = [];
  private streams = 0;

  addRecord(rec: { fileIndex: number; streamType: number; streamNo: number }, length: number, sha256: Uint8Array): void {
    if (this.recordUsed + RECORD_ENTRY_BYTES > this.recordBuf.length) {
      this.recordTable.push(this.recordBuf.subarray(0, this.recordUsed));
      this.recordBuf = Buffer.allocUnsafe(this.recordBuf.length);
      this.recordUsed = 0;
    }
    const b = this.recordBuf;
    let o = this.recordUsed;
    o = b.writeUInt32BE(rec.fileIndex, o);
    o = b.writeUInt16BE(rec.streamType, o);
    o = b.writeUInt16BE(rec.streamNo, o);
    o = b.writeUInt32BE(length, o);
    b.set(sha256.subarray(0, 32), o);
    this.recordUsed = o + 32;
    this.records++;
  }

  addStream(fileIndex: number, streamNo: number, length: number, sha256: Uint8Array): void {
    const b = Buffer.allocUnsafe(STREAM_ENTRY_BYTES);
    b.writeUInt32BE(fileIndex, 0);
    b.writeUInt16BE(streamNo, 4);
    b.writeBigUInt64BE(BigInt(length), 6);
    b.set(sha256.subarray(0, 32), 14);
    this.streamTable.push(b);
    this.streams++;
  }

  /** Encodes and signs. `signSecretKey` is the 64-byte NaCl signing secret. */
  finish(head: Omit<ManifestHead, 'version' | 'records' | 'streams'>, signSecretKey: Uint8Array): Buffer {
    const h: ManifestHead = { version: 1, ...head, records: this.records, streams: this.streams };
    const json = Buffer.from(JSON.stringify(h), 'utf8');
    const u32 = (n: number) => {
      const b = Buffer.allocUnsafe(4);
      b.writeUInt32BE(n);
      return b;
    };
    const body = Buffer.concat([
      Buffer.from(MANIFEST_MAGIC, 'latin1'),
      u32(json.length),
      json,
      u32(this.records),
      ...this.recordTable,
      this.recordBuf.subarray(0, this.recordUsed),
      u32(this.streams),
      ...this.streamTable,
    ]);
    const sig = nacl.sign.detached(manifestPrehash(body), signSecretKey);
    return Buffer.concat([body, Buffer.from(sig)]);
  }
}

/** The manifest as MANIFEST records (fileIndex 0, streamNo = part number). */
export function manifestRecords(bytes: Buffer): DataRecord[] {
  const out: DataRecord[] = [];
  for (let o = 0, part = 0; o < bytes.length || part === 0; o += MANIFEST_PART_BYTES, part++) {
    out.push({ fileIndex: 0, streamType: StreamType.MANIFEST, streamNo: part, payload: bytes.subarray(o, o + MANIFEST_PART_BYTES) });
  }
  return out;
}

/** SHA-256 of the ATTRIBUTES record of each file, from the manifest (what a restore checks plaintext attributes against). */
export function attributeDigests(m: Manifest): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (const r of m.records) if (r.streamType === StreamType.ATTRIBUTES) out.set(r.fileIndex, r.sha256);
  return out;
}
