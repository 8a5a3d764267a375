/**
 * A bounded work queue for restore writes: up to `maxJobs` jobs run at once
 * while the bytes they hold stay under `maxBytes` (a job larger than the cap
 * still runs, alone). `add` resolves as soon as the job has started and waits
 * only while the queue is full, so the caller goes on while the thread pool
 * and the disk work on earlier jobs. Jobs report their own failures; a job
 * that rejects anyway is handed to `onCrash` (never an unhandled rejection).
 */

export interface Started {
  /** Settles when the job has finished (never rejects). */
  readonly done: Promise<void>;
}

export class WorkQueue {
  private running = 0;
  private held = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private waiters: Array<() => void> = [];

  constructor(
    private readonly maxJobs: number,
    private readonly maxBytes: number,
    private readonly onCrash: (err: unknown) => void,
  ) {}

  private full(bytes: number): boolean {
    return this.running >= this.maxJobs || (this.running > 0 && this.held + bytes > this.maxBytes);
  }

  /** Starts `job` once there is room for it and `bytes` more held bytes. */
  async add(bytes: number, job: () => Promise<void>): Promise<Started> {
    while (this.full(bytes)) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.running++;
    this.held += bytes;
    const done = job()
      .catch(this.onCrash)
      .finally(() => {
        this.running--;
        this.held -= bytes;
        this.inFlight.delete(done);
        const ws = this.waiters;
        this.waiters = [];
        for (const w of ws) w();
      });
    this.inFlight.add(done);
    return { done };
  }

  /** Waits until every started job has finished. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }
}
