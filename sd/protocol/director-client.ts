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
import type { Bootstrap, SdNotification, SessionJobInfo, VolumeCatalogPort } from '../api.js';
import { Status, errorReply, formatMessage, isReplyFrame, parseReply, parseRequest, replyError, type Reply, type Request } from '../wire/control-message.js';
import { CATALOG_OPERATIONS } from './director-catalog-link.js';
import { watchPeer } from '../wire/liveness.js';
import type { Heartbeat } from '../../net/index.js';

/** What opening a session grants: the ticket, and the session key an FD proves it knows when it connects (docs/transport.md). */
export interface SessionGrant {
  ticket: string;
  keyId: string;
  key: string;
}
import { Signal, joinChunks } from '../wire/frame.js';
import { FrameReader, nextControlFrame } from '../wire/frame-reader.js';
import { FrameWriter } from '../wire/frame-writer.js';
import { decodeNotification } from './notification-codec.js';

type Pending = { request: string; resolve: (r: Reply) => void; reject: (e: unknown) => void };

export class SdDirectorClient {
  private readonly reader: FrameReader;
  private readonly writer: FrameWriter;
  private readonly pending: Pending[] = [];
  private readonly handlers: Array<(n: SdNotification) => void | Promise<void>> = [];
  private ended: CairnError | null = null;
  private catalog: VolumeCatalogPort | null = null;
  /** The SD's requests being answered, in order. */
  private answering: Promise<void> = Promise.resolve();
  /** Resolves when the connection has ended (the read loop stopped). */
  readonly done: Promise<void>;

  private readonly heartbeat: Heartbeat | null = null;

  /** `heartbeatMs`: heartbeats both ways on a network connection; an SD silent for twice that is gone. */
  constructor(
    private readonly stream: Duplex,
    opts: { heartbeatMs?: number } = {},
  ) {
    this.reader = new FrameReader(stream);
    this.writer = new FrameWriter(stream);
    stream.on('error', () => undefined);
    if (opts.heartbeatMs) {
      const ms = opts.heartbeatMs;
      this.heartbeat = watchPeer(this.writer, ms, () => {
        this.ended ??= new CairnError('CAIRN_E_PROTOCOL_HEARTBEAT', `Nothing heard from the SD for twice the heartbeat interval (${ms / 1000} s): it is gone.`, { heartbeatMs: ms });
        stream.destroy();
      });
    }
    this.done = this.loop();
  }

  onNotification(handler: (n: SdNotification) => void | Promise<void>): void {
    this.handlers.push(handler);
  }

  /** Answers the SD's catalog requests (protocol.md §4.1) from this port: a daemon SD has no catalog of its own. */
  serveCatalog(port: VolumeCatalogPort): void {
    this.catalog = port;
  }

  /** Resolves when the connection has ended, with why. */
  get endReason(): CairnError | null {
    return this.ended;
  }

  /** Opens an append session: the ticket, and the session key (keyId, key) the FD authenticates with. */
  async openAppendSession(job: SessionJobInfo): Promise<SessionGrant & { sessionId: number }> {
    const r = await this.request('open append session', job);
    return r.body as SessionGrant & { sessionId: number };
  }

  async openReadSession(bootstrap: Bootstrap): Promise<SessionGrant> {
    const r = await this.request('open read session', bootstrap);
    return r.body as SessionGrant;
  }

  /** The SD's sessions, connections and device. */
  async status(): Promise<Record<string, unknown>> {
    return (await this.request('status')).body as Record<string, unknown>;
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

  /** One SD request: `catalog <operation>` with the arguments as a JSON array; the result in `{ result }`. */
  private async answer(req: Request): Promise<void> {
    let frame: Buffer;
    try {
      const op = req.words[0] === 'catalog' ? CATALOG_OPERATIONS[req.words[1] as keyof typeof CATALOG_OPERATIONS] : undefined;
      if (!op || !this.catalog) throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', `The Director does not answer "${req.line.slice(0, 80)}".`, { command: req.line.slice(0, 80) });
      const args = Array.isArray(req.body) ? req.body : [];
      const fn = this.catalog[op] as (...a: unknown[]) => Promise<unknown>;
      const result = await fn.apply(this.catalog, args);
      frame = formatMessage(`${Status.OK} OK ${req.words.join(' ')}`, { result: result ?? null });
    } catch (err) {
      frame = errorReply(err);
    }
    if (!this.writer.closed) await this.writer.writeFrame([frame]).catch(() => undefined);
  }

  private async loop(): Promise<void> {
    let failure: CairnError | null = null;
    try {
      for (;;) {
        const buf = await nextControlFrame(this.reader, () => this.heartbeat?.seen());
        if (!buf) break;
        if (!isReplyFrame(buf)) {
          const req = parseRequest(buf);
          this.answering = this.answering.then(() => this.answer(req));
          continue;
        }
        const r = parseReply(buf);
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
    this.heartbeat?.stop();
    this.ended = this.ended ?? failure ?? new CairnError('CAIRN_E_PROTOCOL_CLOSED', 'The SD closed the connection.', {});
    for (const p of this.pending.splice(0)) p.reject(this.ended);
  }
}
