/**
 * The SQLite catalog driver on better-sqlite3.
 *
 * Durability: WAL journal, synchronous=NORMAL for ordinary commits (fast; a
 * power cut may lose the last few commits but never corrupts), and
 * synchronous=FULL for `durable` transactions (job commit points): the WAL is
 * fsynced at that COMMIT, and since the WAL is sequential everything
 * committed before it is durable too. busy_timeout covers other processes.
 *
 * Concurrency: one writer connection; transactions hold an async lock so no
 * other statement slips in across their awaits. `iterate` reads on its own
 * read-only connection (a WAL snapshot), so a caller may keep writing while a
 * long stream (treeAsAt) is consumed. ':memory:' is served by a private temp
 * file (removed on close) so that readers can share it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { CairnError } from '../../plugin-api/index.js';
import type { CatalogDriver, CatalogSession, Row, RunResult, TransactionOptions } from './driver.js';
import type { SqlValue } from './sql/conditions.js';
import { type BatchSql, QueryBuilder, type Sql } from './sql/query-builder.js';

export interface SqliteDriverOptions {
  /** ms to wait for another process's lock before CAIRN_E_CATALOG_BUSY (default 10 000). */
  busyTimeoutMs?: number;
}

type Stmt = Database.Statement<unknown[], unknown>;

const STATEMENT_CACHE_SIZE = 256;
const SQLITE_BUILDER = new QueryBuilder('sqlite');

function bind(v: SqlValue): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Uint8Array && !Buffer.isBuffer(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return v;
}

function bindAll(params: readonly SqlValue[]): unknown[] {
  const out = new Array<unknown>(params.length);
  for (let i = 0; i < params.length; i++) out[i] = bind(params[i]);
  return out;
}

function wrap(err: unknown, text: string): never {
  if (err instanceof CairnError) throw err;
  const code = (err as { code?: string }).code ?? 'unknown';
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    throw new CairnError('CAIRN_E_CATALOG_BUSY', 'the catalog is locked by another process; try again or raise busy_timeout', { sqliteCode: code }, { cause: err, retryable: true });
  }
  throw new CairnError('CAIRN_E_CATALOG_QUERY', `catalog statement failed: ${(err as Error).message}`, { sqliteCode: code, sql: text }, { cause: err });
}

export class SqliteDriver implements CatalogDriver {
  readonly dialect = 'sqlite' as const;
  private readonly cache = new Map<string, Stmt>();
  private tail: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly readers = new Set<Database.Database>();

  private constructor(
    private readonly db: Database.Database,
    readonly file: string,
    private readonly tempDir: string | null,
    private readonly busyTimeoutMs: number,
  ) {}

  static open(file: string, opts: SqliteDriverOptions = {}): SqliteDriver {
    let tempDir: string | null = null;
    let target = file;
    if (file === ':memory:') {
      tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-catalog-'));
      target = path.join(tempDir, 'catalog.db');
    }
    const busy = opts.busyTimeoutMs ?? 10_000;
    let db: Database.Database;
    try {
      db = new Database(target, { timeout: busy });
      db.defaultSafeIntegers(true);
      db.pragma(`busy_timeout = ${Math.trunc(busy)}`);
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (String(mode).toLowerCase() !== 'wal') {
        throw new Error(`journal_mode WAL refused (got ${String(mode)})`);
      }
      db.pragma('synchronous = NORMAL');
      // 64 MiB page cache: file-row inserts touch two indexes; the 2 MiB default thrashes at 100k rows per job.
      db.pragma('cache_size = -65536');
      // Checkpoint every ~40 MiB of WAL instead of ~4 MiB: each checkpoint fsyncs, and batch inserts halve in time.
      db.pragma('wal_autocheckpoint = 10000');
      db.pragma('foreign_keys = OFF');
    } catch (err) {
      if (tempDir !== null) fs.rmSync(tempDir, { recursive: true, force: true });
      throw new CairnError('CAIRN_E_CATALOG_OPEN', `cannot open catalog ${file}: ${(err as Error).message}`, { path: file }, { cause: err });
    }
    return new SqliteDriver(db, target, tempDir, busy);
  }

  private stmt(text: string): Stmt {
    if (this.closed) throw new CairnError('CAIRN_E_CATALOG_CLOSED', 'the catalog is closed', { path: this.file });
    let s = this.cache.get(text);
    if (s === undefined) {
      try {
        s = this.db.prepare(text);
      } catch (err) {
        wrap(err, text);
      }
      if (this.cache.size >= STATEMENT_CACHE_SIZE) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(text, s);
    }
    return s;
  }

  private locked<T>(fn: () => T | Promise<T>): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    return prev.then(fn).finally(release);
  }

  // --- direct (unlocked) execution, used by sessions and by the locked wrappers ---

  private runNow(q: Sql): RunResult {
    const s = this.stmt(q.text);
    try {
      if (s.reader) {
        const rows = s.all(...bindAll(q.params)) as Row[];
        return { changes: rows.length, rows };
      }
      const r = s.run(...bindAll(q.params));
      return { changes: r.changes, rows: [] };
    } catch (err) {
      wrap(err, q.text);
    }
  }

  private allNow(q: Sql): Row[] {
    const s = this.stmt(q.text);
    try {
      return s.all(...bindAll(q.params)) as Row[];
    } catch (err) {
      wrap(err, q.text);
    }
  }

  private batchNow(b: BatchSql): number {
    const s = this.stmt(b.text);
    let changes = 0;
    try {
      for (const p of b.paramSets) changes += s.run(...bindAll(p)).changes;
    } catch (err) {
      wrap(err, b.text);
    }
    return changes;
  }

  private session(): { session: CatalogSession; end(): void } {
    let active = true;
    const check = (): void => {
      if (!active) throw new CairnError('CAIRN_E_CATALOG_CLOSED', 'transaction handle used after its transaction ended', {});
    };
    const session: CatalogSession = {
      dialect: 'sqlite',
      run: async (q) => (check(), this.runNow(q)),
      all: async (q) => (check(), this.allNow(q)),
      get: async (q) => (check(), this.allNow(q)[0]),
      runBatch: async (b) => (check(), this.batchNow(b)),
      exec: async (ddl) => {
        check();
        try {
          this.db.exec(ddl);
        } catch (err) {
          wrap(err, ddl);
        }
      },
    };
    return { session, end: () => (active = false) };
  }

  run(q: Sql): Promise<RunResult> {
    return this.locked(() => this.runNow(q));
  }
  all(q: Sql): Promise<Row[]> {
    return this.locked(() => this.allNow(q));
  }
  get(q: Sql): Promise<Row | undefined> {
    return this.locked(() => this.allNow(q)[0]);
  }
  runBatch(b: BatchSql): Promise<number> {
    return this.transaction((tx) => tx.runBatch(b));
  }
  /** One prepared INSERT run per row inside one transaction (SQLite has a single writer; statements are cheap). */
  insertMany(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[]): Promise<number> {
    if (rows.length === 0) return Promise.resolve(0);
    return this.runBatch(SQLITE_BUILDER.insertBatch(table, columns, rows));
  }
  exec(ddl: string): Promise<void> {
    return this.transaction((tx) => tx.exec(ddl));
  }

  transaction<T>(fn: (tx: CatalogSession) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
    return this.locked(async () => {
      if (this.closed) throw new CairnError('CAIRN_E_CATALOG_CLOSED', 'the catalog is closed', { path: this.file });
      const durable = opts.durable === true;
      if (durable) this.db.pragma('synchronous = FULL');
      const { session, end } = this.session();
      try {
        try {
          this.db.exec('BEGIN IMMEDIATE');
        } catch (err) {
          wrap(err, 'BEGIN IMMEDIATE');
        }
        let result: T;
        try {
          result = await fn(session);
          end();
          this.db.exec('COMMIT');
        } catch (err) {
          end();
          if (this.db.inTransaction) this.db.exec('ROLLBACK');
          if (err instanceof CairnError) throw err;
          wrap(err, 'COMMIT');
        }
        return result;
      } finally {
        if (durable) this.db.pragma('synchronous = NORMAL');
      }
    });
  }

  async *iterate(q: Sql): AsyncIterable<Row> {
    for await (const page of this.iteratePages(q)) yield* page;
  }

  async *iteratePages(q: Sql, pageRows = 1000): AsyncIterable<Row[]> {
    if (this.closed) throw new CairnError('CAIRN_E_CATALOG_CLOSED', 'the catalog is closed', { path: this.file });
    const reader = new Database(this.file, { readonly: true, fileMustExist: true, timeout: this.busyTimeoutMs });
    this.readers.add(reader);
    let it: IterableIterator<unknown> | undefined;
    try {
      reader.defaultSafeIntegers(true);
      try {
        it = reader.prepare(q.text).iterate(...bindAll(q.params));
      } catch (err) {
        wrap(err, q.text);
      }
      for (;;) {
        const page: Row[] = [];
        let done = false;
        try {
          while (page.length < pageRows) {
            const step = (it as IterableIterator<unknown>).next();
            if (step.done === true) {
              done = true;
              break;
            }
            page.push(step.value as Row);
          }
        } catch (err) {
          wrap(err, q.text);
        }
        if (page.length) yield page;
        if (done) break;
      }
    } finally {
      this.readers.delete(reader);
      if (reader.open) it?.return?.();
      if (reader.open) reader.close();
    }
  }

  /**
   * A consistent copy of the database in `file` by SQLite's online backup API (better-sqlite3 `backup`): taken
   * under the driver's lock, so no transaction of this driver is half-way; other processes' writes restart it.
   */
  async backupTo(file: string): Promise<void> {
    await this.locked(async () => {
      if (this.closed) throw new CairnError('CAIRN_E_CATALOG_CLOSED', 'the catalog is closed', { path: this.file });
      try {
        await this.db.backup(file);
      } catch (err) {
        throw new CairnError('CAIRN_E_CATALOG_QUERY', `catalog backup to ${file} failed: ${(err as Error).message}`, { path: file }, { cause: err });
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.locked(() => undefined);
    this.closed = true;
    for (const r of this.readers) if (r.open) r.close();
    this.readers.clear();
    this.cache.clear();
    this.db.close();
    if (this.tempDir !== null) fs.rmSync(this.tempDir, { recursive: true, force: true });
  }
}
