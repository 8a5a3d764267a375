/**
 * DeviceSlots: how many sessions (append and read: each is a job's use of
 * the device) one device serves at once. Sessions beyond the limit wait
 * their turn in arrival order, none overtaking another; a waiter whose
 * signal aborts leaves the queue.
 */
import { CairnError } from '../../plugin-api/index.js';

export class DeviceSlots {
  private used = 0;
  private readonly queue: Array<{ grant: () => void }> = [];

  constructor(
    readonly device: string,
    /** 0 = unlimited. */
    readonly max: number,
  ) {}

  get inUse(): number {
    return this.used;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Resolves with a release function once a slot is free (at once when one is). */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.queue.length === 0 && (this.max === 0 || this.used < this.max)) {
      this.used++;
      return this.releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const entry = { grant: resolve };
      this.queue.push(entry);
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.queue.indexOf(entry);
          if (i < 0) return;
          this.queue.splice(i, 1);
          reject(new CairnError('CAIRN_E_SESSION_ABORTED', `Stopped waiting for device ${this.device}: ${String(signal.reason ?? 'aborted')}.`, { device: this.device }));
        },
        { once: true },
      );
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.queue.shift();
      if (next) next.grant(); // the slot passes straight to the next waiter
      else this.used--;
    };
  }
}
