/**
 * Deadline: a re-armable timer whose expiry rejects one promise. Used to bound
 * each phase of connecting and of the handshake without leaving timers behind.
 */
export class Deadline {
  private timer: NodeJS.Timeout | null = null;
  private fail!: (err: unknown) => void;
  /** Rejects when an armed deadline passes; never resolves. */
  readonly expired: Promise<never>;

  constructor(private readonly onExpire: () => unknown) {
    this.expired = new Promise<never>((_, reject) => (this.fail = reject));
    this.expired.catch(() => undefined);
  }

  arm(ms: number): void {
    this.disarm();
    this.timer = setTimeout(() => {
      this.timer = null;
      this.fail(this.onExpire());
    }, ms);
    this.timer.unref?.();
  }

  disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Runs `work` racing the deadline; the deadline is disarmed whichever way it ends. */
  async race<T>(work: Promise<T>): Promise<T> {
    work.catch(() => undefined);
    try {
      return await Promise.race([work, this.expired]);
    } finally {
      this.disarm();
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}
