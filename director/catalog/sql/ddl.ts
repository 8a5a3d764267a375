/**
 * Table definitions as data, rendered to CREATE TABLE / CREATE INDEX for
 * either dialect. The schema is written once (schema.ts) in these terms.
 */
import type { ColumnType, Dialect } from './dialect.js';

export interface ColumnDef {
  readonly name: string;
  readonly type: ColumnType;
  readonly notNull?: boolean;
  readonly default?: string | number | boolean;
}

export interface IndexDef {
  readonly name: string;
  readonly columns: readonly string[];
  readonly unique?: boolean;
}

export interface TableDef {
  readonly name: string;
  readonly columns: readonly ColumnDef[];
  /** Composite primary key (a single `id` column carries its own). */
  readonly primaryKey?: readonly string[];
  readonly unique?: ReadonlyArray<readonly string[]>;
  readonly indexes?: readonly IndexDef[];
}

export function createTableStatements(dialect: Dialect, table: TableDef, opts: { ifNotExists?: boolean } = {}): string[] {
  const q = (s: string): string => dialect.quote(s);
  const lines = table.columns.map((c) => {
    let line = `${q(c.name)} ${dialect.columnType(c.type)}`;
    if (c.notNull === true && c.type !== 'id') line += ' NOT NULL';
    if (c.default !== undefined) line += ` DEFAULT ${dialect.literal(c.type, c.default)}`;
    return line;
  });
  if (table.primaryKey !== undefined) lines.push(`PRIMARY KEY (${table.primaryKey.map(q).join(', ')})`);
  for (const u of table.unique ?? []) lines.push(`UNIQUE (${u.map(q).join(', ')})`);
  const ine = opts.ifNotExists === true ? 'IF NOT EXISTS ' : '';
  const out = [`CREATE TABLE ${ine}${q(table.name)} (\n  ${lines.join(',\n  ')}\n)`];
  for (const ix of table.indexes ?? []) out.push(createIndexStatement(dialect, table.name, ix, opts));
  return out;
}

export function createIndexStatement(dialect: Dialect, table: string, ix: IndexDef, opts: { ifNotExists?: boolean } = {}): string {
  const q = (s: string): string => dialect.quote(s);
  const ine = opts.ifNotExists === true ? 'IF NOT EXISTS ' : '';
  return `CREATE ${ix.unique === true ? 'UNIQUE ' : ''}INDEX ${ine}${q(ix.name)} ON ${q(table)} (${ix.columns.map(q).join(', ')})`;
}

/** ALTER TABLE … ADD COLUMN (both engines take a NOT NULL column when it has a default). */
export function addColumnStatement(dialect: Dialect, table: string, c: ColumnDef): string {
  let line = `${dialect.quote(c.name)} ${dialect.columnType(c.type)}`;
  if (c.notNull === true && c.type !== 'id') line += ' NOT NULL';
  if (c.default !== undefined) line += ` DEFAULT ${dialect.literal(c.type, c.default)}`;
  return `ALTER TABLE ${dialect.quote(table)} ADD COLUMN ${line}`;
}

export function dropIndexStatement(dialect: Dialect, name: string): string {
  return `DROP INDEX IF EXISTS ${dialect.quote(name)}`;
}

/** Key of the advisory lock PostgreSQL migrations hold ("CAIRN" in ASCII): two Directors opening one catalog migrate one after the other. */
export const MIGRATION_LOCK_KEY = 0x434149524e;

/**
 * The statement that makes a migration transaction wait for any other one on the same catalog, or null where
 * the engine already serializes writers (SQLite: one writer at a time).
 */
/**
 * After rows were inserted with explicit ids (a catalog rebuilt from volumes keeps the jobs' ids): PostgreSQL's
 * identity sequence must move past them, or the next generated id would clash. SQLite takes max(id) + 1 by itself.
 */
export function identityResyncStatement(dialect: Dialect, table: string): string | null {
  if (dialect.name !== 'postgres') return null;
  const t = dialect.quote(table);
  return `SELECT setval(pg_get_serial_sequence('${t.replace(/'/g, "''")}', 'id'), GREATEST((SELECT max(id) FROM ${t}), 1))`;
}

export function migrationLockStatement(dialect: Dialect): string | null {
  return dialect.name === 'postgres' ? `SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})` : null;
}
