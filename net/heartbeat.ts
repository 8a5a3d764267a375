/**
 * Heartbeat: keep-alive independent of framing. While nothing has been sent
 * for `intervalMs` it calls send(); if nothing has been received for
 * 2 × intervalMs + slackMs it calls onDead() once and stops. The owner calls
 * seen() on every received chunk, sent() (optional) on every write, and
 * stop() when the connection ends.
 *
 * The verdict is about the peer, never about the owner: silence while the
 * owner is not taking the peer's bytes (holdingBack(): its reader paused by
 * its own back-pressure) is the owner's, so the peer counts as seen; and the
 * verdict waits for the event loop's next I/O poll, so bytes that arrived
 * while the owner's own loop was stalled (a busy machine) are read first.
 */
export interface HeartbeatOptions {
  intervalMs: number;
  /** Added to 2 × interval before the peer counts as dead (default: one interval, at most 5 s). */
  slackMs?: number;
  send: () => void;
  onDead: () => void;
  now?: () => number;
  /** True while the owner itself is not reading the peer (back-pressure): the peer then counts as alive. */
  holdingBack?: () => boolean;
}

export class Heartbeat {
  private lastSeen: number;
  private lastSent: number;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  readonly deadAfterMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: HeartbeatOptions) {
    if (!(opts.intervalMs > 0)) throw new RangeError('Heartbeat intervalMs must be > 0');
    this.now = opts.now ?? Date.now;
    this.deadAfterMs = 2 * opts.intervalMs + (opts.slackMs ?? Math.min(opts.intervalMs, 5000));
    this.lastSeen = this.lastSent = this.now();
    this.schedule();
  }

  /** Something arrived from the peer. */
  seen(): void {
    this.lastSeen = this.now();
  }

  /** Something was sent to the peer (a heartbeat is then not needed). */
  sent(): void {
    this.lastSent = this.now();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  get running(): boolean {
    return !this.stopped;
  }

  private schedule(): void {
    if (this.stopped) return;
    const next = Math.min(this.lastSent + this.opts.intervalMs, this.lastSeen + this.deadAfterMs);
    this.timer = setTimeout(() => this.tick(), Math.max(1, next - this.now()));
    this.timer.unref?.();
  }

  private tick(): void {
    this.timer = null;
    if (this.stopped) return;
    const now = this.now();
    // Our own heartbeat first: after a stall of our loop the peer should hear from us at once.
    if (now - this.lastSent >= this.opts.intervalMs) {
      this.lastSent = now;
      try {
        this.opts.send();
      } catch {
        // a failing send shows up as silence from the peer
      }
    }
    if (this.opts.holdingBack?.()) this.lastSeen = now;
    if (now - this.lastSeen >= this.deadAfterMs) {
      // Bytes may be waiting in the kernel because our own loop was busy: let one I/O poll run first.
      setImmediate(() => this.verdict());
      return;
    }
    this.schedule();
  }

  /** After the I/O poll that followed an overdue tick: dead only if still nothing arrived. */
  private verdict(): void {
    if (this.stopped) return;
    const now = this.now();
    if (this.opts.holdingBack?.()) this.lastSeen = now;
    if (now - this.lastSeen >= this.deadAfterMs) {
      this.stop();
      this.opts.onDead();
      return;
    }
    this.schedule();
  }
}
