/**
 * TapeAppender: one tape mounted for appending (an Appender over a
 * TapeVolume). Hands out block numbers like VolumeAppender, writes the
 * queued blocks one tape block each, in order, and ends a tape file with a
 * filemark once it holds `filemarkBytes` (so a read can space to a file
 * instead of reading its way there). At end of medium the tape is Full: the
 * block that did not fit and every block queued after it are rejected as not
 * written (isUnwrittenEndOfMedium) — their sessions rewrite them on the next
 * volume — and nothing more is written here but the closing filemark.
 */
import { CairnError } from '../../plugin-api/index.js';
import type { VolumeCatalogPort } from '../api.js';
import { isUnwrittenEndOfMedium } from '../device/device.js';
import type { TapeVolume } from '../device/sequential-device.js';
import { recordCommittedEnd, type Appender, type WrittenAt } from './appender.js';

interface Pending {
  no: number;
  block: Buffer;
  resolve: (at: WrittenAt) => void;
  reject: (e: unknown) => void;
}

export class TapeAppender implements Appender {
  private nextBlock: number;
  private queued: number;
  /** Blocks on the tape (the write frontier). */
  private written: number;
  private committedBlocks: number;
  private blocksInFile = 0;
  private readonly queue: Pending[] = [];
  private pumping = false;
  /** A failure other than end of medium: every later write fails with it. */
  private failure: unknown = null;
  /** End of medium met: the tape is Full. */
  private endOfMedium: unknown = null;
  private syncChain: Promise<unknown> = Promise.resolve();
  private readonly idleWaiters: Array<() => void> = [];
  private closed = false;
  closedForAppend = false;
  retired = false;
  refs = 0;
  jobs: number;
  poolMaxJobs: number | undefined;

  constructor(
    readonly handle: TapeVolume,
    private readonly maxBlocks: number,
    startBlocks: number,
    jobs: number,
    private readonly catalog: VolumeCatalogPort,
    /** A filemark ends a tape file once it holds this many bytes of blocks. */
    private readonly filemarkBytes: number,
  ) {
    this.nextBlock = this.queued = this.written = this.committedBlocks = startBlocks;
    this.jobs = jobs;
  }

  get volume(): string {
    return this.handle.volume;
  }

  get blockSize(): number {
    return this.handle.blockSize;
  }

  get blocks(): number {
    return this.nextBlock;
  }

  /** True once the tape met end of medium. */
  get full(): boolean {
    return this.endOfMedium !== null;
  }

  reserve(endLabel = false): number | null {
    if (this.closedForAppend || this.failure || this.endOfMedium) return null;
    if (!endLabel && this.nextBlock >= this.maxBlocks) return null;
    return this.nextBlock++;
  }

  write(blockNo: number, block: Buffer): Promise<WrittenAt> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.endOfMedium) return Promise.reject(this.endOfMedium);
    if (blockNo !== this.queued) return Promise.reject(new Error(`internal: block ${blockNo} queued out of order on ${this.volume} (expected ${this.queued})`));
    this.queued++;
    return new Promise((resolve, reject) => {
      this.queue.push({ no: blockNo, block, resolve, reject });
      if (!this.pumping) void this.pump();
    });
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    while (this.queue.length > 0) {
      const p = this.queue[0];
      try {
        if (this.blocksInFile > 0 && (this.blocksInFile + 1) * this.blockSize > this.filemarkBytes) {
          await this.handle.writeFilemark();
          this.blocksInFile = 0;
        }
        if (this.handle.next.block !== p.no) throw new CairnError('CAIRN_E_SD_INTERNAL', `internal: tape ${this.volume} stands at block ${this.handle.next.block}, block ${p.no} was queued`, { volume: this.volume });
        const at = await this.handle.writeBlock(p.block);
        this.queue.shift();
        this.written++;
        this.blocksInFile++;
        p.resolve(at);
      } catch (err) {
        // End of medium: this block and all queued after it go on the next volume. Anything else: the volume failed.
        if (isUnwrittenEndOfMedium(err)) {
          this.endOfMedium = err;
          this.closedForAppend = true;
        } else this.failure = err;
        for (const q of this.queue.splice(0)) q.reject(err);
      }
    }
    this.pumping = false;
    this.idleWaiters.splice(0).forEach((f) => f());
  }

  private idle(): Promise<void> {
    if (!this.pumping && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /**
   * Waits for every block queued so far, makes them durable (a filemark) and records the committed end in the
   * catalog. The committed count moves only once the catalog holds it: an update that failed is sent again by
   * the next sync (as VolumeAppender.sync), so no session reports blocks durable that the catalog does not know.
   */
  sync(extra?: { status?: 'full' | 'used' }): Promise<number> {
    const p = this.syncChain.then(async () => {
      await this.idle();
      if (this.failure) throw this.failure;
      const written = this.written;
      if (!this.closed) await this.handle.sync();
      const status = extra?.status ?? (this.endOfMedium ? 'full' : undefined);
      this.committedBlocks = await recordCommittedEnd(this.catalog, this.volume, this.blockSize, this.committedBlocks, written, status);
      return this.committedBlocks;
    });
    this.syncChain = p.catch(() => undefined);
    return p;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.idle();
    this.closed = true;
    await this.handle.close();
  }
}
