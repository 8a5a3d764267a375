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

/** Fixed part: version, kind, 5 × u32, f64, 3 × i64, 2 × u64. */
const FIXED_BYTES = 2 + 20 + 8 + 24 + 16;
const agentCache = new Map<string, Buffer>();

/** JSON of a stream list; the common one-stream shape is written without JSON.stringify's generic walk. */
function streamsJson(streams: readonly StreamDesc[]): string {
  if (streams.length === 1) {
    const s = streams[0];
    const keys = Object.keys(s);
    if (keys.length === 4 && keys[0] === 'index' && keys[1] === 'name' && keys[2] === 'layout' && keys[3] === 'size' && Number.isSafeInteger(s.size) && Number.isSafeInteger(s.index) && (s.layout === 'sequential' || s.layout === 'sparse') && /^[\w.-]*$/.test(s.name)) {
      return `[{"index":${s.index},"name":"${s.name}","layout":"${s.layout}","size":${s.size}}]`;
    }
  }
  return JSON.stringify(streams);
}

export function encodeAttributes(entry: FileEntry, agent: string): Buffer {
  const path = entry.path;
  const target = entry.kind === 'hardlink' ? entry.hardlinkTarget : entry.linkTarget;
  let agentBytes = agentCache.get(agent);
  if (!agentBytes) agentCache.set(agent, (agentBytes = Buffer.from(agent, 'ascii')));
  const streams = entry.streams.length ? streamsJson(entry.streams) : '';
  const streamsLength = streams.length ? Buffer.byteLength(streams, 'utf8') : 0;
  const meta = entry.meta ? Buffer.from(JSON.stringify(entry.meta)) : EMPTY;
  const targetLength = target?.byteLength ?? 0;
  const len = FIXED_BYTES + 20 + path.byteLength + targetLength + agentBytes.length + streamsLength + meta.length;
  const b = Buffer.allocUnsafe(len);
  const v = new DataView(b.buffer, b.byteOffset, len);
  const s = entry.stat;
  v.setUint8(0, VERSION);
  v.setUint8(1, KINDS.indexOf(entry.kind));
  v.setUint32(2, s.mode >>> 0);
  v.setUint32(6, s.uid >>> 0);
  v.setUint32(10, s.gid >>> 0);
  v.setUint32(14, s.nlink >>> 0);
  v.setUint32(18, s.rdev >>> 0);
  v.setFloat64(22, s.size);
  v.setBigInt64(30, s.mtimeNs);
  v.setBigInt64(38, s.atimeNs);
  v.setBigInt64(46, s.ctimeNs);
  v.setBigUint64(54, BigInt.asUintN(64, s.dev));
  v.setBigUint64(62, BigInt.asUintN(64, s.ino));
  let o = FIXED_BYTES;
  v.setUint32(o, path.byteLength);
  b.set(path, o + 4);
  o += 4 + path.byteLength;
  v.setUint32(o, targetLength);
  if (targetLength) b.set(target!, o + 4);
  o += 4 + targetLength;
  v.setUint32(o, agentBytes.length);
  b.set(agentBytes, o + 4);
  o += 4 + agentBytes.length;
  v.setUint32(o, streamsLength);
  if (streamsLength) b.write(streams, o + 4, 'utf8');
  o += 4 + streamsLength;
  v.setUint32(o, meta.length);
  if (meta.length) b.set(meta, o + 4);
  return b;
}

const EMPTY = Buffer.alloc(0);

const ONE_STREAM = /^\[\{"index":(\d{1,9}),"name":"([\w.-]*)","layout":"(sequential|sparse)","size":(\d{1,15})\}\]$/;

/** Inverse of streamsJson: the one-stream shape by a regular expression, anything else by JSON.parse. */
function parseStreams(text: string): StreamDesc[] {
  const m = ONE_STREAM.exec(text);
  if (m) return [{ index: Number(m[1]), name: m[2], layout: m[3] as StreamDesc['layout'], size: Number(m[4]) }];
  return JSON.parse(text) as StreamDesc[];
}

export function decodeAttributes(payload: Uint8Array): FileAttributes {
  const b = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  try {
    if (b.length < FIXED_BYTES + 20) throw new Error(`${b.length} bytes, fewer than the fixed fields`);
    const v = new DataView(b.buffer, b.byteOffset, b.length);
    const version = v.getUint8(0);
    if (version !== VERSION) throw new Error(`unknown attributes version ${version}`);
    const kind = KINDS[v.getUint8(1)];
    if (!kind) throw new Error('unknown file kind');
    const stat = {
      mode: v.getUint32(2),
      uid: v.getUint32(6),
      gid: v.getUint32(10),
      size: v.getFloat64(22),
      mtimeNs: v.getBigInt64(30),
      atimeNs: v.getBigInt64(38),
      ctimeNs: v.getBigInt64(46),
      dev: v.getBigUint64(54),
      ino: v.getBigUint64(62),
      nlink: v.getUint32(14),
      rdev: v.getUint32(18),
    };
    let o = FIXED_BYTES;
    const field = (): [number, number] => {
      if (o + 4 > b.length) throw new Error('field runs past the end of the record');
      const n = v.getUint32(o);
      const at = o + 4;
      if (at + n > b.length) throw new Error('field runs past the end of the record');
      o = at + n;
      return [at, n];
    };
    const [pathAt, pathLength] = field();
    const [targetAt, targetLength] = field();
    const [agentAt, agentLength] = field();
    const [streamsAt, streamsLength] = field();
    const [metaAt, metaLength] = field();
    const entry: FileEntry = {
      path: Buffer.from(b.subarray(pathAt, pathAt + pathLength)),
      kind,
      stat,
      streams: streamsLength ? parseStreams(b.toString('utf8', streamsAt, streamsAt + streamsLength)) : [],
    };
    if (targetLength) {
      const target = Buffer.from(b.subarray(targetAt, targetAt + targetLength));
      if (kind === 'hardlink') entry.hardlinkTarget = target;
      else entry.linkTarget = target;
    }
    if (metaLength) entry.meta = JSON.parse(b.toString('utf8', metaAt, metaAt + metaLength)) as Record<string, unknown>;
    return { entry, agent: b.toString('latin1', agentAt, agentAt + agentLength) };
  } catch (err) {
    throw new CairnError('CAIRN_E_RECORD_CORRUPT', `attributes record cannot be decoded: ${(err as Error).message}`, {}, { cause: err });
  }
}
