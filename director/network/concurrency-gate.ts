/**
 * ConcurrencyGate: the maximum of concurrent jobs per Director, per client
 * and per storage. A job enters when all three have room, in the order jobs
 * asked (a job that cannot run yet never lets a later one for the same
 * client or storage overtake it), and waits otherwise — cancellable.
 */
import { CairnError } from '../../plugin-api/index.js';

export interface GateLimits {
  director: number;
  clients: Record<string, number>;
  storages: Record<string, number>;
}

interface Waiter {
  key: { client: string; storage: string };
  resolve: () => void;
}

export class ConcurrencyGate {
  private total = 0;
  private readonly perClient = new Map<string, number>();
  private readonly perStorage = new Map<string, number>();
  private readonly queue: Waiter[] = [];

  constructor(private readonly limits: GateLimits) {}

  enter(key: { client: string; storage: string }, signal?: AbortSignal): Promise<void> {
    if (this.queue.length === 0 && this.fits(key)) {
      this.take(key);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { key, resolve };
      this.queue.push(w);
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.queue.indexOf(w);
          if (i < 0) return;
          this.queue.splice(i, 1);
          reject(signal.reason ?? new CairnError('CAIRN_E_JOB_CANCELLED', 'cancelled while waiting for its turn', {}));
          this.drain();
        },
        { once: true },
      );
    });
  }

  leave(key: { client: string; storage: string }): void {
    this.total--;
    this.perClient.set(key.client, (this.perClient.get(key.client) ?? 1) - 1);
    this.perStorage.set(key.storage, (this.perStorage.get(key.storage) ?? 1) - 1);
    this.drain();
  }

  /** Waiting jobs, for status. */
  get waiting(): number {
    return this.queue.length;
  }

  private drain(): void {
    const blockedClients = new Set<string>();
    const blockedStorages = new Set<string>();
    for (let i = 0; i < this.queue.length; ) {
      const w = this.queue[i];
      if (!blockedClients.has(w.key.client) && !blockedStorages.has(w.key.storage) && this.fits(w.key)) {
        this.queue.splice(i, 1);
        this.take(w.key);
        w.resolve();
        continue;
      }
      blockedClients.add(w.key.client);
      blockedStorages.add(w.key.storage);
      i++;
    }
  }

  private fits(key: { client: string; storage: string }): boolean {
    return (
      this.total < this.limits.director &&
      (this.perClient.get(key.client) ?? 0) < (this.limits.clients[key.client] ?? Infinity) &&
      (this.perStorage.get(key.storage) ?? 0) < (this.limits.storages[key.storage] ?? Infinity)
    );
  }

  private take(key: { client: string; storage: string }): void {
    this.total++;
    this.perClient.set(key.client, (this.perClient.get(key.client) ?? 0) + 1);
    this.perStorage.set(key.storage, (this.perStorage.get(key.storage) ?? 0) + 1);
  }
}
