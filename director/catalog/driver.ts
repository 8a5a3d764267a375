/**
 * CatalogDriver: the one seam between the catalog and a database engine.
 * The SQLite driver (sqlite-driver.ts) is the default; a PostgreSQL driver on
 * `pg` plugs in behind the same interface without touching catalog code.
 *
 * Contract every driver keeps:
 * - Statements come from the query builder (`Sql`), never from callers' text.
 * - Integers may come back as number, bigint or (pg int8) string; blobs as
 *   Buffer; booleans as 0/1 or true/false. row-codec.ts normalises them.
 * - `transaction` runs `fn` alone: no other statement of this driver
 *   interleaves with it, even across awaits. It commits when `fn` resolves and
 *   rolls back when it rejects.
 * - `{ durable: true }` means: when the promise resolves, the commit (and
 *   everything committed before it) survives power loss.
 * - `iterate` streams rows in bounded memory, on a snapshot that writes made
 *   after it started do not disturb; the caller may write meanwhile.
 * - `insertMany` is one transaction of its own, in the engine's fastest way
 *   (SQLite: one prepared statement; PostgreSQL: binary COPY on a pool of
 *   writer connections). It may run beside other statements and other
 *   insertMany calls — a caller that needs its rows before a later statement
 *   awaits it — but a `durable` transaction and `close()` wait for every
 *   insertMany issued before them.
 */
import type { SqlValue } from './sql/conditions.js';
import type { DialectName } from './sql/dialect.js';
import type { BatchSql, Sql } from './sql/query-builder.js';

export type Row = Record<string, unknown>;

export interface RunResult {
  /** Rows changed by INSERT/UPDATE/DELETE. */
  changes: number;
  /** Rows of a RETURNING clause (empty without one). */
  rows: Row[];
}

/** What a transaction body may do. */
export interface CatalogSession {
  readonly dialect: DialectName;
  run(q: Sql): Promise<RunResult>;
  all(q: Sql): Promise<Row[]>;
  /** First row or undefined. */
  get(q: Sql): Promise<Row | undefined>;
  /** Runs one statement once per parameter set; returns total changes. */
  runBatch(b: BatchSql): Promise<number>;
  /** Runs schema statements (DDL text from sql/ddl.ts only). */
  exec(ddl: string): Promise<void>;
}

export interface TransactionOptions {
  /** Sync to permanent storage at commit (job commit points). */
  durable?: boolean;
}

export interface CatalogDriver extends CatalogSession {
  /**
   * Inserts `rows` (values in `columns` order) into `table` in one transaction: all rows or none.
   * Returns the rows inserted. Plain INSERT: a key clash fails the whole call (CAIRN_E_CATALOG_QUERY).
   */
  insertMany(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[]): Promise<number>;
  iterate(q: Sql): AsyncIterable<Row>;
  /** The same rows as iterate(), a page at a time: one await per page, not per row (100k-row trees). */
  iteratePages(q: Sql, pageRows?: number): AsyncIterable<Row[]>;
  transaction<T>(fn: (tx: CatalogSession) => Promise<T>, opts?: TransactionOptions): Promise<T>;
  close(): Promise<void>;
}

export type { SqlValue };
