/**
 * The Director↔FD conversation's bodies (docs/protocol.md §9): the JSON forms
 * of backup and restore orders and outcomes, and the binary form of a page of
 * base-job files. Both ends use these, so each shape is written once.
 */
import { Buffer } from 'node:buffer';
import { CairnError, type BaseFile } from '../plugin-api/index.js';
import { KINDS } from './attributes.js';
import type { BackupOutcome, RestoreOutcome, SessionCrypto } from './file-daemon.js';

/** An error as it travels: code, message, facts. */
export interface WireError {
  code: string;
  message: string;
  fields?: Record<string, unknown>;
}

export function toWireError(e: CairnError): WireError {
  return { code: e.code, message: e.message, fields: e.fields as Record<string, unknown> };
}

export function fromWireError(e: WireError): CairnError {
  return new CairnError(e.code, e.message, (e.fields ?? {}) as ConstructorParameters<typeof CairnError>[2]);
}

/**
 * A signed manifest travels inline (base64 in the JSON body) up to this many bytes; a larger one is named by
 * its size (`manifestBytes`) and fetched in pieces of this size with `manifest JobId=N Offset=O` (protocol.md
 * §9.3), so no frame ever nears the 16 MiB limit however many records a job has. The environment variable
 * CAIRN_MANIFEST_INLINE_BYTES lowers it (a receiver takes either form, so the choice is the sender's).
 */
export function manifestInlineBytes(): number {
  const v = Number(process.env.CAIRN_MANIFEST_INLINE_BYTES);
  return Number.isSafeInteger(v) && v > 0 ? Math.min(v, MANIFEST_PIECE_BYTES) : MANIFEST_PIECE_BYTES;
}

/** The largest piece one `manifest` reply carries. */
export const MANIFEST_PIECE_BYTES = 4 << 20;

/** A manifest as it travels: inline in base64, or only its size when it is fetched in pieces. */
type WireManifest = { manifest?: string; manifestBytes?: number };

function manifestToWire(m: Uint8Array | undefined): WireManifest {
  if (!m) return {};
  return m.length <= manifestInlineBytes() ? { manifest: Buffer.from(m).toString('base64') } : { manifestBytes: m.length };
}

/** An encrypted job's header and manifest as they travel. */
export type WireCrypto = Omit<NonNullable<BackupOutcome['crypto']>, 'manifest'> & WireManifest;

export type WireBackupOutcome = Omit<BackupOutcome, 'error' | 'crypto'> & { error?: WireError; crypto?: WireCrypto };

export function backupOutcomeToWire(o: BackupOutcome): WireBackupOutcome {
  const crypto = o.crypto ? { header: o.crypto.header, ...manifestToWire(o.crypto.manifest) } : undefined;
  return { ...o, error: o.error ? toWireError(o.error) : undefined, crypto };
}

/** The outcome; an encrypted job's manifest sent by size only is left out here (fetch it with fetchManifest). */
export function backupOutcomeFromWire(o: WireBackupOutcome): BackupOutcome {
  const crypto = o.crypto ? { header: o.crypto.header, ...(o.crypto.manifest ? { manifest: Buffer.from(o.crypto.manifest, 'base64') } : {}) } : undefined;
  return { ...o, error: o.error ? fromWireError(o.error) : undefined, crypto };
}

/** A read session's encryption (header, later wraps, manifest) as it travels. */
export type WireSessionCrypto = Omit<SessionCrypto, 'manifest'> & WireManifest;

export function sessionCryptoToWire(c: SessionCrypto | undefined): WireSessionCrypto | undefined {
  if (!c) return undefined;
  return { header: c.header, ...(c.wraps ? { wraps: c.wraps } : {}), ...manifestToWire(c.manifest) };
}

/** The session's encryption; a manifest sent by size only is left out here (fetch it with fetchManifest). */
export function sessionCryptoFromWire(c: WireSessionCrypto | undefined): SessionCrypto | undefined {
  if (!c) return undefined;
  return { header: c.header, ...(c.wraps ? { wraps: c.wraps } : {}), ...(c.manifest ? { manifest: Buffer.from(c.manifest, 'base64') } : {}) };
}

/** One `manifest` reply: the piece of `manifest` at `offset` (at most manifestInlineBytes(), itself at most MANIFEST_PIECE_BYTES). */
export function manifestPiece(manifest: Uint8Array | undefined, jobId: number, offset: number): Buffer {
  if (!manifest) throw new CairnError('CAIRN_E_FD_NO_JOB', `No manifest of job ${jobId} is held here.`, { jobId });
  if (!Number.isSafeInteger(offset) || offset < 0 || offset >= manifest.length) throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', `Offset ${offset} is outside job ${jobId}'s manifest of ${manifest.length} bytes.`, { jobId, offset });
  return Buffer.from(manifest.buffer, manifest.byteOffset + offset, Math.min(manifestInlineBytes(), manifest.length - offset));
}

/** Fetches a manifest of `total` bytes piece by piece; `piece(offset)` sends `manifest JobId=N Offset=offset`. */
export async function fetchManifest(jobId: number, total: number, piece: (offset: number) => Promise<unknown>): Promise<Buffer> {
  const out = Buffer.allocUnsafe(total);
  for (let at = 0; at < total; ) {
    const b = await piece(at);
    if (!Buffer.isBuffer(b) || b.length === 0 || at + b.length > total) throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', `A manifest piece of job ${jobId} at offset ${at} is ${Buffer.isBuffer(b) ? `${b.length} bytes` : 'not binary'} (manifest of ${total} bytes).`, { jobId, offset: at });
    b.copy(out, at);
    at += b.length;
  }
  return out;
}

export type WireRestoreOutcome = Omit<RestoreOutcome, 'error' | 'completed'> & { completed: string[]; error?: WireError };

export function restoreOutcomeToWire(o: RestoreOutcome): WireRestoreOutcome {
  return { ...o, completed: [...o.completed], error: o.error ? toWireError(o.error) : undefined };
}

export function restoreOutcomeFromWire(o: WireRestoreOutcome): RestoreOutcome {
  return { ...o, completed: new Set(o.completed), error: o.error ? fromWireError(o.error) : undefined };
}

/** Fixed part of one base-file entry: u16 path length, u8 kind, u64 size, i64 mtimeNs, i64 ctimeNs, u64 ino, u64 dev, u32 mode. */
const FIXED = 2 + 1 + 8 * 5 + 4;

/** A page of base files, big-endian: u32 count, then per file the fixed part and the path bytes. */
export function encodeBaseFiles(files: BaseFile[]): Buffer {
  let size = 4;
  for (const f of files) size += FIXED + f.path.length;
  const buf = Buffer.allocUnsafe(size);
  buf.writeUInt32BE(files.length, 0);
  let o = 4;
  for (const f of files) {
    buf.writeUInt16BE(f.path.length, o);
    buf.writeUInt8(KINDS.indexOf(f.kind), o + 2);
    buf.writeBigUInt64BE(BigInt(f.size), o + 3);
    buf.writeBigInt64BE(f.mtimeNs, o + 11);
    buf.writeBigInt64BE(f.ctimeNs, o + 19);
    buf.writeBigUInt64BE(f.ino, o + 27);
    buf.writeBigUInt64BE(f.dev, o + 35);
    buf.writeUInt32BE(f.mode >>> 0, o + 43);
    o += FIXED;
    buf.set(f.path, o);
    o += f.path.length;
  }
  return buf;
}

export function decodeBaseFiles(buf: Buffer): BaseFile[] {
  const bad = (why: string) => new CairnError('CAIRN_E_PROTOCOL_COMMAND', `A page of base files is malformed: ${why}.`, {});
  if (buf.length < 4) throw bad('shorter than its count');
  const n = buf.readUInt32BE(0);
  const out: BaseFile[] = [];
  let o = 4;
  for (let i = 0; i < n; i++) {
    if (o + FIXED > buf.length) throw bad(`entry ${i} is cut off`);
    const len = buf.readUInt16BE(o);
    const kind = KINDS[buf.readUInt8(o + 2)];
    if (!kind || o + FIXED + len > buf.length) throw bad(`entry ${i} has a bad kind or length`);
    out.push({
      kind,
      size: Number(buf.readBigUInt64BE(o + 3)),
      mtimeNs: buf.readBigInt64BE(o + 11),
      ctimeNs: buf.readBigInt64BE(o + 19),
      ino: buf.readBigUInt64BE(o + 27),
      dev: buf.readBigUInt64BE(o + 35),
      mode: buf.readUInt32BE(o + 43),
      path: Uint8Array.prototype.slice.call(buf, o + FIXED, o + FIXED + len),
    });
    o += FIXED + len;
  }
  return out;
}
