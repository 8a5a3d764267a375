/**
 * The ordered record pipe between the backup driver and the SD session.
 * Records enter in session order, some still being compressed (promises);
 * they leave in the same order. The window (bytes and items in flight) is the
 * back-pressure: push() waits while the window is full, so memory stays
 * bounded whatever the file sizes.
 */
import type { DataRecord } from '../sd/index.js';

/** Bytes in flight between reading and the SD: enough to keep 2 workers busy with 1 MiB tasks (24 measured as fast as 32 on the large set), small enough for a 256 MiB RSS budget. */
export const PIPE_WINDOW_BYTES = 24 << 20;
/** Records in flight: bounds bookkeeping for runs of tiny files. */
export const PIPE_WINDOW_ITEMS = 8192;

type Item = { rec: DataRecord | Promise<DataRecord>; bytes: number };

export class RecordPipe {
  private readonly queue: Item[] = [];
  private head = 0;
  private bytes = 0;
  private error: unknown = null;
  private draining: Promise<void> | null = null;
  private spaceWaiter: (() => void) | null = null;
  private readonly sink: (rec: DataRecord) => Promise<void> | void;
  private readonly beforeWait: () => void;

  constructor(sink: (rec: DataRecord) => Promise<void> | void, beforeWait: () => void = () => undefined) {
    this.sink = sink;
    this.beforeWait = beforeWait;
  }

  /**
   * Adds a record (or a record still being made). Returns undefined when
   * there is room for more, or a promise to await when the window is full —
   * no promise per record on the fast path (a small file makes three records).
   */
  push(rec: DataRecord | Promise<DataRecord>, bytes: number): Promise<void> | undefined {
    if (this.error) throw this.error;
    if (rec instanceof Promise) rec.catch(() => undefined);
    this.queue.push({ rec, bytes });
    this.bytes += bytes;
    if (!this.draining) this.draining = this.drain();
    if (this.bytes > PIPE_WINDOW_BYTES || this.queue.length - this.head > PIPE_WINDOW_ITEMS) return this.waitForRoom();
    return undefined;
  }

  private async waitForRoom(): Promise<void> {
    while (!this.error && (this.bytes > PIPE_WINDOW_BYTES || this.queue.length - this.head > PIPE_WINDOW_ITEMS)) {
      this.beforeWait();
      await new Promise<void>((resolve) => (this.spaceWaiter = resolve));
    }
    if (this.error) throw this.error;
  }

  /** Waits until every record pushed so far has been handed to the sink. */
  async finish(): Promise<void> {
    this.beforeWait();
    while (this.draining) await this.draining;
    if (this.error) throw this.error;
  }

  private async drain(): Promise<void> {
    try {
      while (this.head < this.queue.length) {
        const item = this.queue[this.head];
        let rec = item.rec;
        if (rec instanceof Promise) rec = await rec;
        await this.sink(rec);
        this.queue[this.head] = undefined as unknown as Item;
        this.head++;
        this.bytes -= item.bytes;
        if (this.head > 4096 && this.head * 2 > this.queue.length) {
          this.queue.splice(0, this.head);
          this.head = 0;
        }
        this.wake();
      }
    } catch (err) {
      this.error = err;
    } finally {
      this.draining = null;
      this.wake();
    }
  }

  private wake(): void {
    const w = this.spaceWaiter;
    this.spaceWaiter = null;
    w?.();
  }
}
