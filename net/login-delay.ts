/**
 * LoginDelay: how long to wait before answering a failed authentication, per
 * source address: base × 2^(failures−1), capped. Failures are forgotten after
 * a quiet period or on a success from that address. Each failure is logged
 * (address, claimed name, count). The wait itself is the caller's (one
 * connection's promise), so a delayed failure never blocks other connections.
 */
export interface NetLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface LoginDelayOptions {
  baseMs?: number;
  capMs?: number;
  /** Failures from an address older than this are forgotten. */
  forgetAfterMs?: number;
  /** Addresses remembered at most (the oldest is dropped beyond). */
  maxAddresses?: number;
  logger?: NetLogger;
  now?: () => number;
}

export const DEFAULT_LOGIN_DELAY = { baseMs: 1000, capMs: 30_000, forgetAfterMs: 10 * 60_000, maxAddresses: 10_000 } as const;

interface Record_ {
  failures: number;
  last: number;
}

export class LoginDelay {
  private readonly byAddress = new Map<string, Record_>();
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly forgetAfterMs: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;

  constructor(private readonly opts: LoginDelayOptions = {}) {
    this.baseMs = opts.baseMs ?? DEFAULT_LOGIN_DELAY.baseMs;
    this.capMs = opts.capMs ?? DEFAULT_LOGIN_DELAY.capMs;
    this.forgetAfterMs = opts.forgetAfterMs ?? DEFAULT_LOGIN_DELAY.forgetAfterMs;
    this.maxAddresses = opts.maxAddresses ?? DEFAULT_LOGIN_DELAY.maxAddresses;
    this.now = opts.now ?? Date.now;
  }

  /** Records a failure from `address` and returns the delay (ms) before answering it. */
  failed(address: string, claim: { name?: string; role?: string; known?: boolean; stage?: string } = {}): number {
    const now = this.now();
    let rec = this.byAddress.get(address);
    if (rec && now - rec.last > this.forgetAfterMs) rec = undefined;
    const failures = (rec?.failures ?? 0) + 1;
    this.byAddress.delete(address); // re-insert: the map's order is least recently failed first
    this.byAddress.set(address, { failures, last: now });
    if (this.byAddress.size > this.maxAddresses) this.byAddress.delete(this.byAddress.keys().next().value as string);
    const delayMs = this.delayFor(failures);
    this.opts.logger?.warn(
      { address, name: claim.name, role: claim.role, knownName: claim.known, stage: claim.stage, failures, delayMs },
      claim.stage === 'abandoned' ? 'authentication failed: the peer refused our proof and closed' : 'authentication failed',
    );
    return delayMs;
  }

  /** A success from `address` forgets its failures. */
  succeeded(address: string): void {
    this.byAddress.delete(address);
  }

  /** Failures currently counted for `address`. */
  failures(address: string): number {
    const rec = this.byAddress.get(address);
    if (!rec || this.now() - rec.last > this.forgetAfterMs) return 0;
    return rec.failures;
  }

  delayFor(failures: number): number {
    if (failures <= 0) return 0;
    const exp = Math.min(failures - 1, 30);
    return Math.min(this.capMs, this.baseMs * 2 ** exp);
  }
}
