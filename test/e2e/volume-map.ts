/**
 * An independent reader of Cairn volume format v1 (docs/volume-format.md),
 * written from the spec for the damage tests: it tells which files have
 * bytes in which block, so a test knows, before it damages a block or cuts
 * a volume, exactly which files a correct restore must name.
 *
 * Owns: walking a volume's blocks (header, CRC ignored: it reads undamaged
 * volumes), its DATA blocks' fragments, and reassembling ATTRIBUTES records
 * into fileIndex → path (decoded with core's attributes codec). A pack's
 * records (PACK_INDEX, then PACK_DATA or PACK_DATA_ZSTD) hold bytes of every
 * member file: their blocks count for each member named in the index.
 * Handles one volume with any number of sessions; fileIndexes are per session.
 * For tampering tests: where each record's bytes lie (recordPlaces) and a
 * block's CRC recomputed after a change (fixCrc), so only a seal or a signed
 * manifest can tell.
 */
import { readFileSync, readSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { decodeAttributes, decodePackIndex } from '../../core/index.js';
import { StreamType, displayPath, isPackRecord } from '../../plugin-api/index.js';

const MAGIC = 0x43524e42;
const KIND_DATA = 3;
const NO_RECORD_START = 0xffffffff;

export interface Fragment {
  fileIndex: number;
  streamType: number;
  streamNo: number;
  total: number;
  offset: number;
  length: number;
}

export interface BlockInfo {
  block: number;
  kind: number;
  sessionId: number;
  payloadLength: number;
  headerLength: number;
  firstRecordOffset: number;
  fragments: Fragment[];
}

export interface FileInfo {
  sessionId: number;
  fileIndex: number;
  path: string;
  kind: string;
  /** Blocks holding any fragment of any of this file's records. */
  blocks: Set<number>;
}

export interface VolumeMap {
  blockSize: number;
  volumeName: string;
  blocks: BlockInfo[];
  /** Key `${sessionId}:${fileIndex}`. */
  files: Map<string, FileInfo>;
}

/** Reads a whole (small) volume file and maps its blocks and files. */
export function mapVolume(path: string): VolumeMap {
  const vol = readFileSync(path);
  const hdr0 = vol.readUInt16BE(12);
  const len0 = vol.readUInt32BE(28);
  const labelText = vol.subarray(hdr0 + 8, hdr0 + len0).toString('utf8');
  const label = JSON.parse(labelText) as { blockSize: number; volumeName: string };
  const blockSize = label.blockSize;
  const blocks: BlockInfo[] = [];
  const files = new Map<string, FileInfo>();
  const attrParts = new Map<string, Buffer[]>();
  const indexParts = new Map<number, Buffer[]>();
  /** Per session: the members of the pack whose records are being read, and the blocks its records touched. */
  const packs = new Map<number, { members: number[]; blocks: Set<number> }>();

  for (let n = 0; (n + 1) * blockSize <= vol.length; n++) {
    const b = vol.subarray(n * blockSize, (n + 1) * blockSize);
    if (b.readUInt32BE(0) !== MAGIC) throw new Error(`volume-map: block ${n} of ${path} has no block magic`);
    const info: BlockInfo = {
      block: n,
      kind: b.readUInt16BE(6),
      sessionId: b.readUInt32BE(20),
      headerLength: b.readUInt16BE(12),
      payloadLength: b.readUInt32BE(28),
      firstRecordOffset: b.readUInt32BE(32),
      fragments: [],
    };
    blocks.push(info);
    if (info.kind !== KIND_DATA) continue;
    const payload = b.subarray(info.headerLength, info.headerLength + info.payloadLength);
    let o = 0;
    while (o + 20 <= payload.length) {
      const f: Fragment = {
        fileIndex: payload.readUInt32BE(o),
        streamType: payload.readUInt16BE(o + 4),
        streamNo: payload.readUInt16BE(o + 6),
        total: payload.readUInt32BE(o + 8),
        offset: payload.readUInt32BE(o + 12),
        length: payload.readUInt32BE(o + 16),
      };
      const bytes = payload.subarray(o + 20, o + 20 + f.length);
      o += 20 + f.length;
      info.fragments.push(f);
      if (f.fileIndex === 0) continue;
      if (isPackRecord(f.streamType)) {
        notePack(info.sessionId, f, bytes, n);
        continue;
      }
      const key = `${info.sessionId}:${f.fileIndex}`;
      if (f.streamType === StreamType.ATTRIBUTES) {
        const parts = attrParts.get(key) ?? [];
        parts.push(Buffer.from(bytes));
        attrParts.set(key, parts);
        if (f.offset + f.length === f.total) {
          const attrs = decodeAttributes(Buffer.concat(parts));
          const prev = files.get(key);
          files.set(key, { sessionId: info.sessionId, fileIndex: f.fileIndex, path: displayPath(attrs.entry.path), kind: attrs.entry.kind, blocks: prev?.blocks ?? new Set() });
        }
      }
      const entry = files.get(key);
      if (entry) entry.blocks.add(n);
      else files.set(key, { sessionId: info.sessionId, fileIndex: f.fileIndex, path: '', kind: '', blocks: new Set([n]) });
    }
    if (info.firstRecordOffset !== NO_RECORD_START && info.firstRecordOffset > info.payloadLength) {
      throw new Error(`volume-map: block ${n} first record offset ${info.firstRecordOffset} past its payload`);
    }
  }
  return { blockSize, volumeName: label.volumeName, blocks, files };

  function notePack(sessionId: number, f: Fragment, bytes: Buffer, n: number): void {
    if (f.streamType === StreamType.PACK_INDEX) {
      if (f.offset === 0) packs.set(sessionId, { members: [], blocks: new Set() });
      const parts = indexParts.get(sessionId) ?? [];
      parts.push(Buffer.from(bytes));
      indexParts.set(sessionId, parts);
      if (f.offset + f.length === f.total) {
        packs.get(sessionId)!.members = decodePackIndex(Buffer.concat(parts), f.fileIndex, f.fileIndex + f.streamNo).map((m) => m.fileIndex);
        indexParts.delete(sessionId);
      }
    }
    const pack = packs.get(sessionId)!;
    pack.blocks.add(n);
    if (f.streamType !== StreamType.PACK_INDEX && f.offset + f.length === f.total) {
      // The pack's data record is complete: every member has bytes in every block the pack's records touched.
      for (const fileIndex of pack.members) {
        const key = `${sessionId}:${fileIndex}`;
        const entry = files.get(key) ?? { sessionId, fileIndex, path: '', kind: '', blocks: new Set<number>() };
        for (const b of pack.blocks) entry.blocks.add(b);
        files.set(key, entry);
      }
      packs.delete(sessionId);
    }
  }
}

/** Files (by path) with any fragment in one of `blocks`. */
export function filesTouching(map: VolumeMap, blocks: (n: number) => boolean): FileInfo[] {
  return [...map.files.values()].filter((f) => [...f.blocks].some(blocks));
}

// --- record places and CRC fix-ups (tampering tests) ----------------------------------------------

export interface Segment {
  /** Absolute byte offset of the fragment's bytes in the volume file. */
  at: number;
  length: number;
  block: number;
}

export interface RecordPlace {
  fileIndex: number;
  streamType: number;
  total: number;
  segments: Segment[];
}

/** Every record of the volume with where its bytes lie (fragments in order, docs/volume-format.md §5.2). */
export function recordPlaces(map: VolumeMap): RecordPlace[] {
  const out: RecordPlace[] = [];
  const open = new Map<number, RecordPlace>();
  for (const b of map.blocks) {
    if (b.kind !== 3) continue;
    let o = b.block * map.blockSize + b.headerLength;
    for (const f of b.fragments) {
      const seg = { at: o + 20, length: f.length, block: b.block };
      o += 20 + f.length;
      if (f.offset === 0) {
        const r = { fileIndex: f.fileIndex, streamType: f.streamType, total: f.total, segments: [seg] };
        out.push(r);
        open.set(b.sessionId, r);
      } else {
        open.get(b.sessionId)?.segments.push(seg);
      }
    }
  }
  return out;
}

/** Recomputes a block's CRC (docs/volume-format.md §3.2), so only the seal can tell the change. */
export function fixCrc(fd: number, map: VolumeMap, block: number): void {
  const b = Buffer.alloc(map.blockSize);
  readSync(fd, b, 0, map.blockSize, block * map.blockSize);
  const end = b.readUInt16BE(12) + b.readUInt32BE(28);
  const crc = crc32(b.subarray(12, end), crc32(b.subarray(0, 8)));
  b.writeUInt32BE(crc >>> 0, 8);
  writeSync(fd, b, 8, 4, block * map.blockSize + 8);
}
