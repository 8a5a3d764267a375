/**
 * BandwidthLimit: at most `bytesPerSecond` on average (Bacula's Maximum
 * Bandwidth Per Job). take(n) returns a promise when the caller is ahead of
 * the allowed rate by more than one burst (a quarter second's worth, at
 * least 64 KiB), resolved once it is back in step; so a job's data reaches
 * the SD at the limit and back-pressure slows the agent's reads.
 */
export class BandwidthLimit {
  /** When the bytes taken so far would have been sent at the limit (ms, performance clock). */
  private due: number;
  private readonly burstMs: number;

  constructor(
    readonly bytesPerSecond: number,
    private readonly clock: () => number = () => performance.now(),
  ) {
    if (!(bytesPerSecond > 0)) throw new RangeError(`bytesPerSecond must be > 0, not ${bytesPerSecond}`);
    this.due = clock();
    this.burstMs = Math.max(250, (64 * 1024 * 1000) / bytesPerSecond);
  }

  /** Counts n bytes; a promise to wait on when they put the caller ahead of the limit, else undefined. */
  take(n: number): Promise<void> | undefined {
    const now = this.clock();
    this.due = Math.max(this.due, now) + (n * 1000) / this.bytesPerSecond;
    const ahead = this.due - now - this.burstMs;
    if (ahead <= 0) return undefined;
    return new Promise((resolve) => setTimeout(resolve, ahead));
  }
}
