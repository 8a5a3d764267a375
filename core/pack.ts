/**
 * Packs: many small streams in one record. A file whose only stream is small
 * (at most PACK_MEMBER_MAX_BYTES) does not get data and digest records of its
 * own; its bytes join a pack, and when the pack holds PACK_TARGET_BYTES (or
 * before any other data record) it is written as two records: PACK_INDEX (the
 * member table: file index, stream number, length, SHA-256 of each member)
 * then PACK_DATA_ZSTD (one zstd frame over all members' bytes) or PACK_DATA.
 * One frame per pack instead of one per file: zstd compresses 1 MiB at 2.5×
 * the speed and 1.5× the ratio of 8 KiB pieces, and a small file costs one
 * record (its attributes) instead of three. docs/volume-format.md §Packs.
 */
import { Buffer } from 'node:buffer';
import { CairnError, type FileEntry, type StreamDesc } from '../plugin-api/index.js';

/** A stream joins a pack when its declared size is at most this (and it has not grown past it when read). */
export const PACK_MEMBER_MAX_BYTES = 64 << 10;
/** A pack is written once its members hold this many bytes: one zstd task of ~3 ms. */
export const PACK_TARGET_BYTES = 1 << 20;
/** …or once it has this many members (bounds the member table and the restore's waiting list). */
export const PACK_MAX_MEMBERS = 4096;
/** The span (last member's file index − first's) travels in the u16 streamNo field of pack records. */
export const PACK_MAX_SPAN = 0xffff;

const INDEX_VERSION = 1;
const INDEX_HEAD_BYTES = 8;
const MEMBER_BYTES = 4 + 2 + 4 + 32;

/** Bytes of the PACK_INDEX payload for `members` members. */
export function packIndexBytes(members: number): number {
  return INDEX_HEAD_BYTES + members * MEMBER_BYTES;
}

export interface PackMember {
  fileIndex: number;
  streamNo: number;
  length: number;
  /** SHA-256 of the member's bytes. */
  digest: Buffer;
}

/** The one stream of `entry` that may join a pack, or null: one sequential stream declared small. */
export function packableStream(entry: FileEntry): StreamDesc | null {
  if (entry.kind !== 'file' || entry.streams.length !== 1) return null;
  const s = entry.streams[0];
  return s.layout === 'sequential' && s.size !== undefined && s.size <= PACK_MEMBER_MAX_BYTES ? s : null;
}

/** PACK_INDEX payload: u8 version, 3 bytes zero, u32 count, then per member u32 fileIndex, u16 streamNo, u32 length, 32-byte SHA-256. */
export function encodePackIndex(members: readonly PackMember[]): Buffer {
  return encodePackIndexOf(members, members.map((m) => m.digest));
}

/** encodePackIndex with the digests beside the members (the builder's layout: no object per member). */
export function encodePackIndexOf(members: readonly Omit<PackMember, 'digest'>[], digests: readonly Uint8Array[]): Buffer {
  const b = Buffer.alloc(packIndexBytes(members.length));
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  v.setUint8(0, INDEX_VERSION);
  v.setUint32(4, members.length);
  let o = INDEX_HEAD_BYTES;
  for (let i = 0; i < members.length; i++) {
    const m = members[i];
    v.setUint32(o, m.fileIndex);
    v.setUint16(o + 4, m.streamNo);
    v.setUint32(o + 6, m.length);
    b.set(digests[i].subarray(0, 32), o + 10);
    o += MEMBER_BYTES;
  }
  return b;
}

/** Reads a PACK_INDEX payload; `first`/`last` are the record's file index span, which every member must lie in. */
export function decodePackIndex(payload: Uint8Array, first: number, last: number): PackMember[] {
  // A copy: the members' digests are views of it and outlive the record (whose buffer may be reused).
  const b = Buffer.from(payload);
  const corrupt = (why: string): CairnError => new CairnError('CAIRN_E_RECORD_CORRUPT', `pack index of files ${first}–${last}: ${why}`, { fileIndex: first });
  if (b.length < INDEX_HEAD_BYTES) throw corrupt('shorter than its header');
  if (b[0] !== INDEX_VERSION) throw corrupt(`version ${b[0]}, this reader knows ${INDEX_VERSION}`);
  const count = b.readUInt32BE(4);
  if (b.length !== INDEX_HEAD_BYTES + count * MEMBER_BYTES) throw corrupt(`${b.length} bytes for ${count} members`);
  const members: PackMember[] = [];
  let prev = 0;
  for (let i = 0, o = INDEX_HEAD_BYTES; i < count; i++, o += MEMBER_BYTES) {
    const fileIndex = b.readUInt32BE(o);
    if (fileIndex < first || fileIndex > last || fileIndex <= prev) throw corrupt(`member ${i} has file index ${fileIndex} (members ascend within the span)`);
    prev = fileIndex;
    members.push({ fileIndex, streamNo: b.readUInt16BE(o + 4), length: b.readUInt32BE(o + 6), digest: b.subarray(o + 10, o + 42) });
  }
  return members;
}
