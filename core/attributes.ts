/**
 * The ATTRIBUTES record payload: one per file, first of its records.
 * Layout (docs/volume-format.md §Attributes): all integers big-endian.
 *
 *   u8  version (1)
 *   u8  kind (index in KINDS)
 *   u32 mode, u32 uid, u32 gid, u32 nlink, u32 rdev
 *   f64 size (exact up to 2^53)
 *   i64 mtimeNs, i64 atimeNs, i64 ctimeNs
 *   u64 dev, u64 ino
 *   u32 len + bytes: path
 *   u32 len + bytes: link target (symlink) or hard-link target (hardlink), 0 if none
 *   u32 len + bytes: agent identity "name/formatMajor" (ASCII)
 *   u32 len + bytes: streams JSON [{index,name,layout,size?}] or empty
 *   u32 len + bytes: meta JSON or empty
 */
import { Buffer } from 'node:buffer';
import { CairnError, type FileEntry, type FileKind, type StreamDesc } from '../plugin-api/index.js';

export const KINDS: readonly FileKind[] = ['file', 'dir', 'symlink', 'hardlink', 'fifo', 'chardev', 'blockdev', 'socket', 'deleted'];
const VERSION = 1;

export interface FileAttributes {
  entry: FileEntry;
  /** Agent identity, `name/formatMajor`. */
  agent: string;
}

export function encodeAttributes(entry: FileEntry, agent: string): Buffer {
  const path = entry.path;
  const target = entry.kind === 'hardlink' ? entry.hardlinkTarget : entry.linkTarget;
  const agentBytes = Buffer.from(agent, 'ascii');
  const streams = entry.streams.length ? Buffer.from(JSON.stringify(entry.streams)) : EMPTY;
  const meta = entry.meta ? Buffer.from(JSON.stringify(entry.meta)) : EMPTY;
  const len = 2 + 20 + 8 + 24 + 16 + 20 + path.byteLength + (target?.byteLength ?? 0) + agentBytes.length + streams.length + meta.length;
  const b = Buffer.allocUnsafe(len);
  const s = entry.stat;
  let o = 0;
  o = b.writeUInt8(VERSION, o);
  o = b.writeUInt8(KINDS.indexOf(entry.kind), o);
  o = b.writeUInt32BE(s.mode >>> 0, o);
  o = b.writeUInt32BE(s.uid >>> 0, o);
  o = b.writeUInt32BE(s.gid >>> 0, o);
  o = b.writeUInt32BE(s.nlink >>> 0, o);
  o = b.writeUInt32BE(s.rdev >>> 0, o);
  o = b.writeDoubleBE(s.size, o);
  o = b.writeBigInt64BE(s.mtimeNs, o);
  o = b.writeBigInt64BE(s.atimeNs, o);
  o = b.writeBigInt64BE(s.ctimeNs, o);
  o = b.writeBigUInt64BE(BigInt.asUintN(64, s.dev), o);
  o = b.writeBigUInt64BE(BigInt.asUintN(64, s.ino), o);
  for (const part of [path, target, agentBytes, streams, meta]) {
    const n = part?.byteLength ?? 0;
    o = b.writeUInt32BE(n, o);
    if (n) {
      b.set(part!, o);
      o += n;
    }
  }
  return b;
}

const EMPTY = Buffer.alloc(0);

export function decodeAttributes(payload: Uint8Array): FileAttributes {
  const b = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  try {
    let o = 0;
    const version = b.readUInt8(o++);
    if (version !== VERSION) throw new Error(`unknown attributes version ${version}`);
    const kind = KINDS[b.readUInt8(o++)];
    if (!kind) throw new Error('unknown file kind');
    const mode = b.readUInt32BE(o); o += 4;
    const uid = b.readUInt32BE(o); o += 4;
    const gid = b.readUInt32BE(o); o += 4;
    const nlink = b.readUInt32BE(o); o += 4;
    const rdev = b.readUInt32BE(o); o += 4;
    const size = b.readDoubleBE(o); o += 8;
    const mtimeNs = b.readBigInt64BE(o); o += 8;
    const atimeNs = b.readBigInt64BE(o); o += 8;
    const ctimeNs = b.readBigInt64BE(o); o += 8;
    const dev = b.readBigUInt64BE(o); o += 8;
    const ino = b.readBigUInt64BE(o); o += 8;
    const parts: Buffer[] = [];
    for (let i = 0; i < 5; i++) {
      const n = b.readUInt32BE(o); o += 4;
      if (o + n > b.length) throw new Error('field runs past the end of the record');
      parts.push(b.subarray(o, o + n));
      o += n;
    }
    const [path, target, agent, streams, meta] = parts;
    const entry: FileEntry = {
      path: Buffer.from(path),
      kind,
      stat: { mode, uid, gid, size, mtimeNs, atimeNs, ctimeNs, dev, ino, nlink, rdev },
      streams: streams.length ? (JSON.parse(streams.toString('utf8')) as StreamDesc[]) : [],
    };
    if (target.length) {
      if (kind === 'hardlink') entry.hardlinkTarget = Buffer.from(target);
      else entry.linkTarget = Buffer.from(target);
    }
    if (meta.length) entry.meta = JSON.parse(meta.toString('utf8')) as Record<string, unknown>;
    return { entry, agent: agent.toString('ascii') };
  } catch (err) {
    throw new CairnError('CAIRN_E_RECORD_CORRUPT', `attributes record cannot be decoded: ${(err as Error).message}`, {}, { cause: err });
  }
}
