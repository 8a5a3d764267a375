/**
 * The PostgreSQL driver's bulk writers: a small pool of extra connections on
 * which independent row batches (`insertMany`) run side by side, so two jobs
 * storing file rows at once do not take turns on the driver's one ordered
 * writer. Connections open on demand up to `size`; a caller past that waits
 * for one to come back. A connection that failed at the socket level is
 * dropped, not reused. Every pool connection runs with
 * `synchronous_commit = off`: it carries only ordinary (non-durable) commits,
 * which become durable with the next durable commit (the WAL is sequential).
 */
import type pg from 'pg';

export class PgWriterPool {
  private readonly idle: pg.Client[] = [];
  private readonly waiters: Array<{ resolve(c: pg.Client): void; reject(err: unknown): void }> = [];
  private readonly broken = new WeakSet<pg.Client>();
  private open = 0;
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly connect: () => Promise<pg.Client>,
  ) {
    if (!Number.isSafeInteger(size) || size < 1) throw new TypeError(`writer pool size must be a positive integer, got ${size}`);
  }

  /** Connections currently open (for tests and diagnostics). */
  get opened(): number {
    return this.open;
  }

  private async acquire(): Promise<pg.Client> {
    const c = this.idle.pop();
    if (c !== undefined) return c;
    if (this.open < this.size) {
      this.open++;
      try {
        const client = await this.connect();
        const drop = (): void => void this.broken.add(client);
        client.on('error', drop);
        client.on('end', drop);
        await client.query('SET synchronous_commit = off');
        return client;
      } catch (err) {
        this.open--;
        this.handOn();
        throw err;
      }
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private release(c: pg.Client, failed: boolean): void {
    if (this.closed || failed || this.broken.has(c)) {
      this.open--;
      void c.end().catch(() => undefined);
      this.handOn();
      return;
    }
    const next = this.waiters.shift();
    if (next) next.resolve(c);
    else this.idle.push(c);
  }

  /** A waiter whose connection was dropped gets a new one opened for it. */
  private handOn(): void {
    const next = this.waiters.shift();
    if (next === undefined) return;
    this.acquire().then(next.resolve, next.reject);
  }

  /**
   * Runs `fn` on a pool connection. `fn` rejecting with an error that carries no SQLSTATE
   * (socket, protocol) drops the connection; a server error keeps it.
   */
  async use<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const c = await this.acquire();
    let failed = false;
    try {
      return await fn(c);
    } catch (err) {
      failed = typeof (err as { code?: unknown }).code !== 'string' || !/^[0-9A-Z]{5}$/.test((err as { code: string }).code);
      throw err;
    } finally {
      this.release(c, failed);
    }
  }

  /** Ends the idle connections; connections in use end when they come back. */
  async close(): Promise<void> {
    this.closed = true;
    const idle = this.idle.splice(0);
    this.open -= idle.length;
    await Promise.all(idle.map((c) => c.end().catch(() => undefined)));
  }
}
