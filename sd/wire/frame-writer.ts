/**
 * FrameWriter: puts frames on a Writable. Each call writes one whole frame
 * synchronously (so concurrent callers never interleave bytes of frames) and
 * then, if the stream said write() === false, waits for 'drain'.
 */
import type { Writable } from 'node:stream';
import { CairnError } from '../../plugin-api/index.js';
import { frameHeader, signalHeader } from './frame.js';

export class FrameWriter {
  /** When a frame or signal was last written (ms since epoch): heartbeats are sent only on an idle connection. */
  lastWrite = Date.now();
  /** Called on every frame or signal written (a heartbeat watcher then knows no heartbeat is due). */
  onWrite: (() => void) | null = null;

  constructor(readonly stream: Writable) {}

  /**
   * Writes a frame made of `parts` (no copies); resolves when the stream accepts more. `written` is called
   * once the stream is done with the parts (its write callback: a socket has handed them to the kernel),
   * or with the error that ended it.
   */
  writeFrame(parts: readonly Uint8Array[], written?: (err?: Error | null) => void): Promise<void> {
    let length = 0;
    for (const p of parts) length += p.length;
    this.assertOpen();
    const s = this.stream;
    this.lastWrite = Date.now();
    this.onWrite?.();
    s.cork();
    // Write callbacks run in order: the last part's stands for the whole frame.
    const body = parts.filter((p) => p.length > 0);
    let ok = s.write(frameHeader(length), body.length ? undefined : written);
    body.forEach((p, i) => {
      ok = s.write(p, i === body.length - 1 ? written : undefined);
    });
    s.uncork();
    return ok ? Promise.resolve() : waitDrain(s);
  }

  writeText(text: string): Promise<void> {
    return this.writeFrame([Buffer.from(text, 'utf8')]);
  }

  writeSignal(signal: number): Promise<void> {
    this.assertOpen();
    this.lastWrite = Date.now();
    this.onWrite?.();
    const ok = this.stream.write(signalHeader(signal));
    return ok ? Promise.resolve() : waitDrain(this.stream);
  }

  get closed(): boolean {
    return this.stream.destroyed || this.stream.writableEnded;
  }

  private assertOpen(): void {
    if (this.closed) throw new CairnError('CAIRN_E_PROTOCOL_CLOSED', 'The connection is closed; nothing more can be sent.', {});
  }
}

/** Resolves on 'drain'; rejects if the stream closes or fails first. */
export function waitDrain(s: Writable): Promise<void> {
  if (!s.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: unknown): void => {
      s.off('drain', onDrain);
      s.off('close', onClose);
      s.off('error', onError);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = (): void => done();
    const onClose = (): void => done(new CairnError('CAIRN_E_PROTOCOL_CLOSED', 'The connection closed while waiting to send.', {}));
    const onError = (e: unknown): void => done(new CairnError('CAIRN_E_PROTOCOL_CLOSED', 'The connection failed while waiting to send.', {}, { cause: e }));
    s.on('drain', onDrain);
    s.on('close', onClose);
    s.on('error', onError);
  });
}
