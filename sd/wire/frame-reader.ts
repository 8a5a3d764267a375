/**
 * FrameReader: pulls frames off a Readable. It reads only when asked
 * (next()), so a slow consumer leaves bytes in the stream and the peer's
 * write() returns false: back-pressure end to end.
 */
import type { Readable } from 'node:stream';
import { CairnError } from '../../plugin-api/index.js';
import { MAX_FRAME_BYTES } from '../defaults.js';
import { SIGNAL_FLAG, type Frame } from './frame.js';

export class FrameReader {
  private readonly iter: AsyncIterator<Buffer>;
  private readonly bufs: Buffer[] = [];
  private buffered = 0;
  private done = false;

  constructor(stream: Readable, private readonly maxFrame = MAX_FRAME_BYTES) {
    this.iter = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** Next frame, or null at a clean end of stream (between frames). */
  async next(): Promise<Frame | null> {
    if (!(await this.fill(4))) {
      if (this.buffered > 0) throw new CairnError('CAIRN_E_PROTOCOL_FRAME', 'Connection closed in the middle of a frame header.', { buffered: this.buffered });
      return null;
    }
    const word = this.readWord();
    if (word & SIGNAL_FLAG) return { kind: 'signal', signal: (word & ~SIGNAL_FLAG) >>> 0 };
    if (word > this.maxFrame) {
      throw new CairnError('CAIRN_E_PROTOCOL_FRAME', `Frame of ${word} bytes exceeds the limit of ${this.maxFrame}.`, { length: word, limit: this.maxFrame });
    }
    if (!(await this.fill(word))) {
      throw new CairnError('CAIRN_E_PROTOCOL_FRAME', 'Connection closed in the middle of a frame.', { length: word, received: this.buffered });
    }
    return { kind: 'payload', chunks: this.take(word), length: word };
  }

  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n) {
      if (this.done) return false;
      const r = await this.iter.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
      if (chunk.length === 0) continue;
      this.bufs.push(chunk);
      this.buffered += chunk.length;
    }
    return true;
  }

  private readWord(): number {
    const first = this.bufs[0];
    if (first.length >= 4) {
      const w = first.readUInt32BE(0);
      this.consume(4);
      return w;
    }
    const parts = this.take(4);
    return Buffer.concat(parts, 4).readUInt32BE(0);
  }

  private consume(n: number): void {
    const first = this.bufs[0];
    if (first.length === n) this.bufs.shift();
    else this.bufs[0] = first.subarray(n);
    this.buffered -= n;
  }

  private take(n: number): Buffer[] {
    const out: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const first = this.bufs[0];
      if (first.length <= left) {
        out.push(first);
        this.bufs.shift();
        left -= first.length;
      } else {
        out.push(first.subarray(0, left));
        this.bufs[0] = first.subarray(left);
        left = 0;
      }
    }
    this.buffered -= n;
    return out;
  }
}
