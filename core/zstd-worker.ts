/**
 * zstd worker (piscina). A `compress` task turns a batch of chunks into one
 * zstd frame each (a chunk that does not shrink comes back plain); a
 * `decompress` task turns a batch of frames back into their bytes. Either
 * may also return each piece's SHA-256 (of the plain bytes). A `pack` task
 * makes one frame of all its chunks with each chunk's SHA-256 (core/pack.ts);
 * `unpack` is its inverse, checking the members' lengths add up. The zstd
 * contexts are kept per worker thread: creating one per chunk costs more
 * than compressing a small file. A `decompress` task given `out` (a slab of
 * shared memory, core/slab-ring.ts, sized from the frames' headers)
 * decompresses each frame straight into its place there, so the bytes reach
 * the main thread with no copy; other results are moved back, not copied.
 * An encrypted job's pieces are sealed here too, after compression
 * (core/chunk-seal.ts: compress then seal), each with the SHA-256 of the
 * sealed payload for the job's signed manifest; a sealed pack also gets its
 * PACK_INDEX payload made here, since the seal is bound to it.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Piscina } from 'piscina';
import { Decompressor } from 'zstd-napi';
import { SealKind, seal as sealParts, type CipherName } from './chunk-seal.js';
import { encodePackIndexOf } from './pack.js';

// The low-level binding (DCtx.decompress into a given buffer); the package has no exports map, so require it by path.
const binding = createRequire(import.meta.url)('zstd-napi/binding') as typeof import('zstd-napi/binding.js');

export interface CompressTask {
  op: 'compress' | 'decompress' | 'pack' | 'unpack';
  /** The chunks laid end to end (transferred), when `frames` is not given. */
  data: ArrayBuffer | SharedArrayBuffer;
  lengths: number[];
  level: number;
  /** Per chunk: also return the SHA-256 of its plain bytes (the whole stream's digest when the stream is this one chunk). */
  digest: boolean[];
  /** unpack: the pack is one zstd frame (else its bytes are plain and only hashed). */
  compressed?: boolean;
  /** pack: how many bytes of `data` are the members' (the rest is spare room). */
  used?: number;
  /** compress, decompress: the chunks or frames as views of shared memory, read in place (then `data` is empty). */
  frames?: Uint8Array[];
  /** decompress: write the plain bytes here, frame i at the sum of the sizes before it… */
  out?: SharedArrayBuffer;
  /** …each frame's content size, as its header says. */
  sizes?: number[];
  /** compress: per chunk, store it as it is instead of trying zstd (an encrypted job without compression). */
  store?: boolean[];
  /** compress: per chunk, seal it (after compression) for its place in an encrypted job, or null. */
  seal?: Array<SealSpec | null>;
  /** pack: seal the pack for an encrypted job (and make its PACK_INDEX payload, which the seal is bound to). */
  packSeal?: PackSealSpec;
}

/** Where a chunk of an encrypted job belongs, and the job's data key (docs/encryption.md §Chunks). */
export interface SealSpec {
  key: Uint8Array;
  cipher: CipherName;
  jobId: number;
  fileIndex: number;
  streamNo: number;
  chunk: number;
  /** Sparse chunks: the 8-byte offset that starts the inner record's payload. */
  prefix: Uint8Array | null;
}

export interface PackSealSpec {
  key: Uint8Array;
  cipher: CipherName;
  jobId: number;
  /** Members' file indexes and stream numbers (the pack's first member is fileIndexes[0]). */
  fileIndexes: number[];
  streamNos: number[];
}

export interface CompressResult {
  /** Output pieces laid end to end (transferred back). */
  data: ArrayBuffer;
  lengths: number[];
  /** Per piece. compress: true when it is a zstd frame, false when stored plain. decompress: false when the frame did not decompress. */
  compressed: boolean[];
  /** Per piece: SHA-256 of the input chunk when asked for, else null. */
  digests: Array<Uint8Array | null>;
  /** Sealed pieces: SHA-256 of the record payload as sent (pack: [index payload's, sealed data's]). */
  recordDigests?: Array<Uint8Array | null>;
  /** Sealed pack: the PACK_INDEX payload. */
  index?: Uint8Array;
}

let decompressor: Decompressor | null = null;

let dctx: InstanceType<typeof binding.DCtx> | null = null;

export default function zstdBatch(task: CompressTask): CompressResult {
  switch (task.op) {
    case 'decompress':
      return task.out && task.sizes ? decompressInto(task, task.out, task.sizes) : moved(decompressBatch(task));
    case 'pack':
      return moved(packTask(task));
    case 'unpack':
      return moved(unpackTask(task));
    default:
      return moved(compressBatch(task));
  }
}

/** Hands the result's bytes back by transfer instead of a copy. */
function moved(r: CompressResult): CompressResult {
  return Piscina.move({ [Piscina.transferableSymbol]: r.data, [Piscina.valueSymbol]: r } as never) as unknown as CompressResult;
}

/** The task's pieces: its `frames` as they are, or consecutive slices of `data` of the given lengths. */
function inputPieces(task: CompressTask): Buffer[] {
  if (task.frames) return task.frames.map((f, i) => Buffer.from(f.buffer, f.byteOffset, task.lengths[i]));
  const input = Buffer.from(task.data);
  let offset = 0;
  return task.lengths.map((len) => input.subarray(offset, (offset += len)));
}

/** Each frame into its place in `out`; a frame that fails, or does not give its announced size, comes back not ok (length 0). */
function decompressInto(task: CompressTask, out: SharedArrayBuffer, sizes: number[]): CompressResult {
  dctx ??= new binding.DCtx();
  const frames = inputPieces(task);
  const lengths: number[] = [];
  const ok: boolean[] = [];
  const digests: Array<Uint8Array | null> = [];
  let o = 0;
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i];
    const dst = new Uint8Array(out, o, sizes[i]);
    o += sizes[i];
    let got = -1;
    try {
      got = dctx.decompress(dst, frame);
    } catch {
      got = -1;
    }
    ok.push(got === sizes[i]);
    lengths.push(got === sizes[i] ? got : 0);
    digests.push(got === sizes[i] && task.digest[i] ? createHash('sha256').update(dst).digest() : null);
  }
  return { data: new ArrayBuffer(0), lengths, compressed: ok, digests };
}

let cctx: InstanceType<typeof binding.CCtx> | null = null;
/** One output buffer per worker, reused: zstd-napi's Compressor allocates compressBound(n) bytes per call and copies the frame out of it. */
let scratch: Buffer | null = null;

/**
 * The zstd frame of `src` at `level` as a buffer of its own (exactly the frame's bytes), or null when the
 * frame would not be smaller than `src` (the caller stores it plain).
 */
function compressFrame(src: Buffer, level: number): Buffer | null {
  cctx ??= new binding.CCtx();
  const bound = binding.compressBound(src.length);
  if (!scratch || scratch.length < bound) scratch = Buffer.allocUnsafeSlow(Math.max(bound, (1 << 20) + 4096));
  const n = cctx.compress(scratch, src, level);
  if (n >= src.length) return null;
  const frame = Buffer.allocUnsafeSlow(n);
  scratch.copy(frame, 0, 0, n);
  return frame;
}

/**
 * Compresses (unless `store`) and seals one chunk of an encrypted job. The frame is made in the scratch
 * buffer after the inner record's head (its type byte, and a sparse chunk's offset) and sealed from there:
 * it never gets a buffer of its own, so sealing costs one output buffer, as a plain frame does.
 */
function sealChunk(spec: SealSpec, chunk: Buffer, store: boolean, level: number): { sealed: Buffer; zstd: boolean } {
  const head = spec.prefix ? 9 : 1;
  const place = { jobId: spec.jobId, fileIndex: spec.fileIndex, streamNo: spec.streamNo, kind: SealKind.DATA, chunk: spec.chunk, final: false };
  if (!store) {
    cctx ??= new binding.CCtx();
    const bound = binding.compressBound(chunk.length) + head;
    if (!scratch || scratch.length < bound) scratch = Buffer.allocUnsafeSlow(Math.max(bound, (1 << 20) + 4096));
    const n = cctx.compress(scratch.subarray(head), chunk, level);
    if (n < chunk.length) {
      // The inner record: DATA_ZSTD 3 or SPARSE_DATA_ZSTD 6 (plugin-api/stream-types.ts), then the frame.
      scratch[0] = spec.prefix ? 6 : 3;
      if (spec.prefix) scratch.set(spec.prefix, 1);
      return { sealed: sealParts(spec.cipher, spec.key, place, [scratch.subarray(0, head + n)]), zstd: true };
    }
  }
  // Stored as it is: DATA 2 or SPARSE_DATA 5.
  const inner = Buffer.of(spec.prefix ? 5 : 2);
  return { sealed: sealParts(spec.cipher, spec.key, place, spec.prefix ? [inner, spec.prefix, chunk] : [inner, chunk]), zstd: false };
}

/** SHA-256 of each consecutive slice of `data` of the given lengths. */
function sliceDigests(data: Buffer, lengths: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let o = 0;
  for (const len of lengths) {
    out.push(createHash('sha256').update(data.subarray(o, o + len)).digest());
    o += len;
  }
  return out;
}

/** One frame over all chunks (plain when it does not shrink); a digest per chunk. */
function packTask(task: CompressTask): CompressResult {
  const input = Buffer.from(task.data, 0, task.used ?? task.data.byteLength);
  const digests = sliceDigests(input, task.lengths);
  const frame = task.store?.[0] ? null : compressFrame(input, task.level);
  if (task.packSeal) return sealPack(task.packSeal, task.lengths, digests, frame, input);
  const piece = frame ?? input;
  return frame ? { data: frame.buffer as ArrayBuffer, lengths: [frame.length], compressed: [true], digests } : pack([piece], piece.length, [false], digests);
}

/** A sealed pack: its PACK_INDEX payload, then PACK_DATA(_ZSTD) sealed bound to that payload's SHA-256. */
function sealPack(spec: PackSealSpec, lengths: number[], digests: Uint8Array[], frame: Buffer | null, input: Buffer): CompressResult {
  const members = spec.fileIndexes.map((fileIndex, i) => ({ fileIndex, streamNo: spec.streamNos[i], length: lengths[i] }));
  const index = encodePackIndexOf(members, digests);
  const indexDigest = createHash('sha256').update(index).digest();
  const first = spec.fileIndexes[0];
  const span = spec.fileIndexes[spec.fileIndexes.length - 1] - first;
  const inner = Buffer.of(frame ? 15 : 14); // PACK_DATA_ZSTD : PACK_DATA
  const sealed = sealParts(spec.cipher, spec.key, { jobId: spec.jobId, fileIndex: first, streamNo: span, kind: SealKind.PACK, chunk: 0, final: true, bound: indexDigest }, [inner, frame ?? input]);
  const r = pack([sealed], sealed.length, [frame !== null], digests);
  return { ...r, index: new Uint8Array(index), recordDigests: [indexDigest, createHash('sha256').update(sealed).digest()] };
}

/** The pack's bytes (decompressed when it is a frame) and each member's digest; `compressed: [false]` when it does not decode to the members' total length. */
function unpackTask(task: CompressTask): CompressResult {
  const input = Buffer.from(task.data);
  let plain: Buffer;
  try {
    plain = task.compressed ? (decompressor ??= new Decompressor()).decompress(input) : input;
  } catch {
    return pack([], 0, [false], []);
  }
  const total = task.lengths.reduce((a, b) => a + b, 0);
  if (plain.length !== total) return pack([], 0, [false], []);
  return pack([plain], plain.length, [true], sliceDigests(plain, task.lengths));
}

function decompressBatch(task: CompressTask): CompressResult {
  decompressor ??= new Decompressor();
  const frames = inputPieces(task);
  const pieces: Buffer[] = [];
  const digests: Array<Uint8Array | null> = [];
  const ok: boolean[] = [];
  let total = 0;
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i];
    // A frame that does not decompress comes back empty with a null digest; the caller redoes it on
    // its own thread to get the error with its message (rare: a damaged volume fails its block CRC first).
    let plain: Buffer;
    try {
      plain = decompressor.decompress(frame);
    } catch {
      pieces.push(Buffer.alloc(0));
      digests.push(null);
      ok.push(false);
      continue;
    }
    ok.push(true);
    pieces.push(plain);
    total += plain.length;
    digests.push(task.digest[i] ? createHash('sha256').update(plain).digest() : null);
  }
  return pack(pieces, total, ok, digests);
}

function pack(pieces: Buffer[], total: number, compressed: boolean[], digests: Array<Uint8Array | null>): CompressResult {
  const out = new ArrayBuffer(total);
  const view = new Uint8Array(out);
  let o = 0;
  for (const p of pieces) {
    view.set(p, o);
    o += p.length;
  }
  return { data: out, lengths: pieces.map((p) => p.length), compressed, digests };
}

function compressBatch(task: CompressTask): CompressResult {
  const chunks = inputPieces(task);
  const pieces: Buffer[] = [];
  const compressed: boolean[] = [];
  const digests: Array<Uint8Array | null> = [];
  let total = 0;
  const recordDigests: Array<Uint8Array | null> | undefined = task.seal ? [] : undefined;
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i];
    digests.push(task.digest[i] ? createHash('sha256').update(chunk).digest() : null);
    const spec = task.seal?.[i];
    if (spec) {
      const { sealed, zstd } = sealChunk(spec, chunk, task.store?.[i] === true, task.level);
      recordDigests!.push(createHash('sha256').update(sealed).digest());
      pieces.push(sealed);
      compressed.push(zstd);
      total += sealed.length;
      continue;
    }
    const frame = task.store?.[i] ? null : compressFrame(chunk, task.level);
    recordDigests?.push(null);
    pieces.push(frame ?? chunk);
    compressed.push(frame !== null);
    total += pieces[pieces.length - 1].length;
  }
  // One piece that owns its whole buffer (a frame, or the task's own transferred input stored plain) goes
  // back as it is; never shared memory, which the main thread hands out again once the task is done.
  const only = pieces.length === 1 ? pieces[0] : null;
  if (only && only.byteOffset === 0 && only.buffer instanceof ArrayBuffer && only.buffer.byteLength === only.length) return { data: only.buffer as ArrayBuffer, lengths: [only.length], compressed, digests, recordDigests };
  return { ...pack(pieces, total, compressed, digests), recordDigests };
}
