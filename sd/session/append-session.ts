/**
 * AppendSession: one job's append session. Turns records into blocks on the
 * pool's current volume (interleaving by block with other sessions), follows
 * rollovers, sends catalog records to the Director once their blocks are
 * written, and at close makes everything durable before reporting.
 *
 * On a tape the end of medium is found by a write, after later blocks were
 * already queued: the blocks that did not land (isUnwrittenEndOfMedium) are
 * taken back in order, the session continues on the next volume (a
 * continuation start label) and writes them there — resealed with their new
 * block numbers — so nothing is lost. Locations and job-media ranges are
 * therefore taken from where each block was actually written.
 *
 * A spooled session (JobSpool) writes its data blocks to a spool file and
 * only mounts its volume when it despools — one session at a time per device
 * (despoolGate), in one long run — at the spool's size limit and at close.
 */
import { CairnError, StreamType } from '../../plugin-api/index.js';
import type { DataRecord, JobMediaRange, RecordLocation, SdNotification, SessionCloseReport, SessionJobInfo, SessionJobSummary, StartLabelExtension } from '../api.js';
import { CATALOG_BATCH_RECORDS, SESSION_MAX_INFLIGHT_BLOCKS } from '../defaults.js';
import { isUnwrittenEndOfMedium } from '../device/device.js';
import { BlockKind, sealBlock } from '../volume/block.js';
import { labelBlock, type SessionEndLabel, type SessionStartLabel } from '../volume/labels.js';
import type { RecordHeader } from '../wire/data-record.js';
import type { Appender, WrittenAt } from './appender.js';
import { BlockWriter, type FilledBlock } from './block-writer.js';
import type { JobSpool } from './job-spool.js';
import type { SdLogger } from './logger.js';
import type { VolumePool } from './volume-pool.js';

/** Stream types whose records the Director catalogs. */
export const CATALOGED_STREAMS: ReadonlySet<number> = new Set([StreamType.ATTRIBUTES, StreamType.DIGEST_SHA256, StreamType.AGENT, StreamType.AGENT_STATE, StreamType.PACK_INDEX]);

type Entry = { record: DataRecord; location: RecordLocation | null };
export type SessionState = 'ticketed' | 'open' | 'ended' | 'closed' | 'aborted';

/** A block queued to the volume, kept until written: one not written at end of medium is written again on the next volume. */
interface Queued {
  kind: 'data' | 'start' | 'end';
  block: FilledBlock | null;
  reason?: string;
  /** An end label's FD job summary (`append close session`). */
  summary?: SessionJobSummary;
  buf: Buffer;
  seq: number;
  done: Promise<void>;
  state: 'pending' | 'written' | 'unwritten' | 'failed';
  err?: unknown;
}

export interface AppendSessionOptions {
  /** Spool the data to this file first (the appender is then mounted at the first despool). */
  spool?: JobSpool;
  /** Block size of the session's blocks when no appender is given yet (spooling). */
  blockSize?: number;
  /** Mounts the session's volume (a spooled session, at its first despool): drive reservation and the pool's volume. */
  mount?: () => Promise<Appender>;
  /** Runs one despool at a time on the device. */
  despoolGate?: <T>(fn: () => Promise<T>) => Promise<T>;
}

export class AppendSession {
  state: SessionState = 'ticketed';
  abortReason = '';
  /** The error that aborted the session, reported to the FD on its next command. */
  failure: CairnError | null = null;
  private app: Appender | null;
  private readonly writer: BlockWriter;
  private readonly ranges: JobMediaRange[] = [];
  private range: JobMediaRange | null = null;
  private seq = 0;
  private started = false;
  private inflight: Queued[] = [];
  private readonly catalog: Entry[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private stats = { records: 0, bytes: 0, blocks: 0, files: 0, firstFileIndex: 0, lastFileIndex: 0 };
  private readonly blockSize: number;
  /** A close is past its checks and making the session durable. */
  private closing = false;
  /** The hold on the current volume was given back (at close or abort). */
  private released = false;
  /** Members the FD added to the start label (written into every SESSION_START of the session). */
  private labelExtension: StartLabelExtension = {};

  /**
   * A mirrored copy (SessionJobInfo.mirror): a session of its own on another device that receives every record,
   * label extension, end and close of this one; it closes first, so the report lists it only once it is durable,
   * and it fails or aborts together with this one.
   */
  mirror: { device: string; session: AppendSession } | null = null;

  constructor(
    readonly sessionId: number,
    readonly job: SessionJobInfo,
    appender: Appender | null,
    private readonly pool: VolumePool,
    private readonly notify: (n: SdNotification) => Promise<void>,
    private readonly log: SdLogger,
    /** Called once when the session is closed or aborted (frees its device slot and drive). */
    private readonly onEnd: () => void = () => undefined,
    private readonly opts: AppendSessionOptions = {},
  ) {
    this.app = appender;
    this.blockSize = appender?.blockSize ?? (opts.blockSize as number);
    this.writer = new BlockWriter(this.blockSize, (b) => this.emitData(b));
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
   * Writes the session start label, with the FD's additions (called at `append open session`; a spooled session
   * writes it when it first despools).
   */
  start(extension: StartLabelExtension = {}): Promise<void> {
    return this.exclusive(async () => {
      this.assertActive();
      this.state = 'open';
      this.labelExtension = extension;
      if (!this.opts.spool) await this.writeLabel(BlockKind.SESSION_START);
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

  /** `append close session`: end label (with the FD's job summary), every block durable, catalog told, Director notified; then the report. */
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
        if (this.opts.spool) await this.despool(true, summary);
        else {
          await this.writeLabel(BlockKind.SESSION_END, undefined, summary);
          await this.drain(0);
          await (this.app as Appender).sync();
        }
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
        await this.opts.spool?.discard();
        this.onEnd();
      }
    });
  }

  /** Aborts: no more data accepted; an end label with status aborted is written if the volume still takes it (not synced). */
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
      await this.opts.spool?.discard();
      if (wasStarted && this.app && this.started) {
        await this.drain(0).catch(() => undefined);
        await this.writeLabel(BlockKind.SESSION_END, reason).catch(() => undefined);
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
    if (this.released || !this.app) return;
    this.released = true;
    await this.pool.release(this.app);
  }

  /** Moves the spooled blocks to the volume (mounting it the first time), in one run; at close also the end label. */
  private async despool(final: boolean, summary?: SessionJobSummary): Promise<void> {
    const spool = this.opts.spool as JobSpool;
    const gate = this.opts.despoolGate ?? ((fn) => fn());
    await gate(async () => {
      if (!this.app) {
        const app = await (this.opts.mount as () => Promise<Appender>)();
        this.app = app;
        if (app.blockSize !== this.blockSize) {
          throw new CairnError('CAIRN_E_VOLUME_MISMATCH', `Cannot despool session ${this.sessionId} to volume ${app.volume}: its block size ${app.blockSize} differs from the spooled ${this.blockSize}.`, { volume: app.volume, sessionId: this.sessionId });
        }
        await this.writeLabel(BlockKind.SESSION_START);
      }
      const n = spool.bytes;
      for await (const b of spool.drain(() => this.writer.takeBuffer())) await this.put({ kind: 'data', block: b, buf: b.buf });
      if (final) await this.writeLabel(BlockKind.SESSION_END, undefined, summary);
      await this.drain(0);
      if (final) await (this.app as Appender).sync();
      this.log.info({ sessionId: this.sessionId, jobId: this.job.jobId, volume: this.app.volume, bytes: n, final }, 'despooled');
    });
  }

  private writeLabel(kind: number, reason?: string, summary?: SessionJobSummary): Promise<void> {
    return this.put({ kind: kind === BlockKind.SESSION_START ? 'start' : 'end', block: null, reason, summary, buf: Buffer.alloc(0) });
  }

  /** A spooled session spools; otherwise the block goes to the volume. */
  private async emitData(b: FilledBlock): Promise<void> {
    this.assertActive();
    const spool = this.opts.spool;
    if (spool) {
      await spool.add(b);
      this.writer.recycle(b.buf);
      if (spool.full) await this.despool(false);
      return;
    }
    await this.put({ kind: 'data', block: b, buf: b.buf });
    await this.sendCatalog(false);
  }

  /** Numbers, seals and queues one block on the current volume (rolling over when it takes no more). */
  private async put(q: Omit<Queued, 'seq' | 'done' | 'state'>): Promise<void> {
    for (;;) {
      const app = this.app as Appender;
      const no = app.reserve(q.kind === 'end');
      if (no === null) {
        await this.respan();
        continue;
      }
      // From reserve() to write() nothing awaits: blocks reach the appender in block-number order.
      const e = q as Queued;
      e.seq = this.seq++;
      const at = { blockNumber: no, sessionId: this.sessionId, sessionSeq: e.seq };
      if (e.kind === 'data') {
        const b = e.block as FilledBlock;
        sealBlock(e.buf, { kind: BlockKind.DATA, ...at, payloadLength: b.payloadLength, firstRecordOffset: b.firstRecordOffset });
      } else {
        const kind = e.kind === 'start' ? BlockKind.SESSION_START : BlockKind.SESSION_END;
        const obj: SessionStartLabel | SessionEndLabel =
          e.kind === 'start'
            ? { sessionId: this.sessionId, volumeName: app.volume, time: Date.now(), continued: this.started, job: this.job, ...this.labelExtension }
            : {
                sessionId: this.sessionId,
                jobId: this.job.jobId,
                volumeName: app.volume,
                time: Date.now(),
                status: e.reason === undefined ? 'ok' : 'aborted',
                ...this.stats,
                ...(e.reason === undefined ? {} : { reason: e.reason }),
                ...(e.summary === undefined ? {} : { job: e.summary }),
              };
        if (e.kind === 'start') this.started = true;
        e.buf = labelBlock(app.blockSize, kind, obj, at);
      }
      this.stats.blocks++;
      e.state = 'pending';
      const volume = app.volume;
      e.done = app.write(no, e.buf).then(
        (w) => {
          e.state = 'written';
          this.written(e, volume, w);
        },
        (err: unknown) => {
          e.state = isUnwrittenEndOfMedium(err) ? 'unwritten' : 'failed';
          e.err = err;
        },
      );
      this.inflight.push(e);
      await this.drain(SESSION_MAX_INFLIGHT_BLOCKS);
      return;
    }
  }

  /** A block is on the volume: its records' locations and the session's job-media range follow it. */
  private written(e: Queued, volume: string, w: WrittenAt): void {
    let r = this.range;
    if (!r || r.volume !== volume) {
      if (r) this.ranges.push(r);
      r = this.range = { volume, sessionId: this.sessionId, firstIndex: 0, lastIndex: 0, startFile: w.file, startBlock: w.block, endFile: w.file, endBlock: w.block };
    }
    r.endFile = w.file;
    r.endBlock = w.block;
    const b = e.block;
    if (!b) return;
    if (b.minIndex > 0 && (r.firstIndex === 0 || b.minIndex < r.firstIndex)) r.firstIndex = b.minIndex;
    if (b.maxIndex > r.lastIndex) r.lastIndex = b.maxIndex;
    const location: RecordLocation = { volume, file: w.file, block: w.block };
    for (const t of b.started) (t as Entry).location = location;
    this.writer.recycle(e.buf);
  }

  /** Waits until at most `max` blocks are in flight; a block not written at end of medium moves the session on. */
  private async drain(max: number): Promise<void> {
    while (this.inflight.length > max) {
      const e = this.inflight[0];
      await e.done;
      if (e.state === 'written') {
        this.inflight.shift();
        continue;
      }
      if (e.state === 'failed') throw e.err;
      await this.respan();
    }
  }

  /**
   * The volume takes no more: every block still in flight settles; those not written (end of medium) are taken
   * back in order and, after the continuation label on the next volume, written there with new block numbers.
   */
  private async respan(): Promise<void> {
    const pending = this.inflight.splice(0);
    await Promise.all(pending.map((e) => e.done));
    const failed = pending.find((e) => e.state === 'failed');
    if (failed) throw failed.err;
    const redo = pending.filter((e) => e.state === 'unwritten');
    this.stats.blocks -= redo.length;
    if (redo.length > 0) {
      this.seq = redo[0].seq; // the sequence continues from the first block that did not land
      this.log.info({ sessionId: this.sessionId, volume: this.app?.volume, blocks: redo.length }, 'end of medium: blocks not written go on the next volume');
    }
    await this.rollover();
    for (const e of redo) {
      if (e.kind === 'start') continue; // the continuation label replaces it
      await this.put({ kind: e.kind, block: e.block, reason: e.reason, summary: e.summary, buf: e.kind === 'data' ? e.buf : Buffer.alloc(0) });
    }
  }

  /** The current volume is full: move to the next one and write the continuation label there. */
  private async rollover(): Promise<void> {
    const old = this.app as Appender;
    const next = await this.pool.rollover(old, this.job.pool);
    if (next.blockSize !== old.blockSize) {
      await this.pool.release(next);
      throw new CairnError('CAIRN_E_VOLUME_MISMATCH', `Cannot continue session ${this.sessionId} on volume ${next.volume}: its block size ${next.blockSize} differs from ${old.blockSize}.`, { volume: next.volume, sessionId: this.sessionId });
    }
    this.app = next;
    await this.pool.release(old);
    // Continuation label first, so a reader of this volume alone knows the job.
    await this.writeLabel(BlockKind.SESSION_START);
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
