/**
 * FrameReader: pulls frames off a Readable. It takes bytes while fewer than
 * a small read-ahead beyond the frame asked for are buffered and pauses the
 * stream above that, so a slow consumer leaves bytes in the stream and the
 * peer's write() returns false: back-pressure end to end. Bytes keep coming
 * in below the read-ahead even while nobody asks for a frame, so an owner
 * sees its peer's heartbeats (onBytes) while it is busy sending.
 */
import type { Readable } from 'node:stream';
import { CairnError } from '../../plugin-api/index.js';
import { MAX_FRAME_BYTES } from '../defaults.js';
import { SIGNAL_FLAG, Signal, joinChunks, type Frame } from './frame.js';

/** Bytes read ahead beyond the frame being waited for, before the stream is paused (back-pressure). */
const READ_AHEAD_BYTES = 256 * 1024;

export class FrameReader {
  private readonly bufs: Buffer[] = [];
  private buffered = 0;
  private done = false;
  private failure: unknown = null;
  private waiter: (() => void) | null = null;
  /** Bytes the current next() needs; the stream is paused once this much (plus slack) is buffered. */
  private want = 0;
  /** Called on every chunk that arrives (a sign of the peer's life, before any frame is read). */
  onBytes: (() => void) | null = null;

  constructor(
    private readonly stream: Readable,
    private readonly maxFrame = MAX_FRAME_BYTES,
  ) {
    // 'data' events hand chunks over as they arrived (read() would concatenate them: a copy per byte).
    stream.on('data', (chunk: Buffer | string) => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (b.length > 0) {
        this.bufs.push(b);
        this.buffered += b.length;
        this.onBytes?.();
      }
      if (this.buffered >= this.want + READ_AHEAD_BYTES) stream.pause();
      this.wake();
    });
    const finish = (): void => {
      this.done = true;
      this.wake();
    };
    stream.on('end', finish);
    stream.on('close', finish);
    stream.on('error', (err) => {
      this.failure ??= err;
      finish();
    });
    stream.pause();
  }

  /**
   * True while this side holds the peer's bytes it has not taken yet and has stopped the stream for them (its
   * own back-pressure): the peer's silence beyond them is ours, not the peer's.
   */
  get holdingBack(): boolean {
    return !this.done && this.buffered > 0 && this.stream.isPaused();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    if (w) w();
  }

  /** Next frame, or null at a clean end of stream (between frames). */
  async next(): Promise<Frame | null> {
    if (!(await this.fill(4))) {
      if (this.buffered > 0) throw new CairnError('CAIRN_E_PROTOCOL_FRAME', 'Connection closed in the middle of a frame header.', { buffered: this.buffered });
      if (this.failure) throw new CairnError('CAIRN_E_PROTOCOL_CLOSED', 'The connection failed.', {}, { cause: this.failure });
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
    this.want = n;
    while (this.buffered < n) {
      if (this.done) return false;
      const arrived = new Promise<void>((r) => (this.waiter = r));
      this.stream.resume();
      await arrived;
    }
    // Below the read-ahead the stream keeps flowing (heartbeats arrive while the owner is busy); above it, it waits.
    if (this.buffered >= n + READ_AHEAD_BYTES) this.stream.pause();
    else if (!this.done) this.stream.resume();
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

/**
 * The next control frame's bytes, skipping HEARTBEAT and other signals; null when the connection ends or the
 * peer sends TERMINATE. `alive` is called on every frame (a sign of life for heartbeats).
 */
export async function nextControlFrame(reader: FrameReader, alive?: () => void): Promise<Buffer | null> {
  for (;;) {
    const f = await reader.next();
    alive?.();
    if (!f) return null;
    if (f.kind === 'signal') {
      if (f.signal === Signal.TERMINATE) return null;
      continue;
    }
    return joinChunks(f.chunks, f.length);
  }
}
