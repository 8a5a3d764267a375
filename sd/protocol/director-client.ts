/**
 * SdDirectorClient: the Director's side of a Director↔SD connection. Sends
 * commands (one reply each, in order) and dispatches the SD's unsolicited
 * 3201 notifications to the registered handlers. A handler that returns a
 * promise is awaited before the next frame is read: that is the Director's
 * back-pressure on the SD (never await a request on this same client inside
 * a handler).
 */
import type { Duplex } from 'node:stream';
import { CairnError } from '../../plugin-api/index.js';
import type { Bootstrap, SdNotification, SessionJobInfo } from '../api.js';
import { Status, formatMessage, parseReply, replyError, type Reply } from '../wire/control-message.js';
import { Signal, joinChunks } from '../wire/frame.js';
import { FrameReader } from '../wire/frame-reader.js';
import { FrameWriter } from '../wire/frame-writer.js';
import { decodeNotification } from './notification-codec.js';

type Pending = { request: string; resolve: (r: Reply) => void; reject: (e: unknown) => void };

export class SdDirectorClient {
  private readonly reader: FrameReader;
  private readonly writer: FrameWriter;
  private readonly pending: Pending[] = [];
  private readonly handlers: Array<(n: SdNotification) => void | Promise<void>> = [];
  private ended: CairnError | null = null;
  /** Resolves when the connection has ended (the read loop stopped). */
  readonly done: Promise<void>;

  constructor(private readonly stream: Duplex) {
    this.reader = new FrameReader(stream);
    this.writer = new FrameWriter(stream);
    stream.on('error', () => undefined);
    this.done = this.loop();
  }

  onNotification(handler: (n: SdNotification) => void | Promise<void>): void {
    this.handlers.push(handler);
  }

  async openAppendSession(job: SessionJobInfo): Promise<{ ticket: string; sessionId: number }> {
    const r = await this.request('open append session', job);
    return r.body as { ticket: string; sessionId: number };
  }

  async openReadSession(bootstrap: Bootstrap): Promise<{ ticket: string }> {
    const r = await this.request('open read session', bootstrap);
    return r.body as { ticket: string };
  }

  async cancel(ticket: string): Promise<void> {
    await this.request(`cancel Ticket=${ticket}`);
  }

  async close(): Promise<void> {
    if (!this.writer.closed) {
      await this.writer.writeSignal(Signal.TERMINATE).catch(() => undefined);
      this.stream.end();
    }
    await this.done;
  }

  private async request(line: string, body?: unknown): Promise<Reply> {
    if (this.ended) throw this.ended;
    const p = new Promise<Reply>((resolve, reject) => this.pending.push({ request: line, resolve, reject }));
    await this.writer.writeFrame([formatMessage(line, body)]);
    const r = await p;
    if (r.status !== Status.OK) throw replyError(r, line);
    return r;
  }

  private async loop(): Promise<void> {
    let failure: CairnError | null = null;
    try {
      for (;;) {
        const f = await this.reader.next();
        if (!f) break;
        if (f.kind === 'signal') continue;
        const r = parseReply(joinChunks(f.chunks, f.length));
        if (r.status === Status.NOTIFICATION) {
          const n = decodeNotification(r.body);
          for (const h of this.handlers) await h(n);
          continue;
        }
        const p = this.pending.shift();
        if (!p) throw new CairnError('CAIRN_E_PROTOCOL_REPLY', `Unexpected reply from the SD: ${r.status} ${r.text}.`, { status: r.status });
        p.resolve(r);
      }
    } catch (err) {
      failure = err instanceof CairnError ? err : new CairnError('CAIRN_E_PROTOCOL_CLOSED', 'The SD connection failed.', {}, { cause: err });
    }
    this.ended = failure ?? new CairnError('CAIRN_E_PROTOCOL_CLOSED', 'The SD closed the connection.', {});
    for (const p of this.pending.splice(0)) p.reject(this.ended);
  }
}
