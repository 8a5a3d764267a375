/**
 * The query builder: SELECT / INSERT (with upsert) / UPDATE / DELETE as plain
 * specs, rendered to `{ text, params }` for one dialect. Identifiers are
 * always quoted and every value is a parameter. This file and
 * window-queries.ts are the only places in the catalog that write SQL text.
 */
import { type Condition, ParamList, renderCondition, type SqlValue } from './conditions.js';
import { type Dialect, type DialectName, dialectOf } from './dialect.js';

/** A statement ready for a driver. */
export interface Sql {
  readonly text: string;
  readonly params: readonly SqlValue[];
}

/** One statement run once per parameter set (batched inserts). */
export interface BatchSql {
  readonly text: string;
  readonly paramSets: readonly (readonly SqlValue[])[];
}

/** An aggregate in a select list: `COUNT(*) AS n`, `MAX("id") AS m`. */
export interface Aggregate {
  readonly fn: 'count' | 'max' | 'min' | 'sum';
  /** Omit for COUNT(*). */
  readonly column?: string;
  readonly as: string;
}

export type OrderTerm = string | { readonly column: string; readonly desc?: boolean };

/** What an assignment may set: a value, the row proposed by an upsert, or the column plus a number. */
export type SetValue = SqlValue | { readonly excluded: string } | { readonly add: number };

export interface SelectSpec {
  readonly from: string;
  /** Columns or aggregates; all columns (`*`) when omitted. */
  readonly columns?: ReadonlyArray<string | Aggregate>;
  readonly where?: Condition;
  readonly orderBy?: readonly OrderTerm[];
  readonly limit?: number;
  readonly offset?: number;
}

export interface InsertSpec {
  readonly into: string;
  readonly values: Readonly<Record<string, SqlValue>>;
  readonly returning?: readonly string[];
  /** ON CONFLICT (target) DO NOTHING, or DO UPDATE SET … */
  readonly onConflict?: { readonly target: readonly string[]; readonly update: Readonly<Record<string, SetValue>> | 'nothing' };
}

export interface UpdateSpec {
  readonly table: string;
  readonly set: Readonly<Record<string, SetValue>>;
  readonly where?: Condition;
  readonly returning?: readonly string[];
}

export interface DeleteSpec {
  readonly from: string;
  readonly where?: Condition;
  readonly returning?: readonly string[];
}

function isSetExpr(v: SetValue): v is { readonly excluded: string } | { readonly add: number } {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array);
}

export class QueryBuilder {
  readonly dialect: Dialect;

  constructor(dialect: Dialect | DialectName) {
    this.dialect = typeof dialect === 'string' ? dialectOf(dialect) : dialect;
  }

  private q(identifier: string): string {
    return this.dialect.quote(identifier);
  }

  private where(c: Condition | undefined, params: ParamList): string {
    return c === undefined ? '' : ` WHERE ${renderCondition(c, this.dialect, params)}`;
  }

  private returning(cols: readonly string[] | undefined): string {
    return cols === undefined || cols.length === 0 ? '' : ` RETURNING ${cols.map((c) => this.q(c)).join(', ')}`;
  }

  private assignments(table: string, set: Readonly<Record<string, SetValue>>, params: ParamList): string {
    const parts: string[] = [];
    for (const [col, v] of Object.entries(set)) {
      if (isSetExpr(v)) {
        if ('excluded' in v) parts.push(`${this.q(col)} = excluded.${this.q(v.excluded)}`);
        else parts.push(`${this.q(col)} = ${this.q(table)}.${this.q(col)} + ${params.add(v.add)}`);
      } else {
        parts.push(`${this.q(col)} = ${params.add(v)}`);
      }
    }
    if (parts.length === 0) throw new TypeError(`empty SET list for ${table}`);
    return parts.join(', ');
  }

  select(spec: SelectSpec): Sql {
    const params = new ParamList(this.dialect);
    const cols =
      spec.columns === undefined || spec.columns.length === 0
        ? '*'
        : spec.columns
            .map((c) =>
              typeof c === 'string'
                ? this.q(c)
                : `${c.fn.toUpperCase()}(${c.column === undefined ? '*' : this.q(c.column)}) AS ${this.q(c.as)}`,
            )
            .join(', ');
    let text = `SELECT ${cols} FROM ${this.q(spec.from)}${this.where(spec.where, params)}`;
    if (spec.orderBy !== undefined && spec.orderBy.length > 0) {
      text += ` ORDER BY ${spec.orderBy
        .map((o) => (typeof o === 'string' ? this.q(o) : `${this.q(o.column)}${o.desc === true ? ' DESC' : ''}`))
        .join(', ')}`;
    }
    if (spec.limit !== undefined) text += ` LIMIT ${params.add(checkCount(spec.limit))}`;
    if (spec.offset !== undefined) text += ` OFFSET ${params.add(checkCount(spec.offset))}`;
    return { text, params: params.values };
  }

  insert(spec: InsertSpec): Sql {
    const params = new ParamList(this.dialect);
    const cols = Object.keys(spec.values);
    if (cols.length === 0) throw new TypeError(`insert into ${spec.into} with no values`);
    let text = `INSERT INTO ${this.q(spec.into)} (${cols.map((c) => this.q(c)).join(', ')}) VALUES (${cols
      .map((c) => params.add(spec.values[c]))
      .join(', ')})`;
    if (spec.onConflict !== undefined) {
      const target = spec.onConflict.target.map((c) => this.q(c)).join(', ');
      text +=
        spec.onConflict.update === 'nothing'
          ? ` ON CONFLICT (${target}) DO NOTHING`
          : ` ON CONFLICT (${target}) DO UPDATE SET ${this.assignments(spec.into, spec.onConflict.update, params)}`;
    }
    return { text: text + this.returning(spec.returning), params: params.values };
  }

  /** One INSERT statement for `columns`, run once per row (rows are values in column order). */
  insertBatch(into: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[]): BatchSql {
    const placeholders = columns.map((_, i) => this.dialect.placeholder(i + 1)).join(', ');
    const text = `INSERT INTO ${this.q(into)} (${columns.map((c) => this.q(c)).join(', ')}) VALUES (${placeholders})`;
    for (const r of rows) if (r.length !== columns.length) throw new TypeError(`batch row has ${r.length} values for ${columns.length} columns`);
    return { text, paramSets: rows };
  }

  update(spec: UpdateSpec): Sql {
    const params = new ParamList(this.dialect);
    const set = this.assignments(spec.table, spec.set, params);
    const text = `UPDATE ${this.q(spec.table)} SET ${set}${this.where(spec.where, params)}${this.returning(spec.returning)}`;
    return { text, params: params.values };
  }

  delete(spec: DeleteSpec): Sql {
    const params = new ParamList(this.dialect);
    const text = `DELETE FROM ${this.q(spec.from)}${this.where(spec.where, params)}${this.returning(spec.returning)}`;
    return { text, params: params.values };
  }
}

function checkCount(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`LIMIT/OFFSET must be a non-negative integer, got ${n}`);
  return n;
}
