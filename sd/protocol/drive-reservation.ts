/**
 * DriveReservation: who may use a tape drive now. A drive is sequential and
 * holds one tape: append sessions of one pool share it (their blocks
 * interleave on that pool's volume), a read session has it alone (it moves
 * the tape). A session that conflicts — a read while backups append, a backup
 * of another pool, a second read — waits its turn in arrival order (none
 * overtakes another) instead of being refused; its wait shows in `status`.
 * Nothing is ever written or read by two holders that conflict.
 */
import { CairnError } from '../../plugin-api/index.js';

export type DriveUse = { mode: 'read' } | { mode: 'append'; pool: string };

interface Waiter {
  use: DriveUse;
  grant: () => void;
}

export class DriveReservation {
  private holders = 0;
  private use: DriveUse | null = null;
  private readonly queue: Waiter[] = [];

  constructor(readonly device: string) {}

  /** What the drive is used for now, by how many sessions, and how many wait. */
  get state(): { use: DriveUse | null; holders: number; waiting: number } {
    return { use: this.use, holders: this.holders, waiting: this.queue.length };
  }

  private fits(u: DriveUse): boolean {
    if (this.holders === 0) return true;
    return u.mode === 'append' && this.use?.mode === 'append' && this.use.pool === u.pool;
  }

  /** Resolves with a release function once the drive may be used for `use`. */
  async acquire(use: DriveUse, signal?: AbortSignal): Promise<() => void> {
    if (this.queue.length === 0 && this.fits(use)) return this.take(use);
    await new Promise<void>((resolve, reject) => {
      const w: Waiter = { use, grant: resolve };
      this.queue.push(w);
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.queue.indexOf(w);
          if (i < 0) return;
          this.queue.splice(i, 1);
          reject(new CairnError('CAIRN_E_SESSION_ABORTED', `Stopped waiting for tape drive ${this.device}.`, { device: this.device }));
          // The one that gave up may have held back others that fit now (appends of the pool in use).
          this.grantWaiting();
        },
        { once: true },
      );
    });
    return this.take(use, true);
  }

  /** `counted`: the release loop already counted this holder when it granted the wait. */
  private take(use: DriveUse, counted = false): () => void {
    if (!counted) {
      this.holders++;
      this.use = use;
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.holders--;
      if (this.holders === 0) this.use = null;
      this.grantWaiting();
    };
  }

  /** Grants waiters in order while they fit (several appends of one pool may go together). */
  private grantWaiting(): void {
    while (this.queue.length > 0 && this.fits(this.queue[0].use)) {
      const w = this.queue.shift() as Waiter;
      this.holders++;
      this.use = w.use;
      w.grant();
    }
  }
}
