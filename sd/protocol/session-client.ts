/**
 * SdSessionClient: the File Daemon's side of a data connection to the SD
 * (append sessions for backup, read sessions for restore). Commands are
 * strictly request/reply; records are batched into data frames and
 * writeRecord() resolves only when the connection can take more.
 */
import type { Duplex } from 'node:stream';
import { CairnError } from '../../plugin-api/index.js';
import type { DataRecord, ReadItem, SessionCloseReport, SessionJobSummary, StartLabelExtension } from '../api.js';
import { DATA_FRAME_TARGET_BYTES, MAX_FRAME_BYTES } from '../defaults.js';
import { Status, formatMessage, parseReply, replyError, type Reply } from '../wire/control-message.js';
import { RECORD_HEADER_BYTES, checkRecord, encodeRecordHeader } from '../wire/data-record.js';
import { Signal, joinChunks } from '../wire/frame.js';
import { FrameReader } from '../wire/frame-reader.js';
import { FrameWriter } from '../wire/frame-writer.js';
import { decodeReadFrameChunks } from '../wire/read-frame.js';
import { takePassed } from '../wire/buffer-loans.js';
import { sendHeartbeats } from '../wire/liveness.js';

export class SdSessionClient {
  private readonly reader: FrameReader;
  private readonly writer: FrameWriter;
  private ticket = '';
  private inData = false;
  /** The `append data` request while it is in flight: an abort must wait for it, or its line would be read as data. */
  private starting: Promise<void> | null = null;
  private batch: Uint8Array[] = [];
  private batchBytes = 0;

  private readonly stopHeartbeats: () => void = () => undefined;

  /** `heartbeatMs`: send HEARTBEAT whenever the connection is idle that long (network connections; the SD watches for them). */
  constructor(
    private readonly stream: Duplex,
    opts: { heartbeatMs?: number } = {},
  ) {
    this.reader = new FrameReader(stream);
    this.writer = new FrameWriter(stream);
    stream.on('error', () => undefined);
    if (opts.heartbeatMs) this.stopHeartbeats = sendHeartbeats(this.writer, opts.heartbeatMs);
    stream.once('close', () => this.stopHeartbeats());
  }

  /**
   * `append open session Ticket=…` → the session id. `label`: members the FD adds to the session start
   * label (v1: `encryption`, the job's encryption header; docs/protocol.md).
   */
  async appendOpen(ticket: string, label?: StartLabelExtension): Promise<{ sessionId: number }> {
    const r = await this.request(`append open session Ticket=${ticket}`, label);
    this.ticket = ticket;
    return r.body as { sessionId: number };
  }

  /**
   * Queues one record. Resolves when the caller may send the next (honours
   * the connection's back-pressure). The payload is sent by reference: do not
   * change its bytes afterwards.
   */
  async writeRecord(rec: DataRecord): Promise<void> {
    if (!this.inData) await this.startData();
    checkRecord(rec);
    const size = RECORD_HEADER_BYTES + rec.payload.length;
    if (size > MAX_FRAME_BYTES) {
      throw new CairnError('CAIRN_E_PROTOCOL_RECORD', `Record of ${rec.payload.length} bytes exceeds the ${MAX_FRAME_BYTES - RECORD_HEADER_BYTES}-byte limit of one frame.`, { length: rec.payload.length, fileIndex: rec.fileIndex });
    }
    if (this.batchBytes + size > MAX_FRAME_BYTES) await this.flush();
    this.batch.push(encodeRecordHeader(rec), rec.payload);
    this.batchBytes += size;
    if (this.batchBytes >= DATA_FRAME_TARGET_BYTES) await this.flush();
  }

  /** Sends the batched records now. */
  async flush(): Promise<void> {
    if (this.batch.length === 0) return;
    const parts = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    await this.writer.writeFrame(parts);
  }

  /** Ends the data stream (EOD) and sends `append end session`. */
  async appendEnd(): Promise<void> {
    await this.endData();
    await this.request('append end session');
  }

  /** `append close session`: resolves once the SD has made the session durable. */
  async appendClose(summary?: SessionJobSummary): Promise<SessionCloseReport> {
    if (this.inData) await this.appendEnd();
    const r = await this.request('append close session', summary);
    return r.body as SessionCloseReport;
  }

  async appendAbort(): Promise<void> {
    if (this.starting) await this.starting.catch(() => undefined);
    this.batch = [];
    this.batchBytes = 0;
    if (this.inData) {
      this.inData = false;
      await this.writer.writeSignal(Signal.EOD);
    }
    await this.request('append abort session');
  }

  async readOpen(ticket: string): Promise<void> {
    await this.request(`read open session Ticket=${ticket}`);
    this.ticket = ticket;
  }

  /** Every item of the read session, pulled from the SD as the caller iterates. */
  async *readData(): AsyncGenerator<ReadItem> {
    const r = await this.request('read data', undefined, true);
    if (r.status === Status.END_OF_DATA) return;
    let finished = false;
    try {
      for (;;) {
        let f: Awaited<ReturnType<FrameReader['next']>>;
        try {
          f = await this.reader.next();
        } catch (err) {
          // A broken stream (closed mid-frame): nothing to skip, and its error is the one to report.
          finished = true;
          throw err;
        }
        if (!f) {
          finished = true;
          throw new CairnError('CAIRN_E_PROTOCOL_CLOSED', 'The SD closed the connection during read data.', {});
        }
        if (f.kind === 'signal') {
          if (f.signal === Signal.EOD) {
            finished = true;
            return;
          }
          continue;
        }
        const d = decodeReadFrameChunks(f.chunks, f.length); // records stay views of the received pieces: no copy of the frame
        if (d.kind === 'error') {
          await this.skipToEod();
          finished = true;
          throw d.error;
        }
        for (const it of d.items) {
          // A payload an in-memory pair passed by reference carries the hold the pair took for us.
          if (it.kind === 'record') {
            const release = takePassed(it.record.payload);
            if (release) it.release = release;
          }
          yield it;
        }
      }
    } finally {
      // A caller that stops iterating early: the rest of the stream is read and dropped, so the connection stays usable.
      if (!finished) await this.skipToEod();
    }
  }

  async readClose(): Promise<void> {
    await this.request('read close session');
  }

  /** Says goodbye (TERMINATE) and ends the stream. */
  async close(): Promise<void> {
    this.stopHeartbeats();
    if (!this.writer.closed) {
      await this.writer.writeSignal(Signal.TERMINATE).catch(() => undefined);
      this.stream.end();
    }
  }

  private async startData(): Promise<void> {
    this.starting ??= this.request(`append data Ticket=${this.ticket}`).then(() => {
      this.inData = true;
    });
    try {
      await this.starting;
    } finally {
      this.starting = null;
    }
  }

  private async endData(): Promise<void> {
    if (!this.inData) return;
    await this.flush();
    this.inData = false;
    await this.writer.writeSignal(Signal.EOD);
  }

  private async skipToEod(): Promise<void> {
    for (;;) {
      const f = await this.reader.next();
      if (!f || (f.kind === 'signal' && f.signal === Signal.EOD)) return;
    }
  }

  private async request(line: string, body?: unknown, allowEndOfData = false): Promise<Reply> {
    if (this.inData) throw new CairnError('CAIRN_E_SESSION_STATE', `Cannot send "${line}" while sending data; call appendEnd() first.`, { command: line });
    await this.writer.writeFrame([formatMessage(line, body)]);
    for (;;) {
      const f = await this.reader.next();
      if (!f) throw new CairnError('CAIRN_E_PROTOCOL_CLOSED', `The SD closed the connection before answering "${line}".`, { request: line });
      if (f.kind === 'signal') continue;
      const r = parseReply(joinChunks(f.chunks, f.length));
      if (r.status === Status.OK || (allowEndOfData && r.status === Status.END_OF_DATA)) return r;
      throw replyError(r, line);
    }
  }
}
