/**
 * Compression worker (piscina). One task compresses a batch of chunks, each
 * into its own zstd frame; a chunk that does not shrink is returned plain.
 * The Compressor is kept per worker thread: creating a context per chunk
 * costs more than compressing a small file.
 */
import { createHash } from 'node:crypto';
import { Compressor } from 'zstd-napi';

export interface CompressTask {
  /** The chunks laid end to end (transferred). */
  data: ArrayBuffer;
  lengths: number[];
  level: number;
  /** Per chunk: also return its SHA-256 (the whole stream's digest when the stream is this one chunk). */
  digest: boolean[];
}

export interface CompressResult {
  /** Output pieces laid end to end (transferred back). */
  data: ArrayBuffer;
  lengths: number[];
  /** Per piece: true when it is a zstd frame, false when stored plain. */
  compressed: boolean[];
  /** Per piece: SHA-256 of the input chunk when asked for, else null. */
  digests: Array<Uint8Array | null>;
}

let compressor: Compressor | null = null;
let compressorLevel = -1;

export default function compressBatch(task: CompressTask): CompressResult {
  if (!compressor || compressorLevel !== task.level) {
    compressor = new Compressor();
    compressor.setParameters({ compressionLevel: task.level });
    compressorLevel = task.level;
  }
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
  const out = new ArrayBuffer(total);
  const view = new Uint8Array(out);
  let o = 0;
  for (const p of pieces) {
    view.set(p, o);
    o += p.length;
  }
  return { data: out, lengths: pieces.map((p) => p.length), compressed, digests };
}
