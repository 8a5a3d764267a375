/**
 * AppendSession: one job's append session. Turns records into blocks on the
 * pool's current volume (interleaving by block with other sessions), follows
 * rollovers, sends catalog records to the Director as their blocks are
 * numbered, and at close makes everything durable before reporting.
 */
import { CairnError, StreamType } from '../../plugin-api/index.js';
import type { DataRecord, JobMediaRange, RecordLocation, SdNotification, SessionCloseReport, SessionJobInfo, SessionJobSummary, StartLabelExtension } from '../api.js';
import { CATALOG_BATCH_RECORDS, SESSION_MAX_INFLIGHT_BLOCKS } from '../defaults.js';
import { BlockKind, sealBlock } from '../volume/block.js';
import { labelBlock, type SessionEndLabel, type SessionStartLabel } from '../volume/labels.js';
import type { RecordHeader } from '../wire/data-record.js';
import { BlockWriter, type FilledBlock } from './block-writer.js';
import type { SdLogger } from './logger.js';
import type { VolumeAppender } from './volume-appender.js';
import type { VolumePool } from './volume-pool.js';

/** Stream types whose records the Director catalogs. */
export const CATALOGED_STREAMS: ReadonlySet<number> = new Set([StreamType.ATTRIBUTES, StreamType.DIGEST_SHA256, StreamType.AGENT, StreamType.AGENT_STATE, StreamType.PACK_INDEX, StreamType.DIGEST_SEALED]);

type Entry = { record: DataRecord; location: RecordLocation | null };
export type SessionState = 'ticketed' | 'open' | 'ended' | 'closed' | 'aborted';

export class AppendSession {
  state: SessionState = 'ticketed';
  abortReason = '';
  /** The error that aborted the session, reported to the FD on its next command. */
  failure: CairnError | null = null;
  private app: VolumeAppender;
  private readonly writer: BlockWriter;
  private readonly ranges: JobMediaRange[] = [];
  private range: JobMediaRange | null = null;
  private seq = 0;
  private readonly inflight: Promise<void>[] = [];
  private readonly catalog: Entry[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private stats = { records: 0, bytes: 0, blocks: 0, files: 0, firstFileIndex: 0, lastFileIndex: 0 };
  /** A close is past its checks and making the session durable. */
  private closing = false;
  /** The hold on the current volume was given back (at close or abort). */
  private released = false;

  constructor(
    readonly sessionId: number,
    readonly job: SessionJobInfo,
    appender: VolumeAppender,
    private readonly pool: VolumePool,
    private readonly notify: (n: SdNotification) => Promise<void>,
    private readonly log: SdLogger,
    /** Called once when the session is closed or aborted (frees its device slot). */
    private readonly onEnd: () => void = () => undefined,
  ) {
    this.app = appender;
    this.writer = new BlockWriter(appender.blockSize, (b) => this.emitData(b));
  }

  /** Runs fn after every earlier session operation (data, close, abort never overlap). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  assertActive(): void {
    if (this.state === 'aborted' && this.failure) throw this.failure;
    if (this.state === 'aborted') throw new CairnError('CAIRN_E_SESSION_ABORTED', `Session ${this.sessionId} was aborted: ${this.abortReason}.`, { sessionId: this.sessionId, jobId: this.job.jobId, reason: this.abortReason });
  }

  /**
   * A mirrored copy (SessionJobInfo.mirror): a session of its own on another device that receives every record,
   * label extension, end and close of this one; it closes first, so the report lists it only once it is durable,
   * and it fails or aborts together with this one.
   */
  mirror: { device: string; session: AppendSession } | null = null;

  /** Members the FD added to the start label (written into every SESSION_START of the session). */
  private labelExtension: StartLabelExtension = {};

  /** Writes the session start label (called at `append open session`), with the FD's additions. */
  start(extension: StartLabelExtension = {}): Promise<void> {
    return this.exclusive(async () => {
      this.assertActive();
      this.state = 'open';
      this.labelExtension = extension;
      await this.writeLabel(BlockKind.SESSION_START, false);
      if (this.mirror) await this.mirror.session.start(extension);
    });
  }

  /** Stores one record (payload given as slices; copied once into the block buffer). */
  async record(h: RecordHeader, parts: Buffer[]): Promise<void> {
    const s = this.stats;
    s.records++;
    s.bytes += h.length;
    if (h.fileIndex > s.lastFileIndex) {
      s.lastFileIndex = h.fileIndex;
      s.files++;
      if (s.firstFileIndex === 0) s.firstFileIndex = h.fileIndex;
    }
    let tag: Entry | undefined;
    if (CATALOGED_STREAMS.has(h.streamType)) {
      const payload = parts.length === 1 ? Buffer.from(parts[0]) : Buffer.concat(parts, h.length);
      tag = { record: { fileIndex: h.fileIndex, streamType: h.streamType, streamNo: h.streamNo, payload }, location: null };
      this.catalog.push(tag);
    }
    await this.writer.write(h, parts, tag);
    // The parts stay valid until this returns (the connection holds the frame): the copy writes the same bytes.
    if (this.mirror) await this.mirror.session.record(h, parts);
  }

  /** `append end session`: the last partial block goes out. */
  end(): Promise<void> {
    return this.exclusive(async () => {
      this.assertActive();
      await this.writer.flush();
      this.state = 'ended';
      if (this.mirror) await this.mirror.session.end();
    });
  }

  /** `append close session`: end label, every block durable, catalog told, Director notified; then the report. */
  close(summary?: SessionJobSummary): Promise<SessionCloseReport> {
    return this.exclusive(async () => {
      this.assertActive();
      // From here the close decides: an abort asked for meanwhile waits for it and acts only if it fails.
      this.closing = true;
      let copy: SessionCloseReport | null = null;
      try {
        // A mirrored copy closes (durably) first: the report lists it only once it is.
        if (this.mirror) copy = await this.mirror.session.close(summary);
        if (this.state === 'open') await this.writer.flush();
        await this.writeLabel(BlockKind.SESSION_END, true, undefined, summary);
        await this.drain(0);
        await this.app.sync();
      } finally {
        this.closing = false;
      }
      if (this.range) this.ranges.push(this.range);
      this.range = null;
      this.state = 'closed';
      try {
        await this.sendCatalog(true);
        const report: SessionCloseReport = {
          sessionId: this.sessionId,
          ranges: this.ranges,
          records: this.stats.records,
          bytes: this.stats.bytes,
          blocks: this.stats.blocks,
          lastFileIndex: this.stats.lastFileIndex,
          ...(copy ? { copies: [{ device: this.mirror!.device, sessionId: copy.sessionId, ranges: copy.ranges }] } : {}),
        };
        await this.notify({ type: 'session-closed', jobId: this.job.jobId, report });
        return report;
      } finally {
        await this.releaseVolume();
        this.onEnd();
      }
    });
  }

  /**
   * Aborts: no more data accepted; an end label with status aborted is written if the volume still takes it
   * (not synced). While a close is under way the abort waits for it: a session that closed is not aborted
   * after (no second end label, no session-aborted after session-closed, its volume released once).
   */
  abort(reason: string, failure?: CairnError): Promise<void> {
    if (this.state === 'aborted' || this.state === 'closed') return Promise.resolve();
    if (this.closing) {
      this.log.info({ sessionId: this.sessionId, jobId: this.job.jobId, reason }, 'abort asked while the session closes: it waits for the close');
      return this.exclusive(async () => {
        if (this.state === 'aborted' || this.state === 'closed') return;
        this.markAborted(reason, failure);
        await this.abortCleanup(true, reason);
      }).catch(() => undefined);
    }
    const wasStarted = this.state !== 'ticketed';
    this.markAborted(reason, failure);
    return this.exclusive(() => this.abortCleanup(wasStarted, reason)).catch(() => undefined);
  }

  private markAborted(reason: string, failure?: CairnError): void {
    this.state = 'aborted';
    this.abortReason = reason;
    this.failure = failure ?? null;
    this.log.warn({ sessionId: this.sessionId, jobId: this.job.jobId, reason }, 'append session aborted');
    if (this.mirror) void this.mirror.session.abort(`its primary session ${this.sessionId} was aborted: ${reason}`);
  }

  private async abortCleanup(wasStarted: boolean, reason: string): Promise<void> {
    try {
      if (wasStarted) {
        await this.drain(0).catch(() => undefined);
        await this.writeLabel(BlockKind.SESSION_END, true, reason).catch(() => undefined);
        await this.drain(0).catch(() => undefined);
      }
    } finally {
      await this.releaseVolume();
      this.onEnd();
      await this.notify({ type: 'session-aborted', jobId: this.job.jobId, sessionId: this.sessionId, reason }).catch(() => undefined);
    }
  }

  /** The session's hold on its current volume, given back once (the pool closes a volume no session holds). */
  private async releaseVolume(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.pool.release(this.app);
  }

  private async writeLabel(kind: number, endLabel: boolean, reason?: string, summary?: SessionJobSummary): Promise<void> {
    for (;;) {
      const app = this.app;
      const no = app.reserve(endLabel);
      if (no === null) {
        await this.rollover();
        continue;
      }
      // From reserve() to queue() nothing awaits: blocks reach the appender in block-number order.
      const at = { blockNumber: no, sessionId: this.sessionId, sessionSeq: this.seq++ };
      const obj: SessionStartLabel | SessionEndLabel =
        kind === BlockKind.SESSION_START
          ? { sessionId: this.sessionId, volumeName: app.volume, time: Date.now(), continued: this.ranges.length > 0, job: this.job, ...this.labelExtension }
          : {
              sessionId: this.sessionId,
              jobId: this.job.jobId,
              volumeName: app.volume,
              time: Date.now(),
              status: reason === undefined ? 'ok' : 'aborted',
              ...this.stats,
              ...(reason === undefined ? {} : { reason }),
              ...(summary === undefined ? {} : { job: summary }),
            };
      if (kind === BlockKind.SESSION_START && !this.range) this.openRange(no);
      await this.queue(app, no, labelBlock(app.blockSize, kind, obj, at), null);
      return;
    }
  }

  private async emitData(b: FilledBlock): Promise<void> {
    this.assertActive();
    for (;;) {
      const app = this.app;
      const no = app.reserve(false);
      if (no === null) {
        await this.rollover();
        continue;
      }
      // From reserve() to queue() nothing awaits: blocks reach the appender in block-number order.
      sealBlock(b.buf, { kind: BlockKind.DATA, blockNumber: no, sessionId: this.sessionId, sessionSeq: this.seq++, payloadLength: b.payloadLength, firstRecordOffset: b.firstRecordOffset });
      const r = this.range as JobMediaRange;
      if (b.minIndex > 0 && (r.firstIndex === 0 || b.minIndex < r.firstIndex)) r.firstIndex = b.minIndex;
      if (b.maxIndex > r.lastIndex) r.lastIndex = b.maxIndex;
      const location: RecordLocation = { volume: app.volume, file: 0, block: no };
      for (const t of b.started) (t as Entry).location = location;
      await this.queue(app, no, b.buf, b.buf);
      await this.sendCatalog(false);
      return;
    }
  }

  /** The current volume is full: move to the next one and write the continuation label there. */
  private async rollover(): Promise<void> {
    const old = this.app;
    const next = await this.pool.rollover(old, this.job.pool);
    if (next.blockSize !== old.blockSize) {
      await this.pool.release(next);
      throw new CairnError('CAIRN_E_VOLUME_MISMATCH', `Cannot continue session ${this.sessionId} on volume ${next.volume}: its block size ${next.blockSize} differs from ${old.blockSize}.`, { volume: next.volume, sessionId: this.sessionId });
    }
    if (this.range) this.ranges.push(this.range);
    this.range = null;
    this.app = next;
    await this.pool.release(old);
    // Continuation label first, so a reader of this volume alone knows the job.
    await this.writeLabel(BlockKind.SESSION_START, false);
  }

  private openRange(startBlock: number): void {
    this.range = { volume: this.app.volume, sessionId: this.sessionId, firstIndex: 0, lastIndex: 0, startFile: 0, startBlock, endFile: 0, endBlock: startBlock };
  }

  private async queue(app: VolumeAppender, no: number, block: Buffer, recycle: Buffer | null): Promise<void> {
    if (this.range && this.range.volume === app.volume) this.range.endBlock = no;
    this.stats.blocks++;
    const p = app.write(no, block).then(() => {
      if (recycle) this.writer.recycle(recycle);
    });
    p.catch(() => undefined);
    this.inflight.push(p);
    await this.drain(SESSION_MAX_INFLIGHT_BLOCKS);
  }

  private async drain(max: number): Promise<void> {
    while (this.inflight.length > max) await this.inflight.shift();
  }

  private async sendCatalog(all: boolean): Promise<void> {
    for (;;) {
      let n = 0;
      while (n < this.catalog.length && n < CATALOG_BATCH_RECORDS && this.catalog[n].location) n++;
      if (n === 0 || (!all && n < CATALOG_BATCH_RECORDS)) return;
      const batch = this.catalog.splice(0, n);
      await this.notify({
        type: 'catalog-records',
        jobId: this.job.jobId,
        sessionId: this.sessionId,
        records: batch.map((e) => ({ record: e.record, location: e.location as RecordLocation })),
      });
    }
  }
}
