/**
 * The PostgreSQL catalog driver on `pg` (pure JS), behind the same
 * CatalogDriver contract as SQLite (driver.ts).
 *
 * Connections: one ordered writer connection; every statement and
 * transaction of the driver takes its turn on it (an async lock) in the
 * order issued, so a transaction runs alone even across awaits. Row batches
 * (`insertMany`: file rows, job media) go by binary COPY (pg-copy.ts) on a
 * small pool of writer connections of their own (pg-writer-pool.ts), each
 * its own transaction, so concurrent jobs' batches run side by side; a
 * durable transaction and close() wait for every batch issued before them.
 * `iterate` and `iteratePages` read on a
 * connection of their own, in a REPEATABLE READ READ ONLY transaction
 * through a server-side cursor (FETCH a page at a time): bounded memory, and
 * a snapshot that the writer's later commits do not disturb.
 *
 * Durability: PostgreSQL's COMMIT is durable by default (WAL flushed). An
 * ordinary transaction here sets `synchronous_commit = off` for itself —
 * like SQLite's synchronous=NORMAL, a crash may lose the last few commits,
 * never corrupt — and a `durable` one keeps the default, which also makes
 * everything committed before it durable (the WAL is sequential).
 *
 * Values: int8 comes back as a string and bytea as a Buffer (row-codec.ts
 * normalises both); a bigint parameter is sent as its decimal text.
 */
import pg from 'pg';
import { CairnError } from '../../plugin-api/index.js';
import type { CatalogDriver, CatalogSession, Row, RunResult, TransactionOptions } from './driver.js';
import type { SqlValue } from './sql/conditions.js';
import type { BatchSql, Sql } from './sql/query-builder.js';
import { type ColumnTypes, columnOids, columnTypesSql, copyFromSql, copyIn, encodeCopyRows } from './pg-copy.js';
import { PgWriterPool } from './pg-writer-pool.js';

export interface PgDriverOptions {
  /** Server host name, or the directory of its Unix socket (absolute path). */
  host: string;
  port?: number;
  database: string;
  user: string;
  password?: string;
  /** ms to wait for a connection before CAIRN_E_CATALOG_OPEN (default 10 000). */
  connectTimeoutMs?: number;
  /** Connections for concurrent row batches (insertMany), opened on demand (default 4). */
  batchConnections?: number;
}

/** Rows fetched per page by iterate() / iteratePages() unless the caller says otherwise. */
const DEFAULT_PAGE_ROWS = 1000;

function bind(v: SqlValue): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array && !Buffer.isBuffer(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return v;
}

function bindAll(params: readonly SqlValue[]): unknown[] {
  return params.map(bind);
}

/** SQLSTATE classes that mean "try again": serialization failure, deadlock, lock not available. */
const RETRYABLE_STATES = new Set(['40001', '40P01', '55P03']);

function wrap(err: unknown, text: string): never {
  if (err instanceof CairnError) throw err;
  const code = (err as { code?: string }).code ?? 'unknown';
  if (RETRYABLE_STATES.has(code)) {
    throw new CairnError('CAIRN_E_CATALOG_BUSY', `the catalog could not take the change now (PostgreSQL ${code}); try again`, { pgCode: code }, { cause: err, retryable: true });
  }
  throw new CairnError('CAIRN_E_CATALOG_QUERY', `catalog statement failed: ${(err as Error).message}`, { pgCode: code, sql: text }, { cause: err });
}

function clientConfig(o: PgDriverOptions): pg.ClientConfig {
  return {
    host: o.host,
    port: o.port ?? 5432,
    database: o.database,
    user: o.user,
    password: o.password,
    connectionTimeoutMillis: o.connectTimeoutMs ?? 10_000,
    application_name: 'cairn-dir',
  };
}

async function connect(o: PgDriverOptions): Promise<pg.Client> {
  const client = new pg.Client(clientConfig(o));
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    const where = o.host.startsWith('/') ? `socket ${o.host}/.s.PGSQL.${o.port ?? 5432}` : `${o.host}:${o.port ?? 5432}`;
    throw new CairnError(
      'CAIRN_E_CATALOG_OPEN',
      `cannot connect to the PostgreSQL catalog ${o.database} as ${o.user} at ${where}: ${(err as Error).message}`,
      { host: o.host, port: o.port ?? 5432, database: o.database, user: o.user },
      { cause: err },
    );
  }
  return client;
}

/** Statements on one connection, with the CatalogSession surface. */
class PgSession implements CatalogSession {
  readonly dialect = 'postgres' as const;

  constructor(
    private readonly client: pg.Client,
    /** Called before schema statements run (the driver forgets cached column types). */
    private readonly onDdl: () => void = () => undefined,
  ) {}

  async run(q: Sql): Promise<RunResult> {
    try {
      const r = await this.client.query(q.text, bindAll(q.params));
      return { changes: r.rowCount ?? 0, rows: r.rows as Row[] };
    } catch (err) {
      wrap(err, q.text);
    }
  }

  async all(q: Sql): Promise<Row[]> {
    return (await this.run(q)).rows;
  }

  async get(q: Sql): Promise<Row | undefined> {
    return (await this.run(q)).rows[0];
  }

  async runBatch(b: BatchSql): Promise<number> {
    let changes = 0;
    for (const params of b.paramSets) changes += (await this.run({ text: b.text, params })).changes;
    return changes;
  }

  async exec(ddl: string): Promise<void> {
    this.onDdl();
    try {
      await this.client.query(ddl);
    } catch (err) {
      wrap(err, ddl);
    }
  }
}

export class PgDriver implements CatalogDriver {
  readonly dialect = 'postgres' as const;
  private readonly session: PgSession;
  private tail: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly readers = new Set<pg.Client>();
  private readonly pool: PgWriterPool;
  /** insertMany calls not yet settled. */
  private readonly batches = new Set<Promise<unknown>>();
  private readonly columnTypes = new Map<string, Promise<ColumnTypes>>();

  private constructor(
    private readonly writer: pg.Client,
    private readonly options: PgDriverOptions,
  ) {
    this.session = new PgSession(writer, () => this.columnTypes.clear());
    this.pool = new PgWriterPool(options.batchConnections ?? 4, async () => connect(options));
    // A connection the server drops is reported at the next statement; this keeps it from crashing the process.
    writer.on('error', () => undefined);
  }

  static async open(options: PgDriverOptions): Promise<PgDriver> {
    return new PgDriver(await connect(options), options);
  }

  /** Runs `fn` when every statement queued before it has finished. */
  private turn<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new CairnError('CAIRN_E_CATALOG_CLOSED', 'the catalog was used after close()', {}));
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  run(q: Sql): Promise<RunResult> {
    return this.turn(() => this.session.run(q));
  }

  all(q: Sql): Promise<Row[]> {
    return this.turn(() => this.session.all(q));
  }

  get(q: Sql): Promise<Row | undefined> {
    return this.turn(() => this.session.get(q));
  }

  runBatch(b: BatchSql): Promise<number> {
    // One transaction: a batch of rows goes in whole or not at all, and costs one commit.
    return this.transaction((tx) => tx.runBatch(b));
  }

  exec(ddl: string): Promise<void> {
    return this.turn(() => this.session.exec(ddl));
  }

  insertMany(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[]): Promise<number> {
    if (this.closed) return Promise.reject(new CairnError('CAIRN_E_CATALOG_CLOSED', 'the catalog was used after close()', {}));
    if (rows.length === 0) return Promise.resolve(0);
    const text = copyFromSql(table, columns);
    const op = (async () => {
      const oids = columnOids(table, await this.typesOf(table), columns);
      let chunks;
      try {
        chunks = encodeCopyRows(oids, columns, rows);
      } catch (err) {
        throw new CairnError('CAIRN_E_CATALOG_QUERY', `catalog rows for ${table} cannot be stored: ${(err as Error).message}`, { table }, { cause: err });
      }
      // One COPY is one statement, so one transaction on its own: a failed batch stores none of its rows.
      return this.pool.use((c) => copyIn(c, text, chunks)).catch((err: unknown) => {
        this.columnTypes.delete(table);
        wrap(err, text);
      });
    })();
    this.batches.add(op);
    void op.then(
      () => this.batches.delete(op),
      () => this.batches.delete(op),
    );
    return op;
  }

  /** Column types of `table` for binary COPY, read once per table (again after DDL or a failed COPY). */
  private typesOf(table: string): Promise<ColumnTypes> {
    let p = this.columnTypes.get(table);
    if (p === undefined) {
      const q = columnTypesSql(table);
      p = this.pool.use((c) => c.query(q.text, [...q.params])).then(
        (r) => new Map(r.rows.map((row: { name: string; oid: number }) => [row.name, Number(row.oid)])),
        (err: unknown) => wrap(err, q.text),
      );
      this.columnTypes.set(table, p);
      p.catch(() => this.columnTypes.delete(table));
    }
    return p;
  }

  transaction<T>(fn: (tx: CatalogSession) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
    // A durable commit covers every batch issued before it: wait for them to commit first.
    const before = opts.durable === true ? [...this.batches] : [];
    return this.turn(async () => {
      if (before.length) await Promise.allSettled(before);
      await this.session.exec('BEGIN');
      try {
        if (!opts.durable) await this.session.exec('SET LOCAL synchronous_commit = off');
        const value = await fn(this.session);
        await this.session.exec('COMMIT');
        return value;
      } catch (err) {
        await this.writer.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  async *iterate(q: Sql): AsyncIterable<Row> {
    for await (const page of this.iteratePages(q)) yield* page;
  }

  async *iteratePages(q: Sql, pageRows: number = DEFAULT_PAGE_ROWS): AsyncIterable<Row[]> {
    if (this.closed) throw new CairnError('CAIRN_E_CATALOG_CLOSED', 'the catalog was used after close()', {});
    const reader = await connect(this.options);
    reader.on('error', () => undefined);
    this.readers.add(reader);
    const session = new PgSession(reader);
    try {
      await session.exec('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await session.run({ text: `DECLARE cairn_rows NO SCROLL CURSOR FOR ${q.text}`, params: q.params });
      for (;;) {
        const rows = await session.all({ text: `FETCH ${Math.max(1, Math.floor(pageRows))} FROM cairn_rows`, params: [] });
        if (rows.length === 0) break;
        yield rows;
      }
      await session.exec('COMMIT');
    } finally {
      this.readers.delete(reader);
      await reader.end().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.tail;
    this.closed = true;
    while (this.batches.size) await Promise.allSettled([...this.batches]);
    await this.pool.close();
    for (const r of this.readers) await r.end().catch(() => undefined);
    await this.writer.end().catch(() => undefined);
  }
}
