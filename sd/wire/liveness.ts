/**
 * Heartbeats on a framed connection (protocol.md §1, HEARTBEAT): a HEARTBEAT
 * signal whenever nothing was written for the interval, and — where the
 * owner can tell — the peer declared gone when there was no sign of it for
 * twice the interval plus slack (net/ Heartbeat). Every daemon of a site
 * should use the same interval: the rule assumes the peer sends at least
 * that often.
 */
import { Heartbeat } from '../../net/index.js';
import { Signal } from './frame.js';
import type { FrameReader } from './frame-reader.js';
import type { FrameWriter } from './frame-writer.js';

/** Sends heartbeats on an idle writer; returns stop(). For a side that cannot watch the peer itself. */
export function sendHeartbeats(writer: FrameWriter, intervalMs: number): () => void {
  const t = setInterval(() => {
    if (writer.closed) return clearInterval(t);
    if (idle(writer, intervalMs)) writer.writeSignal(Signal.HEARTBEAT).catch(() => undefined);
  }, Math.max(25, Math.floor(intervalMs / 4)));
  t.unref();
  return () => clearInterval(t);
}

/**
 * Sends heartbeats and watches the peer through `reader`: every chunk that arrives is a sign of life, and while
 * the reader holds back the peer's bytes (our own back-pressure) the peer counts as alive. onDead runs once.
 * A heartbeat goes out one interval after our last write of any kind, so the peer hears from us at least that
 * often (it allows twice that plus slack).
 */
export function watchPeer(writer: FrameWriter, reader: FrameReader, intervalMs: number, onDead: () => void): Heartbeat {
  const hb = new Heartbeat({
    intervalMs,
    holdingBack: () => reader.holdingBack,
    // Called only after `intervalMs` without any write (onWrite below tells the watcher of each one).
    send: () => {
      if (!writer.closed && !writer.stream.writableNeedDrain) writer.writeSignal(Signal.HEARTBEAT).catch(() => undefined);
    },
    onDead,
  });
  reader.onBytes = () => hb.seen();
  writer.onWrite = () => hb.sent();
  return hb;
}

/** Nothing written for the interval, and the stream takes more: a heartbeat is due (one queued behind a blocked write would say nothing). */
function idle(writer: FrameWriter, intervalMs: number): boolean {
  return !writer.closed && !writer.stream.writableNeedDrain && Date.now() - writer.lastWrite >= intervalMs;
}
