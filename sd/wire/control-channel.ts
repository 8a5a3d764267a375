/**
 * ControlChannel: one authenticated connection speaking control messages
 * (docs/protocol.md §2) in both directions — the Director↔FD and
 * console↔Director conversations (docs/protocol.md §9, §10). Either side may
 * send requests; each side answers the other's requests one at a time, in the
 * order they arrived, while its own requests' replies and the peer's 3201
 * notifications keep being read (so a handler may itself ask the peer
 * something: the FD asks the Director for a base job's files during a
 * backup). A frame whose line starts with four digits is a reply or a
 * notification; any other frame is a request.
 *
 * Heartbeats (optional): a HEARTBEAT signal after `heartbeatMs` without
 * sending anything, and the connection is declared dead (destroyed, pending
 * requests rejected with CAIRN_E_PROTOCOL_HEARTBEAT) when nothing at all
 * arrived for twice that plus a second.
 */
import type { Duplex } from 'node:stream';
import { CairnError, isCairnError } from '../../plugin-api/index.js';
import { Status, errorReply, formatMessage, isReplyFrame, parseReply, parseRequest, replyError, type Reply, type Request } from './control-message.js';
import { Signal } from './frame.js';
import { FrameReader, nextControlFrame } from './frame-reader.js';
import { FrameWriter } from './frame-writer.js';
import { sendHeartbeats, watchPeer } from './liveness.js';
import type { Heartbeat } from '../../net/index.js';

/** What a request handler answers: the reply's text after `3000 OK ` and an optional body. */
export interface HandlerReply {
  text: string;
  body?: unknown;
}

export interface ControlChannelOptions {
  /** Answers the peer's requests (one at a time). Throwing a CairnError sends an error reply with its code. */
  onRequest?: (req: Request, channel: ControlChannel) => Promise<HandlerReply>;
  /** The peer's 3201 notifications, in order; awaited before the next frame is read (back-pressure). */
  onNotification?: (type: string, body: unknown) => void | Promise<void>;
  /** Who the peer is, for error messages ("the FD laptop"). */
  peer: string;
  heartbeatMs?: number;
  /**
   * Whether silence for twice `heartbeatMs` means the peer is gone (default true). A Director does not watch
   * its consoles: a console does not know the Director's interval, and a silent console waiting for a job is fine.
   */
  watchPeer?: boolean;
}

type Pending = { request: string; resolve: (r: Reply) => void; reject: (e: unknown) => void };

export class ControlChannel {
  private readonly reader: FrameReader;
  private readonly writer: FrameWriter;
  private readonly pending: Pending[] = [];
  private handling: Promise<void> = Promise.resolve();
  private ended: CairnError | null = null;
  private heartbeat: Heartbeat | null = null;
  private stopSending: () => void = () => undefined;
  private readonly closeHooks: Array<(why: CairnError) => void> = [];
  /** Resolves when the connection has ended; never rejects. */
  readonly done: Promise<void>;

  constructor(
    readonly stream: Duplex,
    private readonly o: ControlChannelOptions,
  ) {
    this.reader = new FrameReader(stream);
    this.writer = new FrameWriter(stream);
    stream.on('error', () => undefined);
    if (o.heartbeatMs) {
      const ms = o.heartbeatMs;
      if (o.watchPeer === false) this.stopSending = sendHeartbeats(this.writer, ms);
      else
        this.heartbeat = watchPeer(this.writer, this.reader, ms, () =>
          this.finish(new CairnError('CAIRN_E_PROTOCOL_HEARTBEAT', `Nothing heard from ${o.peer} for ${Math.round((2 * ms + Math.min(ms, 5000)) / 1000)} s (heartbeat every ${ms / 1000} s): the peer is gone.`, { peer: o.peer, heartbeatMs: ms })),
        );
    }
    this.done = this.loop();
  }

  get closed(): boolean {
    return this.ended !== null;
  }

  /** Why the channel ended (null while open). */
  get endReason(): CairnError | null {
    return this.ended;
  }

  onClose(hook: (why: CairnError) => void): void {
    if (this.ended) hook(this.ended);
    else this.closeHooks.push(hook);
  }

  /** Sends a request and waits for its reply; a non-OK reply rejects with the peer's error code. */
  async request(line: string, body?: unknown): Promise<Reply> {
    if (this.ended) throw this.ended;
    const p = new Promise<Reply>((resolve, reject) => this.pending.push({ request: line, resolve, reject }));
    await this.send(formatMessage(line, body));
    const r = await p;
    if (r.status !== Status.OK) throw replyError(r, line);
    return r;
  }

  /** Sends a 3201 notification (dropped if the connection is gone). */
  async notify(type: string, body?: unknown): Promise<void> {
    if (this.ended || this.writer.closed) return;
    await this.send(formatMessage(`${Status.NOTIFICATION} notification ${type}`, body)).catch(() => undefined);
  }

  /** Says goodbye (TERMINATE) and waits for the read loop to stop. */
  async close(): Promise<void> {
    if (!this.writer.closed) {
      await this.writer.writeSignal(Signal.TERMINATE).catch(() => undefined);
      this.stream.end();
    }
    const t = setTimeout(() => this.stream.destroy(), 5000);
    await this.done;
    clearTimeout(t);
  }

  private async send(frame: Buffer): Promise<void> {
    await this.writer.writeFrame([frame]);
  }

  private async loop(): Promise<void> {
    let failure: CairnError | null = null;
    try {
      for (;;) {
        const buf = await nextControlFrame(this.reader, () => this.heartbeat?.seen());
        if (!buf) break;
        if (isReplyFrame(buf)) {
          const r = parseReply(buf);
          if (r.status === Status.NOTIFICATION) {
            await this.o.onNotification?.(r.text.replace(/^notification /, ''), r.body);
            continue;
          }
          const p = this.pending.shift();
          if (!p) throw new CairnError('CAIRN_E_PROTOCOL_REPLY', `${this.o.peer} sent a reply to no request: ${r.status} ${r.text.slice(0, 80)}.`, { status: r.status });
          p.resolve(r);
          continue;
        }
        let req: Request;
        try {
          req = parseRequest(buf);
        } catch (err) {
          await this.send(errorReply(err));
          continue;
        }
        // Handled in arrival order, but off the read loop: the handler may wait on the peer's replies.
        this.handling = this.handling.then(() => this.answer(req));
      }
    } catch (err) {
      failure = isCairnError(err) ? err : new CairnError('CAIRN_E_PROTOCOL_CLOSED', `The connection to ${this.o.peer} failed: ${(err as Error).message}.`, { peer: this.o.peer }, { cause: err });
    }
    this.finish(failure ?? new CairnError('CAIRN_E_PROTOCOL_CLOSED', `${this.o.peer} closed the connection.`, { peer: this.o.peer }));
  }

  private async answer(req: Request): Promise<void> {
    let frame: Buffer;
    try {
      if (!this.o.onRequest) throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', `Unknown command "${req.line.slice(0, 80)}".`, { command: req.line.slice(0, 80) });
      const r = await this.o.onRequest(req, this);
      frame = formatMessage(`${Status.OK} OK ${r.text}`, r.body);
    } catch (err) {
      frame = errorReply(err);
    }
    if (!this.ended) await this.send(frame).catch(() => undefined);
  }

  private finish(why: CairnError): void {
    if (this.ended) return;
    this.ended = why;
    this.heartbeat?.stop();
    this.stopSending();
    for (const p of this.pending.splice(0)) p.reject(why);
    for (const h of this.closeHooks.splice(0)) h(why);
    if (!this.stream.destroyed) this.stream.destroy();
  }
}

export type { Request, Reply };
