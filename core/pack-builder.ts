/**
 * Backup side of packs (core/pack.ts): collects small streams' bytes and
 * writes them as a PACK_INDEX record and a PACK_DATA(_ZSTD) record — the
 * frame and the members' digests made on a zstd worker when there is a pool.
 * The caller flushes before any other data record, so a pack's members are
 * always the small files since the previous non-pack data record.
 * In an encrypted job the worker also makes the PACK_INDEX payload and seals
 * the pack's bytes bound to it (PACK_SEALED, docs/encryption.md).
 */
import { createHash } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { StreamType } from '../plugin-api/index.js';
import type { DataRecord } from '../sd/index.js';
import { PACK_MAX_MEMBERS, PACK_MAX_SPAN, PACK_MEMBER_MAX_BYTES, PACK_TARGET_BYTES, encodePackIndexOf, packIndexBytes } from './pack.js';
import type { PackPiece, ZstdPool } from './zstd-pool.js';
import { SlabRing, type Slab } from './slab-ring.js';
import type { DigestedRecord, JobSealer } from './job-sealer.js';

type Push = (rec: DataRecord | Promise<DataRecord>, bytes: number) => Promise<void> | undefined;

interface Member {
  fileIndex: number;
  streamNo: number;
  length: number;
}

const BUFFER_BYTES = PACK_TARGET_BYTES + PACK_MEMBER_MAX_BYTES;

/**
 * Pack buffers kept for reuse: a pack's slab is busy only while a worker compresses it (the frame is a
 * buffer of its own), so a few cover the packs in flight. Reused memory, not a fresh buffer per pack:
 * first touching fresh memory costs ≈ 2.5 ms per MiB of page faults on the development VM
 * (docs/benchmarks.md), more than filling and compressing the pack.
 */
const PACK_SLABS_KEPT = 6;

export class PackBuilder {
  /** With a pool, packs are filled in reused slabs the worker reads in place; without, each pack's buffer becomes its record. */
  private readonly slabs: SlabRing | null;
  private slab: Slab | null = null;
  private buf: Uint8Array;
  private used = 0;
  private members: Member[] = [];

  private readonly store: boolean;
  private readonly sealer: JobSealer | null;

  /**
   * `pool` null: the pack is stored plain (the record is its buffer) and its digests are computed here.
   * `store`: with a pool, do not compress (an encrypted job without compression); `sealer`: seal each pack.
   */
  constructor(private readonly pool: ZstdPool | null, private readonly push: Push, opts: { store?: boolean; sealer?: JobSealer | null } = {}) {
    this.store = opts.store === true;
    this.sealer = opts.sealer ?? null;
    this.slabs = pool ? new SlabRing(BUFFER_BYTES, PACK_SLABS_KEPT) : null;
    this.buf = this.nextBuffer();
  }

  /** Not zero-filled first: every byte used is written. */
  private nextBuffer(): Uint8Array {
    if (!this.slabs) return Buffer.allocUnsafeSlow(BUFFER_BYTES);
    this.slab = this.slabs.acquire(BUFFER_BYTES);
    return new Uint8Array(this.slab.sab, 0, BUFFER_BYTES);
  }

  /** Adds one member (its chunks total `length` ≤ PACK_MEMBER_MAX_BYTES). Returns a promise when the pipe wants the caller to wait. */
  add(fileIndex: number, streamNo: number, chunks: readonly Uint8Array[], length: number): Promise<void> | undefined {
    let wait: Promise<void> | undefined;
    if (this.members.length && fileIndex - this.members[0].fileIndex > PACK_MAX_SPAN) wait = this.flush();
    for (const c of chunks) {
      this.buf.set(c, this.used);
      this.used += c.byteLength;
    }
    this.members.push({ fileIndex, streamNo, length });
    if (this.used >= PACK_TARGET_BYTES || this.members.length >= PACK_MAX_MEMBERS) return chain(wait, this.flush());
    return wait;
  }

  /** Writes the pack being filled, if any. */
  flush(): Promise<void> | undefined {
    const members = this.members;
    if (!members.length) return undefined;
    const used = this.used;
    const first = members[0].fileIndex;
    const span = members[members.length - 1].fileIndex - first;
    const lengths = members.map((m) => m.length);
    let piece: PackPiece | Promise<PackPiece>;
    if (this.pool) {
      const slab = this.slab!;
      const seal = this.sealer?.packSpec(members.map((m) => m.fileIndex), members.map((m) => m.streamNo));
      piece = this.pool.pack(slab.sab, lengths, used, { seal, store: this.store }).finally(() => slab.release());
    } else piece = plainPack(Buffer.from(this.buf.buffer, this.buf.byteOffset, used), lengths);
    this.buf = this.nextBuffer();
    this.members = [];
    this.used = 0;
    const indexRecord = (p: PackPiece): DataRecord => ({
      fileIndex: first,
      streamType: StreamType.PACK_INDEX,
      streamNo: span,
      payload: p.index ?? encodePackIndexOf(members, p.digests),
      ...(p.recordDigests ? { sha256: p.recordDigests[0] } : {}),
    });
    const dataRecord = (p: PackPiece): DataRecord | DigestedRecord =>
      p.recordDigests
        ? { fileIndex: first, streamType: StreamType.PACK_SEALED, streamNo: span, payload: p.data, sha256: p.recordDigests[1] }
        : { fileIndex: first, streamType: p.compressed ? StreamType.PACK_DATA_ZSTD : StreamType.PACK_DATA, streamNo: span, payload: p.data };
    const indexBytes = packIndexBytes(members.length);
    if (piece instanceof Promise) return chain(this.push(piece.then(indexRecord), indexBytes), this.push(piece.then(dataRecord), used));
    return chain(this.push(indexRecord(piece), indexBytes), this.push(dataRecord(piece), used));
  }
}

function plainPack(data: Buffer, lengths: number[]): PackPiece {
  const digests: Buffer[] = [];
  let o = 0;
  for (const len of lengths) {
    digests.push(createHash('sha256').update(data.subarray(o, o + len)).digest());
    o += len;
  }
  return { data, compressed: false, digests };
}

function chain(a: Promise<void> | undefined, b: Promise<void> | undefined): Promise<void> | undefined {
  if (!a) return b;
  if (!b) return a;
  return a.then(() => b);
}
