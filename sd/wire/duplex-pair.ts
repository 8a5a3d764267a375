/**
 * duplexPair(): two connected in-memory Duplex streams (local mode). What one
 * side writes the other reads. Back-pressure is real: a write's callback is
 * held until the reading side has room again, so the writer's write() returns
 * false and 'drain' fires only as the reader consumes. Chunks pass by
 * reference: a loaned one (sd/wire/buffer-loans.ts) gets a hold for the
 * reader before the writer is called back.
 */
import { Duplex } from 'node:stream';
import { DUPLEX_PAIR_HIGH_WATER_MARK } from '../defaults.js';
import { passOn } from './buffer-loans.js';

class PairEnd extends Duplex {
  other!: PairEnd;
  /** Callback of our peer's write waiting for us to read. */
  heldWriteCallback: ((err?: Error | null) => void) | null = null;

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const peer = this.other;
    if (peer.destroyed) {
      cb();
      return;
    }
    passOn(chunk);
    if (peer.push(chunk)) cb();
    else peer.heldWriteCallback = cb;
  }

  override _read(): void {
    const cb = this.heldWriteCallback;
    if (cb) {
      this.heldWriteCallback = null;
      cb();
    }
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.other.push(null);
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const held = this.heldWriteCallback;
    this.heldWriteCallback = null;
    if (held) held();
    const peer = this.other;
    if (!peer.destroyed) {
      // The peer sees end of stream, as a socket does when its far end goes away.
      peer.push(null);
      const peerHeld = peer.heldWriteCallback;
      peer.heldWriteCallback = null;
      if (peerHeld) peerHeld();
    }
    cb(err);
  }
}

export function duplexPair(highWaterMark = DUPLEX_PAIR_HIGH_WATER_MARK): [Duplex, Duplex] {
  const a = new PairEnd({ highWaterMark, allowHalfOpen: true });
  const b = new PairEnd({ highWaterMark, allowHalfOpen: true });
  a.other = b;
  b.other = a;
  return [a, b];
}
