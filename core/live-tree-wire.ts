/**
 * The binary page of expected entries a Director sends for `verify live`
 * (protocol.md §9.4), big-endian: u32 count, then per entry u16 path length,
 * u8 kind (index in core/attributes.ts KINDS), u32 mode, u32 uid, u32 gid,
 * u64 size, i64 mtimeNs, u32 jobId, u8 digest length (0 or 32), the digest,
 * then the path bytes.
 */
import { Buffer } from 'node:buffer';
import { CairnError } from '../plugin-api/index.js';
import { KINDS } from './attributes.js';
import type { ExpectedEntry } from './live-tree-check.js';

const FIXED = 2 + 1 + 4 * 3 + 8 + 8 + 4 + 1;

export function encodeTreePage(rows: readonly ExpectedEntry[]): Buffer {
  let size = 4;
  for (const r of rows) size += FIXED + (r.digest?.length ?? 0) + r.path.length;
  const buf = Buffer.allocUnsafe(size);
  buf.writeUInt32BE(rows.length, 0);
  let o = 4;
  for (const r of rows) {
    const digest = r.digest ?? null;
    buf.writeUInt16BE(r.path.length, o);
    buf.writeUInt8(KINDS.indexOf(r.kind), o + 2);
    buf.writeUInt32BE(r.mode >>> 0, o + 3);
    buf.writeUInt32BE(r.uid >>> 0, o + 7);
    buf.writeUInt32BE(r.gid >>> 0, o + 11);
    buf.writeBigUInt64BE(BigInt(r.size), o + 15);
    buf.writeBigInt64BE(r.mtimeNs, o + 23);
    buf.writeUInt32BE(r.jobId >>> 0, o + 31);
    buf.writeUInt8(digest?.length ?? 0, o + 35);
    o += FIXED;
    if (digest) {
      buf.set(digest, o);
      o += digest.length;
    }
    buf.set(r.path, o);
    o += r.path.length;
  }
  return buf;
}

export function decodeTreePage(buf: Buffer): ExpectedEntry[] {
  const bad = (why: string) => new CairnError('CAIRN_E_PROTOCOL_COMMAND', `A page of the verify tree is malformed: ${why}.`, {});
  if (buf.length < 4) throw bad('shorter than its count');
  const n = buf.readUInt32BE(0);
  const out: ExpectedEntry[] = [];
  let o = 4;
  for (let i = 0; i < n; i++) {
    if (o + FIXED > buf.length) throw bad(`entry ${i} is cut off`);
    const len = buf.readUInt16BE(o);
    const kind = KINDS[buf.readUInt8(o + 2)];
    const dlen = buf.readUInt8(o + 35);
    if (!kind || (dlen !== 0 && dlen !== 32) || o + FIXED + dlen + len > buf.length) throw bad(`entry ${i} has a bad kind, digest or length`);
    out.push({
      kind,
      mode: buf.readUInt32BE(o + 3),
      uid: buf.readUInt32BE(o + 7),
      gid: buf.readUInt32BE(o + 11),
      size: Number(buf.readBigUInt64BE(o + 15)),
      mtimeNs: buf.readBigInt64BE(o + 23),
      jobId: buf.readUInt32BE(o + 31),
      digest: dlen ? Uint8Array.prototype.slice.call(buf, o + FIXED, o + FIXED + dlen) : null,
      path: Uint8Array.prototype.slice.call(buf, o + FIXED + dlen, o + FIXED + dlen + len),
    });
    o += FIXED + dlen + len;
  }
  return out;
}
