/**
 * WHERE conditions as data: eq, ne, lt, le, gt, ge, in, isNull, and, or.
 * Callers build conditions with these functions; the query builder renders
 * them with parameters, so no caller ever concatenates SQL.
 */
import type { Dialect } from './dialect.js';

/** A value bound as a parameter. Uint8Array binds as a blob/bytea. */
export type SqlValue = string | number | bigint | boolean | null | Uint8Array;

export type CompareOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

export type Condition =
  | { readonly op: CompareOp; readonly column: string; readonly value: SqlValue }
  | { readonly op: 'in'; readonly column: string; readonly values: readonly SqlValue[] }
  | { readonly op: 'isNull'; readonly column: string; readonly negate: boolean }
  | { readonly op: 'and' | 'or'; readonly conditions: readonly Condition[] };

export const eq = (column: string, value: SqlValue): Condition => ({ op: 'eq', column, value });
export const ne = (column: string, value: SqlValue): Condition => ({ op: 'ne', column, value });
export const lt = (column: string, value: SqlValue): Condition => ({ op: 'lt', column, value });
export const le = (column: string, value: SqlValue): Condition => ({ op: 'le', column, value });
export const gt = (column: string, value: SqlValue): Condition => ({ op: 'gt', column, value });
export const ge = (column: string, value: SqlValue): Condition => ({ op: 'ge', column, value });
export const inList = (column: string, values: readonly SqlValue[]): Condition => ({ op: 'in', column, values });
export const isNull = (column: string): Condition => ({ op: 'isNull', column, negate: false });
export const isNotNull = (column: string): Condition => ({ op: 'isNull', column, negate: true });
/** AND of the given conditions; `undefined` entries are dropped (handy for optional filters). */
export const and = (...conditions: Array<Condition | undefined>): Condition => ({ op: 'and', conditions: conditions.filter((c): c is Condition => c !== undefined) });
export const or = (...conditions: Array<Condition | undefined>): Condition => ({ op: 'or', conditions: conditions.filter((c): c is Condition => c !== undefined) });

const OPERATORS: Record<CompareOp, string> = { eq: '=', ne: '<>', lt: '<', le: '<=', gt: '>', ge: '>=' };

/** Collects parameters in order and hands out the dialect's placeholders. */
export class ParamList {
  readonly values: SqlValue[] = [];
  constructor(private readonly dialect: Dialect) {}
  add(value: SqlValue): string {
    this.values.push(value);
    return this.dialect.placeholder(this.values.length);
  }
}

export function renderCondition(c: Condition, dialect: Dialect, params: ParamList): string {
  switch (c.op) {
    case 'and':
    case 'or': {
      if (c.conditions.length === 0) return c.op === 'and' ? '1 = 1' : '1 = 0';
      if (c.conditions.length === 1) return renderCondition(c.conditions[0], dialect, params);
      return c.conditions.map((x) => `(${renderCondition(x, dialect, params)})`).join(c.op === 'and' ? ' AND ' : ' OR ');
    }
    case 'isNull':
      return `${dialect.quote(c.column)} IS ${c.negate ? 'NOT ' : ''}NULL`;
    case 'in':
      if (c.values.length === 0) return '1 = 0';
      return `${dialect.quote(c.column)} IN (${c.values.map((v) => params.add(v)).join(', ')})`;
    default:
      if (c.value === null && (c.op === 'eq' || c.op === 'ne')) return `${dialect.quote(c.column)} IS ${c.op === 'ne' ? 'NOT ' : ''}NULL`;
      return `${dialect.quote(c.column)} ${OPERATORS[c.op]} ${params.add(c.value)}`;
  }
}
