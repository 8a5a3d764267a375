/**
 * VolumeAppender: one volume mounted for appending. Hands out block numbers
 * (synchronously, so sessions interleave by block), writes queued blocks in
 * order with big positional writev calls, and syncs. After sync() it tells
 * the catalog the new committed end (never moving it backwards).
 */
import type { VolumeCatalogPort } from '../api.js';
import { DEVICE_WRITE_BATCH_BLOCKS } from '../defaults.js';
import type { VolumeHandle } from '../device/device.js';
import { recordCommittedEnd, type Appender, type WrittenAt } from './appender.js';

interface Pending {
  block: Buffer;
  resolve: (at: WrittenAt) => void;
  reject: (e: unknown) => void;
}

export class VolumeAppender implements Appender {
  /** Next block number to hand out. */
  private nextBlock: number;
  /** Blocks written to the device so far (the write frontier). */
  private written: number;
  /** Next block number write() expects (blocks are queued in reservation order). */
  private queued: number;
  private committedBlocks: number;
  private readonly queue: Pending[] = [];
  private pumping = false;
  private failure: unknown = null;
  private syncChain: Promise<unknown> = Promise.resolve();
  /** Set when the volume is Full or retired: no more blocks of any kind. */
  closedForAppend = false;
  /** Set when the volume reached its job limit: no new sessions; closed when the last one leaves. */
  retired = false;
  /** Sessions currently holding this appender. */
  refs = 0;
  /** Sessions started on this volume, as the catalog counts them. */
  jobs: number;
  /** The pool's job limit for this volume, when its pool sets one (the device's applies too). */
  poolMaxJobs: number | undefined;

  constructor(
    readonly handle: VolumeHandle,
    readonly blockSize: number,
    /** Blocks the volume may hold before it is Full (end labels may pass it). */
    private readonly maxBlocks: number,
    startBlocks: number,
    jobs: number,
    private readonly catalog: VolumeCatalogPort,
  ) {
    this.nextBlock = startBlocks;
    this.written = startBlocks;
    this.queued = startBlocks;
    this.committedBlocks = startBlocks;
    this.jobs = jobs;
  }

  get volume(): string {
    return this.handle.volume;
  }

  get blocks(): number {
    return this.nextBlock;
  }

  /** A block number for the next block, or null if the volume is full (end labels may pass the size limit). */
  reserve(endLabel = false): number | null {
    if (this.closedForAppend || this.failure) return null;
    if (!endLabel && this.nextBlock >= this.maxBlocks) return null;
    return this.nextBlock++;
  }

  /** Queues the block reserved as `blockNo`; blocks must be queued in reservation order. Resolves when written (not durable). */
  write(blockNo: number, block: Buffer): Promise<WrittenAt> {
    if (this.failure) return Promise.reject(this.failure);
    if (blockNo !== this.queued) {
      return Promise.reject(new Error(`internal: block ${blockNo} queued out of order on ${this.volume} (expected ${this.queued})`));
    }
    this.queued++;
    return new Promise((resolve, reject) => {
      this.queue.push({ block, resolve, reject });
      if (!this.pumping) void this.pump();
    });
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, DEVICE_WRITE_BATCH_BLOCKS);
      try {
        await this.handle.writev(
          batch.map((p) => p.block),
          this.written * this.blockSize,
        );
        const first = this.written;
        this.written += batch.length;
        batch.forEach((p, i) => p.resolve({ file: 0, block: first + i }));
      } catch (err) {
        this.failure = err;
        for (const p of batch) p.reject(err);
        for (const p of this.queue.splice(0)) p.reject(err);
      }
    }
    this.pumping = false;
    this.idleWaiters.splice(0).forEach((f) => f());
  }

  private closed = false;

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }

  private readonly idleWaiters: Array<() => void> = [];

  private idle(): Promise<void> {
    if (!this.pumping && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /**
   * Waits for every block queued so far, fsyncs, and records the committed
   * end in the catalog. Returns the committed block count — only once the
   * catalog holds it: an update that failed is not counted, so the next
   * sync sends it again even when no block was written since (another
   * session's close must not report blocks durable that a later mount would
   * trim).
   */
  sync(extra?: { status?: 'full' | 'used' }): Promise<number> {
    const p = this.syncChain.then(async () => {
      await this.idle();
      if (this.failure) throw this.failure;
      const written = this.written;
      await this.handle.sync();
      this.committedBlocks = await recordCommittedEnd(this.catalog, this.volume, this.blockSize, this.committedBlocks, written, extra?.status);
      return this.committedBlocks;
    });
    this.syncChain = p.catch(() => undefined);
    return p;
  }
}
