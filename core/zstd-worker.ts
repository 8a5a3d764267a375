/**
 * zstd worker (piscina). A `compress` task turns a batch of chunks into one
 * zstd frame each (a chunk that does not shrink comes back plain); a
 * `decompress` task turns a batch of frames back into their bytes. Either
 * may also return each piece's SHA-256 (of the plain bytes). A `pack` task
 * makes one frame of all its chunks with each chunk's SHA-256 (core/pack.ts);
 * `unpack` is its inverse, checking the members' lengths add up. The zstd
 * contexts are kept per worker thread: creating one per chunk costs more
 * than compressing a small file.
 */
import { createHash } from 'node:crypto';
import { Compressor, Decompressor } from 'zstd-napi';

export interface CompressTask {
  op: 'compress' | 'decompress' | 'pack' | 'unpack';
  /** The chunks laid end to end (transferred). */
  data: ArrayBuffer;
  lengths: number[];
  level: number;
  /** Per chunk: also return the SHA-256 of its plain bytes (the whole stream's digest when the stream is this one chunk). */
  digest: boolean[];
  /** unpack: the pack is one zstd frame (else its bytes are plain and only hashed). */
  compressed?: boolean;
  /** pack: how many bytes of `data` are the members' (the rest is spare room). */
  used?: number;
}

export interface CompressResult {
  /** Output pieces laid end to end (transferred back). */
  data: ArrayBuffer;
  lengths: number[];
  /** Per piece. compress: true when it is a zstd frame, false when stored plain. decompress: false when the frame did not decompress. */
  compressed: boolean[];
  /** Per piece: SHA-256 of the input chunk when asked for, else null. */
  digests: Array<Uint8Array | null>;
}

let compressor: Compressor | null = null;
let compressorLevel = -1;
let decompressor: Decompressor | null = null;

export default function zstdBatch(task: CompressTask): CompressResult {
  switch (task.op) {
    case 'decompress':
      return decompressBatch(task);
    case 'pack':
      return packTask(task);
    case 'unpack':
      return unpackTask(task);
    default:
      return compressBatch(task);
  }
}

function compressorFor(level: number): Compressor {
  if (!compressor || compressorLevel !== level) {
    compressor = new Compressor();
    compressor.setParameters({ compressionLevel: level });
    compressorLevel = level;
  }
  return compressor;
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
  const frame = compressorFor(task.level).compress(input);
  const piece = frame.length < input.length ? frame : input;
  return pack([piece], piece.length, [piece !== input], digests);
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
  const input = Buffer.from(task.data);
  const pieces: Buffer[] = [];
  const digests: Array<Uint8Array | null> = [];
  const ok: boolean[] = [];
  let offset = 0;
  let total = 0;
  for (let i = 0; i < task.lengths.length; i++) {
    const frame = input.subarray(offset, offset + task.lengths[i]);
    offset += task.lengths[i];
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
  const compressor = compressorFor(task.level);
  const input = Buffer.from(task.data);
  const pieces: Buffer[] = [];
  const compressed: boolean[] = [];
  const digests: Array<Uint8Array | null> = [];
  let total = 0;
  let offset = 0;
  for (let i = 0; i < task.lengths.length; i++) {
    const len = task.lengths[i];
    const chunk = input.subarray(offset, offset + len);
    offset += len;
    digests.push(task.digest[i] ? createHash('sha256').update(chunk).digest() : null);
    const frame = compressor.compress(chunk);
    if (frame.length < len) {
      pieces.push(frame);
      compressed.push(true);
    } else {
      pieces.push(chunk);
      compressed.push(false);
    }
    total += pieces[pieces.length - 1].length;
  }
  return pack(pieces, total, compressed, digests);
}
