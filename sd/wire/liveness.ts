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
import type { FrameWriter } from './frame-writer.js';

/** Sends heartbeats on an idle writer; returns stop(). For a side that cannot watch the peer itself. */
export function sendHeartbeats(writer: FrameWriter, intervalMs: number): () => void {
  const t = setInterval(() => {
    if (writer.closed) return clearInterval(t);
    if (Date.now() - writer.lastWrite >= intervalMs) writer.writeSignal(Signal.HEARTBEAT).catch(() => undefined);
  }, Math.max(25, Math.floor(intervalMs / 4)));
  t.unref();
  return () => clearInterval(t);
}

/** Sends heartbeats and watches the peer: call seen() on each sign of life; onDead runs once. */
export function watchPeer(writer: FrameWriter, intervalMs: number, onDead: () => void): Heartbeat {
  return new Heartbeat({
    intervalMs,
    send: () => {
      if (!writer.closed && Date.now() - writer.lastWrite >= intervalMs) writer.writeSignal(Signal.HEARTBEAT).catch(() => undefined);
    },
    onDead,
  });
}
