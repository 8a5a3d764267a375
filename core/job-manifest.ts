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
import { createHash } from 'node:crypto';
import { Buffer } from 'node:buffer';
import nacl from 'tweetnacl';
import { CairnError, StreamType } from '../plugin-api/index.js';
import type { DataRecord } from '../sd/index.js';

const MAGIC = 'CRNMANI1';
const DOMAIN = 'cairn manifest v1\0';
export const RECORD_ENTRY_BYTES = 44;
export const STREAM_ENTRY_BYTES = 46;
export const SIGNATURE_BYTES = 64;
/** A manifest record carries at most this many bytes (records are limited to 16 MiB − 12 on the wire). */
export const MANIFEST_PART_BYTES = 4 << 20;

export interface ManifestHead {
  version: 1;
  jobId: number;
  /** Fingerprint of the signing key. */
  signer: string;
  cipher: string;
  files: number;
  bytes: number;
  records: number;
  streams: number;
  createdAt: number;
}

export interface RecordDigest {
  fileIndex: number;
  streamType: number;
  streamNo: number;
  length: number;
  sha256: Buffer;
}

export interface StreamDigestEntry {
  fileIndex: number;
  streamNo: number;
  length: number;
  sha256: Buffer;
}

export interface Manifest {
  head: ManifestHead;
  records: RecordDigest[];
  streams: StreamDigestEntry[];
  /** The signed bytes' SHA-512 pre-hash and the signature. */
  prehash: Buffer;
  signature: Buffer;
}

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
      Buffer.from(MAGIC, 'latin1'),
      u32(json.length),
      json,
      u32(this.records),
      ...this.recordTable,
      this.recordBuf.subarray(0, this.recordUsed),
      u32(this.streams),
      ...this.streamTable,
    ]);
    const sig = nacl.sign.detached(prehash(body), signSecretKey);
    return Buffer.concat([body, Buffer.from(sig)]);
  }
}

function prehash(body: Uint8Array): Buffer {
  return createHash('sha512').update(DOMAIN).update(body).digest();
}

/** The manifest as MANIFEST records (fileIndex 0, streamNo = part number). */
export function manifestRecords(bytes: Buffer): DataRecord[] {
  const out: DataRecord[] = [];
  for (let o = 0, part = 0; o < bytes.length || part === 0; o += MANIFEST_PART_BYTES, part++) {
    out.push({ fileIndex: 0, streamType: StreamType.MANIFEST, streamNo: part, payload: bytes.subarray(o, o + MANIFEST_PART_BYTES) });
  }
  return out;
}

/** Decodes a manifest (the concatenation of its MANIFEST records' payloads). Does not check the signature: verifyManifest() does. */
export function parseManifest(bytes: Uint8Array): Manifest {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (why: string) => new CairnError('CAIRN_E_MANIFEST_INVALID', `job manifest: ${why}`, {});
  if (b.length < 8 + 4 + 4 + 4 + SIGNATURE_BYTES || b.toString('latin1', 0, 8) !== MAGIC) throw bad('no manifest magic');
  let o = 8;
  const jsonLen = b.readUInt32BE(o);
  o += 4;
  if (o + jsonLen > b.length) throw bad('head runs past the end');
  let head: ManifestHead;
  try {
    head = JSON.parse(b.toString('utf8', o, o + jsonLen)) as ManifestHead;
  } catch {
    throw bad('head is not JSON');
  }
  if (head.version !== 1) throw bad(`version ${String(head.version)}, this Cairn reads 1`);
  o += jsonLen;
  const nRec = b.readUInt32BE(o);
  o += 4;
  if (o + nRec * RECORD_ENTRY_BYTES + 4 > b.length) throw bad('record table runs past the end');
  const records: RecordDigest[] = new Array(nRec);
  for (let i = 0; i < nRec; i++, o += RECORD_ENTRY_BYTES) {
    records[i] = { fileIndex: b.readUInt32BE(o), streamType: b.readUInt16BE(o + 4), streamNo: b.readUInt16BE(o + 6), length: b.readUInt32BE(o + 8), sha256: b.subarray(o + 12, o + 44) };
  }
  const nStr = b.readUInt32BE(o);
  o += 4;
  if (o + nStr * STREAM_ENTRY_BYTES + SIGNATURE_BYTES !== b.length) throw bad(`stream table and signature do not end the manifest (${b.length - o} bytes left for ${nStr} streams)`);
  const streams: StreamDigestEntry[] = new Array(nStr);
  for (let i = 0; i < nStr; i++, o += STREAM_ENTRY_BYTES) {
    streams[i] = { fileIndex: b.readUInt32BE(o), streamNo: b.readUInt16BE(o + 4), length: Number(b.readBigUInt64BE(o + 6)), sha256: b.subarray(o + 14, o + 46) };
  }
  return { head, records, streams, prehash: prehash(b.subarray(0, o)), signature: b.subarray(o, o + SIGNATURE_BYTES) };
}

/** True when the manifest's signature verifies with the Ed25519 public key. */
export function verifyManifest(m: Manifest, signPublicKey: Uint8Array): boolean {
  return nacl.sign.detached.verify(m.prehash, m.signature, signPublicKey);
}

/** SHA-256 of the ATTRIBUTES record of each file, from the manifest (what a restore checks plaintext attributes against). */
export function attributeDigests(m: Manifest): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (const r of m.records) if (r.streamType === StreamType.ATTRIBUTES) out.set(r.fileIndex, r.sha256);
  return out;
}
