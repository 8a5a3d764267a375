/**
 * Sealing one record of an encrypted job (docs/encryption.md §Chunks): an
 * AEAD (AES-256-GCM or ChaCha20-Poly1305 from node:crypto) under the job's
 * data key, with a nonce derived from the record's place in the session and
 * an AAD that binds the job id, file index, stream, chunk index, record kind
 * and a final-chunk flag. A chunk therefore opens only at the place it was
 * sealed for: reordered, moved to another file or stream, or replayed from
 * another job, it fails authentication.
 *
 * Imported by the zstd worker (core/zstd-worker.ts): node built-ins only.
 */
import { createCipheriv, createDecipheriv, type CipherGCMTypes, type CipherChaCha20Poly1305Types } from 'node:crypto';
import { Buffer } from 'node:buffer';

export type CipherName = 'aes-256-gcm' | 'chacha20-poly1305';
export const CIPHERS: readonly CipherName[] = ['aes-256-gcm', 'chacha20-poly1305'];
/** Default cipher: AES-256-GCM (hardware AES and carry-less multiply on x86-64 and arm64; measured in docs/encryption.md). */
export const DEFAULT_CIPHER: CipherName = 'aes-256-gcm';

export const DATA_KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;

/** What a sealed record is; part of both the nonce and the AAD, so the kinds never share a nonce. */
export const SealKind = {
  /** A chunk of a stream (record type DATA_SEALED). */
  DATA: 1,
  /** A pack's bytes (record type PACK_SEALED); the AAD also carries the SHA-256 of its PACK_INDEX payload. */
  PACK: 2,
  /** A stream's end: its digest, length and chunk count, authenticated not encrypted (record type DIGEST_SEALED). */
  DIGEST: 3,
} as const;

/** Where a sealed record belongs. */
export interface SealPlace {
  jobId: number;
  fileIndex: number;
  streamNo: number;
  kind: number;
  /** 0, 1, 2 … per stream (data chunks); the DIGEST record's chunk is the stream's chunk count; a pack's is 0. */
  chunk: number;
  /** The last record of its stream (DIGEST records and packs). */
  final: boolean;
  /** PACK: SHA-256 of the PACK_INDEX payload before it (32 bytes). */
  bound?: Uint8Array;
}

const AAD_MAGIC = 0x43524e53; // "CRNS"
const AAD_VERSION = 1;
export const AAD_BYTES = 28;

/** 96-bit nonce: u32 fileIndex, u16 streamNo, u8 kind, u8 0, u32 chunk. Unique per place within a job; the key is unique per job. */
export function sealNonce(p: SealPlace): Buffer {
  const n = Buffer.alloc(NONCE_BYTES);
  n.writeUInt32BE(p.fileIndex >>> 0, 0);
  n.writeUInt16BE(p.streamNo, 4);
  n.writeUInt8(p.kind, 6);
  n.writeUInt32BE(p.chunk >>> 0, 8);
  return n;
}

/** AAD: "CRNS", u8 version, u8 kind, u8 final, u8 0, u64 jobId, u32 fileIndex, u16 streamNo, u16 0, u32 chunk, then `bound` (packs). */
export function sealAad(p: SealPlace): Buffer {
  const a = Buffer.alloc(AAD_BYTES + (p.bound ? p.bound.byteLength : 0));
  a.writeUInt32BE(AAD_MAGIC, 0);
  a.writeUInt8(AAD_VERSION, 4);
  a.writeUInt8(p.kind, 5);
  a.writeUInt8(p.final ? 1 : 0, 6);
  a.writeBigUInt64BE(BigInt(p.jobId), 8);
  a.writeUInt32BE(p.fileIndex >>> 0, 16);
  a.writeUInt16BE(p.streamNo, 20);
  a.writeUInt32BE(p.chunk >>> 0, 24);
  if (p.bound) a.set(p.bound, AAD_BYTES);
  return a;
}

function cipherOf(name: CipherName, key: Uint8Array, nonce: Buffer) {
  return name === 'aes-256-gcm' ? createCipheriv(name as CipherGCMTypes, key, nonce, { authTagLength: TAG_BYTES }) : createCipheriv(name as CipherChaCha20Poly1305Types, key, nonce, { authTagLength: TAG_BYTES });
}

function decipherOf(name: CipherName, key: Uint8Array, nonce: Buffer) {
  return name === 'aes-256-gcm' ? createDecipheriv(name as CipherGCMTypes, key, nonce, { authTagLength: TAG_BYTES }) : createDecipheriv(name as CipherChaCha20Poly1305Types, key, nonce, { authTagLength: TAG_BYTES });
}

/**
 * Seals the concatenation of `parts` for `place`: returns ciphertext || tag (the record payload).
 * `extraAad` is appended to the place's AAD (DIGEST records authenticate their body this way).
 */
export function seal(name: CipherName, key: Uint8Array, place: SealPlace, parts: readonly Uint8Array[], extraAad?: Uint8Array): Buffer {
  const c = cipherOf(name, key, sealNonce(place));
  const aad = sealAad(place);
  c.setAAD(extraAad ? Buffer.concat([aad, extraAad]) : aad);
  let total = 0;
  for (const p of parts) total += p.byteLength;
  const out = Buffer.allocUnsafe(total + TAG_BYTES);
  let o = 0;
  for (const p of parts) {
    if (!p.byteLength) continue;
    const piece = c.update(p);
    piece.copy(out, o);
    o += piece.length;
  }
  const last = c.final();
  last.copy(out, o);
  o += last.length;
  c.getAuthTag().copy(out, o);
  return out;
}

/** Opens a payload sealed for `place`; null when it does not authenticate (altered, moved, reordered, other key). */
export function open(name: CipherName, key: Uint8Array, place: SealPlace, payload: Uint8Array, extraAad?: Uint8Array): Buffer | null {
  if (payload.byteLength < TAG_BYTES) return null;
  const p = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const d = decipherOf(name, key, sealNonce(place));
  const aad = sealAad(place);
  d.setAAD(extraAad ? Buffer.concat([aad, extraAad]) : aad);
  d.setAuthTag(p.subarray(p.length - TAG_BYTES));
  try {
    const body = d.update(p.subarray(0, p.length - TAG_BYTES));
    const fin = d.final();
    return fin.length ? Buffer.concat([body, fin]) : body;
  } catch {
    return null;
  }
}

/** DIGEST_SEALED body: SHA-256 (32), logical length (u64), chunk count (u32); the payload is body || tag. */
export const DIGEST_BODY_BYTES = 44;

export function sealDigest(name: CipherName, key: Uint8Array, jobId: number, fileIndex: number, streamNo: number, digest40: Uint8Array, chunks: number): Buffer {
  const body = Buffer.alloc(DIGEST_BODY_BYTES);
  body.set(digest40.subarray(0, 40), 0);
  body.writeUInt32BE(chunks >>> 0, 40);
  const tag = seal(name, key, { jobId, fileIndex, streamNo, kind: SealKind.DIGEST, chunk: chunks, final: true }, [], body);
  return Buffer.concat([body, tag]);
}

/** Checks a DIGEST_SEALED payload: its 40-byte DIGEST_SHA256-layout part and chunk count, or null when it does not authenticate. */
export function openDigest(name: CipherName, key: Uint8Array, jobId: number, fileIndex: number, streamNo: number, payload: Uint8Array): { digest40: Buffer; chunks: number } | null {
  if (payload.byteLength !== DIGEST_BODY_BYTES + TAG_BYTES) return null;
  const p = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const body = p.subarray(0, DIGEST_BODY_BYTES);
  const chunks = body.readUInt32BE(40);
  const ok = open(name, key, { jobId, fileIndex, streamNo, kind: SealKind.DIGEST, chunk: chunks, final: true }, p.subarray(DIGEST_BODY_BYTES), body);
  return ok ? { digest40: Buffer.from(body.subarray(0, 40)), chunks } : null;
}
