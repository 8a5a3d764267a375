/**
 * SdConnection: the SD's side of one connection. Reads one command frame at
 * a time and answers it; `append data` and `read data` switch the connection
 * to a stream of data frames until EOD. A connection that opened sessions as
 * a Director receives their notifications (3201 frames).
 */
import type { Duplex } from 'node:stream';
import { CairnError, isCairnError } from '../../plugin-api/index.js';
import type { Bootstrap, ReadItem, SessionJobInfo, SessionJobSummary, StartLabelExtension } from '../api.js';
import { DATA_FRAME_TARGET_BYTES } from '../defaults.js';
import type { AppendSession } from '../session/append-session.js';
import type { SdLogger } from '../session/logger.js';
import type { ReadSession } from '../session/read-session.js';
import type { VolumeVerifyRequest, VolumeVerifyResult } from '../volume/volume-verifier.js';
import { Status, errorBody, errorReply, formatMessage, isReplyFrame, parseReply, parseRequest, replyError, type Reply, type Request } from '../wire/control-message.js';
import { parseDataFrame } from '../wire/data-record.js';
import { Signal, joinChunks } from '../wire/frame.js';
import { FrameReader, nextControlFrame } from '../wire/frame-reader.js';
import { FrameWriter } from '../wire/frame-writer.js';
import { READ_TAG, encodeJsonFrame, encodeRecordsFrame } from '../wire/read-frame.js';
import type { TicketBook } from './tickets.js';
import type { MediaCommands } from './media-commands.js';
import { watchPeer } from '../wire/liveness.js';
import type { Heartbeat } from '../../net/index.js';

/** What a connection needs from the daemon. */
export interface SdServices {
  tickets: TicketBook;
  log: SdLogger;
  /** Heartbeat interval on network connections (ms); 0 = none (local mode). */
  heartbeatMs: number;
  /** Facts for `status`: connections, the device. */
  status(): Record<string, unknown>;
  openAppend(job: SessionJobInfo, owner: SdConnection): Promise<{ ticket: string; sessionId: number; keyId: string; key: string }>;
  openRead(bootstrap: Bootstrap, owner: SdConnection): Promise<{ ticket: string; keyId: string; key: string }>;
  /** `claim JobId=`: the job's notifications come to `owner` from now on, the spooled ones first, after `answer`. */
  claim(jobId: number, owner: SdConnection, answer: (state: string, notifications: number) => Promise<void>): Promise<void>;
  /** `release JobId=`: the Director committed the job; its spooled notifications are deleted. */
  release(jobId: number): Promise<void>;
  /** Rewrites a purged volume's label and cuts it to that one block (refused while any session uses it). */
  truncateVolume(volume: string, opts: { pool?: string }): Promise<Record<string, unknown>>;
  /** `verify session`: reads one session's blocks on the SD and checks them; nothing leaves the SD but the findings. */
  verifySession(req: VolumeVerifyRequest): Promise<VolumeVerifyResult>;
  /** Tape media commands: media, mount, unmount, label. */
  media: MediaCommands;
}

/** Who authenticated on a connection (absent in local mode: an in-process pair is trusted). */
export interface SdPeer {
  role: 'director' | 'fd';
  /** The Director's name, or for an FD the key id of the session it authenticated for. */
  name: string;
  address?: string;
}

/** Commands only a Director sends; they are answered off the read loop (they may wait on the Director's catalog replies). */
const DIRECTOR_COMMANDS = new Set(['open append session', 'open read session', 'verify session', 'cancel', 'status', 'claim', 'release', 'truncate volume', 'media', 'mount', 'unmount', 'label']);

type Pending = { request: string; resolve: (r: Reply) => void; reject: (e: unknown) => void };

export class SdConnection {
  private readonly reader: FrameReader;
  private readonly writer: FrameWriter;
  private append: { ticket: string; session: AppendSession } | null = null;
  private read: { ticket: string; session: ReadSession } | null = null;
  /** Director commands being answered, in order. */
  private directing: Promise<void> = Promise.resolve();
  /** The SD's own requests to the Director (catalog requests), oldest first. */
  private readonly calls: Pending[] = [];
  private gone: CairnError | null = null;
  /** Bytes in and out, for the end-of-connection statistics. */
  readonly opened = Date.now();

  constructor(
    readonly stream: Duplex,
    private readonly sd: SdServices,
    readonly peer: SdPeer | null = null,
  ) {
    this.reader = new FrameReader(stream);
    this.writer = new FrameWriter(stream);
    stream.on('error', (err) => sd.log.warn({ err: String(err) }, 'connection error'));
    if (peer && sd.heartbeatMs > 0) {
      this.heartbeat = watchPeer(this.writer, this.reader, sd.heartbeatMs, () => {
        sd.log.warn({ role: peer.role, peer: peer.name, address: peer.address, heartbeatMs: sd.heartbeatMs }, 'nothing heard from the peer for twice the heartbeat interval: closing the connection (its session is aborted)');
        stream.destroy();
      });
    }
  }

  /** Watches the peer on network connections: any frame from it, or progress sending to it, is a sign of life. */
  private readonly heartbeat: Heartbeat | null = null;

  /** Sends one notification frame (3201) to this Director connection; false when it is gone (NotificationSink). */
  async sendFrame(frame: Buffer): Promise<boolean> {
    if (this.writer.closed) return false;
    await this.writer.writeFrame([frame]);
    return true;
  }

  /**
   * A request of the SD's own to the Director on this connection (protocol.md §4.1: catalog requests);
   * resolves with the Director's reply, rejects with its error.
   */
  async call(line: string, body?: unknown): Promise<Reply> {
    if (this.gone || this.writer.closed) throw this.gone ?? new CairnError('CAIRN_E_PROTOCOL_CLOSED', 'The Director connection is closed.', {});
    const p = new Promise<Reply>((resolve, reject) => this.calls.push({ request: line, resolve, reject }));
    await this.writer.writeFrame([formatMessage(line, body)]);
    const r = await p;
    if (r.status !== Status.OK) throw replyError(r, line);
    return r;
  }

  async run(): Promise<void> {
    try {
      for (;;) {
        // Signals are skipped here: heartbeats, or a stray EOD after a refused `append data`.
        const buf = await nextControlFrame(this.reader, () => this.heartbeat?.seen());
        if (!buf) break;
        if (isReplyFrame(buf)) {
          const r = parseReply(buf);
          const c = this.calls.shift();
          if (!c) throw new CairnError('CAIRN_E_PROTOCOL_REPLY', `Reply to no request: ${r.status} ${r.text.slice(0, 80)}.`, { status: r.status });
          c.resolve(r);
          continue;
        }
        let req: Request;
        try {
          req = parseRequest(buf);
        } catch (err) {
          if (!this.writer.closed) await this.writer.writeFrame([errorReply(err)]);
          continue;
        }
        if (DIRECTOR_COMMANDS.has(req.words.join(' '))) {
          this.directing = this.directing.then(() => this.answer(req));
          continue;
        }
        await this.directing;
        await this.answer(req);
      }
    } catch (err) {
      this.sd.log.warn({ err: String(err) }, 'connection ended with an error');
    } finally {
      this.heartbeat?.stop();
      this.gone = new CairnError('CAIRN_E_PROTOCOL_CLOSED', 'The Director connection closed.', {});
      for (const c of this.calls.splice(0)) c.reject(this.gone);
      await this.directing;
      await this.cleanup();
    }
  }

  private async answer(req: Request): Promise<void> {
    try {
      await this.dispatch(req);
    } catch (err) {
      if (!isCairnError(err)) this.sd.log.error({ err: String(err), stack: (err as Error)?.stack }, 'command failed unexpectedly');
      if (!this.writer.closed) await this.writer.writeFrame([errorReply(err)]).catch(() => undefined);
    }
  }

  private reply(text: string, body?: unknown, status: number = Status.OK): Promise<void> {
    return this.writer.writeFrame([formatMessage(`${status} ${text}`, body)]);
  }

  private async dispatch(req: Request): Promise<void> {
    const cmd = req.words.join(' ');
    const ticket = req.args.ticket;
    switch (cmd) {
      case 'open append session': {
        this.requireRole('director', cmd);
        const r = await this.sd.openAppend(req.body as SessionJobInfo, this);
        return this.reply(`OK append session Ticket=${r.ticket} SessionId=${r.sessionId}`, r);
      }
      case 'open read session': {
        this.requireRole('director', cmd);
        const r = await this.sd.openRead(req.body as Bootstrap, this);
        return this.reply(`OK read session Ticket=${r.ticket}`, r);
      }
      case 'claim': {
        this.requireRole('director', cmd);
        const jobId = jobIdArg(req, cmd);
        return this.sd.claim(jobId, this, (state, n) => this.reply(`OK claim JobId=${jobId} State=${state} Notifications=${n}`, { jobId, state, notifications: n }));
      }
      case 'release': {
        this.requireRole('director', cmd);
        const jobId = jobIdArg(req, cmd);
        await this.sd.release(jobId);
        return this.reply(`OK release JobId=${jobId}`);
      }
      case 'truncate volume': {
        this.requireRole('director', cmd);
        const body = (req.body ?? {}) as { pool?: unknown };
        const r = await this.sd.truncateVolume(String(req.args.name ?? ''), { pool: typeof body.pool === 'string' ? body.pool : undefined });
        return this.reply(`OK truncate volume Name=${String(r.volume)}`, r);
      }
      case 'verify session': {
        this.requireRole('director', cmd);
        const body = req.body as VolumeVerifyRequest;
        if (!body || !Array.isArray(body.entries) || body.entries.length === 0 || body.entries.some((e) => e.sessionId !== body.entries[0].sessionId)) {
          throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', 'verify session needs a body with the entries of one session.', {});
        }
        const r = await this.sd.verifySession(body);
        return this.reply(`OK verify session SessionId=${r.sessionId} BadBlocks=${r.badBlocks.length} Problems=${r.problems.length}`, r);
      }
      case 'media': {
        this.requireRole('director', cmd);
        return this.reply('OK media', await this.sd.media.status(deviceArg(req), { scan: req.args.scan === '1' }));
      }
      case 'mount': {
        this.requireRole('director', cmd);
        return this.reply('OK mount', await this.sd.media.mount(deviceArg(req), slotArg(req)));
      }
      case 'unmount': {
        this.requireRole('director', cmd);
        return this.reply('OK unmount', await this.sd.media.unmount(deviceArg(req)));
      }
      case 'label': {
        this.requireRole('director', cmd);
        const body = (req.body ?? {}) as { pool?: unknown };
        const r = await this.sd.media.label({ device: deviceArg(req), name: req.args.name, pool: String(body.pool ?? req.args.pool ?? ''), slot: slotArg(req) });
        return this.reply(`OK label Name=${String(r.volume)}`, r);
      }
      case 'status':
        this.requireRole('director', cmd);
        return this.reply('OK status', { sessions: this.sd.tickets.counts(), ...this.sd.status() });
      case 'cancel': {
        const e = this.sd.tickets.get(ticket);
        if (!e || e.owner !== this) throw new CairnError('CAIRN_E_SESSION_TICKET', 'No session with that ticket was opened on this connection.', { ticket: ticket ?? null });
        if (e.kind === 'append') await e.session.abort('cancelled by the Director');
        else await e.session.close();
        return this.reply('OK cancelled');
      }
      case 'append open session': {
        if (this.append || this.read) throw stateError('a session is already open on this connection', cmd);
        const e = this.sd.tickets.bind(ticket, 'append', this, this.fdKeyId(cmd));
        e.session.assertActive();
        this.append = { ticket: e.ticket, session: e.session };
        await e.session.start(startLabelExtension(req.body));
        return this.reply(`OK open session SessionId=${e.session.sessionId}`, { sessionId: e.session.sessionId });
      }
      case 'append data':
        return this.appendData(ticket);
      case 'append end session': {
        await this.appendSession(cmd).end();
        return this.reply('OK end session');
      }
      case 'append close session': {
        const s = this.appendSession(cmd);
        const report = await s.close(jobSummary(req.body));
        this.sd.tickets.delete((this.append as { ticket: string }).ticket);
        this.append = null;
        const last = report.ranges[report.ranges.length - 1];
        return this.reply(`OK close session SessionId=${report.sessionId} Volume=${last?.volume ?? ''} Records=${report.records}`, report);
      }
      case 'append abort session': {
        const s = this.appendSession(cmd, true);
        await s.abort('aborted by the File Daemon');
        this.sd.tickets.delete((this.append as { ticket: string }).ticket);
        this.append = null;
        return this.reply('OK abort session');
      }
      case 'read open session': {
        if (this.append || this.read) throw stateError('a session is already open on this connection', cmd);
        const e = this.sd.tickets.bind(ticket, 'read', this, this.fdKeyId(cmd));
        this.read = { ticket: e.ticket, session: e.session };
        e.session.state = 'open';
        return this.reply('OK read open session');
      }
      case 'read data':
        return this.readData();
      case 'read close session': {
        if (!this.read) throw new CairnError('CAIRN_E_SESSION_NOT_FOUND', 'No read session is open on this connection.', { command: cmd });
        await this.read.session.close();
        this.sd.tickets.delete(this.read.ticket);
        this.read = null;
        return this.reply('OK read close session');
      }
      default:
        throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', `Unknown command "${req.line.slice(0, 80)}".`, { command: req.line.slice(0, 80) });
    }
  }

  /** Over the network only an authenticated Director may open sessions. */
  private requireRole(role: SdPeer['role'], cmd: string): void {
    if (this.peer && this.peer.role !== role) {
      throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', `Command "${cmd}" is for a ${role === 'director' ? 'Director' : 'File Daemon'} connection.`, { command: cmd, role: this.peer.role });
    }
  }

  /** The session key id an FD connection authenticated with (null in local mode): a ticket is accepted only with its own key. */
  private fdKeyId(cmd: string): string | null {
    if (!this.peer) return null;
    this.requireRole('fd', cmd);
    return this.peer.name;
  }

  private appendSession(cmd: string, evenIfAborted = false): AppendSession {
    if (!this.append) throw new CairnError('CAIRN_E_SESSION_NOT_FOUND', 'No append session is open on this connection.', { command: cmd });
    if (!evenIfAborted) this.append.session.assertActive();
    return this.append.session;
  }

  /** `append data`: data frames until EOD. After a failure the rest is read and dropped; the next command gets the error. */
  private async appendData(ticket: string | undefined): Promise<void> {
    const e = this.sd.tickets.bound(ticket, this);
    if (e.kind !== 'append' || !this.append || this.append.session !== e.session) throw stateError('append data needs the ticket of the session opened here', 'append data');
    const s = e.session;
    s.assertActive();
    if (s.state !== 'open') throw stateError(`session is ${s.state}`, 'append data');
    await this.reply('OK data');
    const sink = (h: Parameters<AppendSession['record']>[0], p: Buffer[]): Promise<void> => s.record(h, p);
    for (;;) {
      const f = await this.reader.next();
      this.heartbeat?.seen();
      if (!f) throw new CairnError('CAIRN_E_PROTOCOL_CLOSED', 'Connection closed during append data.', { sessionId: s.sessionId });
      if (f.kind === 'signal') {
        if (f.signal === Signal.EOD) return;
        if (f.signal === Signal.TERMINATE) throw new CairnError('CAIRN_E_PROTOCOL_CLOSED', 'Peer terminated during append data.', { sessionId: s.sessionId });
        continue;
      }
      if (s.state !== 'open') continue;
      try {
        await s.exclusive(() => parseDataFrame(f.chunks, sink));
      } catch (err) {
        const ce = isCairnError(err) ? err : new CairnError('CAIRN_E_SD_INTERNAL', `Append failed: ${String(err)}`, { sessionId: s.sessionId }, { cause: err });
        await s.abort(ce.message, ce);
      }
    }
  }

  private async readData(): Promise<void> {
    const r = this.read;
    if (!r) throw new CairnError('CAIRN_E_SESSION_NOT_FOUND', 'No read session is open on this connection.', { command: 'read data' });
    if (r.session.state === 'done') return this.reply('end of data', undefined, Status.END_OF_DATA);
    await this.reply('OK data');
    r.session.state = 'reading';
    let batch: Array<Extract<ReadItem, { kind: 'record' }>> = [];
    let batchBytes = 0;
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const sent = batch;
      const parts = encodeRecordsFrame(sent[0].location, sent);
      batch = [];
      batchBytes = 0;
      // The records' buffers may be reused once the stream is done with them (an in-memory pair holds its own).
      await this.writer.writeFrame(parts, () => {
        for (const it of sent) it.release?.();
      });
      this.heartbeat?.seen();
    };
    try {
      for await (const it of r.session.items()) {
        if (it.kind === 'record') {
          const prev = batch[0]?.location;
          if (prev && (prev.block !== it.location.block || prev.volume !== it.location.volume || prev.file !== it.location.file)) await flush();
          else if (batchBytes + it.record.payload.length > DATA_FRAME_TARGET_BYTES) await flush();
          batch.push(it);
          batchBytes += it.record.payload.length + 12;
          continue;
        }
        await flush();
        const { kind, ...rest } = it;
        await this.writer.writeFrame(encodeJsonFrame(kind === 'bad-block' ? READ_TAG.BAD_BLOCK : READ_TAG.VOLUME_END, rest));
      }
      await flush();
    } catch (err) {
      await flush().catch(() => undefined);
      await this.writer.writeFrame(encodeJsonFrame(READ_TAG.ERROR, errorBody(err)));
    }
    r.session.state = 'done';
    await this.writer.writeSignal(Signal.EOD);
  }

  private async cleanup(): Promise<void> {
    if (this.append) {
      const s = this.append.session;
      if (s.state !== 'closed' && s.state !== 'aborted') await s.abort('the File Daemon connection was lost');
      this.sd.tickets.delete(this.append.ticket);
      this.append = null;
    }
    if (this.read) {
      await this.read.session.close().catch(() => undefined);
      this.sd.tickets.delete(this.read.ticket);
      this.read = null;
    }
    this.sd.tickets.dropUnboundOf(this);
    if (!this.stream.destroyed) this.stream.end();
  }
}

function jobIdArg(req: Request, command: string): number {
  const jobId = Number(req.args.jobid);
  if (!Number.isInteger(jobId) || jobId <= 0) throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', `"${command}" needs JobId=<n>.`, { command });
  return jobId;
}

/** The FD's job summary for the end label (protocol.md §5), kept only when it has the documented shape. */
function jobSummary(body: unknown): SessionJobSummary | undefined {
  const b = body as Partial<SessionJobSummary> | null | undefined;
  if (!b || typeof b !== 'object' || (b.status !== 'ok' && b.status !== 'warning')) return undefined;
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
  return { status: b.status, files: n(b.files), bytes: n(b.bytes), storedBytes: n(b.storedBytes), deleted: n(b.deleted), warnings: n(b.warnings) };
}

function deviceArg(req: Request): string | undefined {
  return req.args.device === undefined || req.args.device === '' ? undefined : req.args.device;
}

function slotArg(req: Request): number | undefined {
  if (req.args.slot === undefined) return undefined;
  const slot = Number(req.args.slot);
  if (!Number.isInteger(slot) || slot < 1) throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', `Slot=${req.args.slot} is not a slot number (1, 2, …).`, { slot: req.args.slot });
  return slot;
}

function stateError(why: string, command: string): CairnError {
  return new CairnError('CAIRN_E_SESSION_STATE', `Command "${command}" not allowed: ${why}.`, { command, why });
}

/** The start-label members an FD may add (only known ones are taken: `encryption`, an object). */
function startLabelExtension(body: unknown): StartLabelExtension {
  const b = body as { encryption?: unknown } | undefined;
  if (b === undefined || b === null || b.encryption === undefined) return {};
  if (typeof b.encryption !== 'object' || b.encryption === null || Array.isArray(b.encryption)) {
    throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', 'append open session: "encryption" must be an object.', {});
  }
  return { encryption: b.encryption };
}
