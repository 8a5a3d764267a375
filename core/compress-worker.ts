/**
 * Compression worker (piscina). One task compresses a batch of chunks, each
 * into its own zstd frame; a chunk that does not shrink is returned plain.
 * The Compressor is kept per worker thread: creating a context per chunk
 * costs more than compressing a small file.
 */
import { Compressor } from 'zstd-napi';

export interface CompressTask {
  /** The chunks laid end to end (transferred). */
  data: ArrayBuffer;
  lengths: number[];
  level: number;
}

export interface CompressResult {
  /** Output pieces laid end to end (transferred back). */
  data: ArrayBuffer;
  lengths: number[];
  /** Per piece: true when it is a zstd frame, false when stored plain. */
  compressed: boolean[];
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
  let total = 0;
  let offset = 0;
  for (const len of task.lengths) {
    const chunk = input.subarray(offset, offset + len);
    offset += len;
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
  return { data: out, lengths: pieces.map((p) => p.length), compressed };
}
