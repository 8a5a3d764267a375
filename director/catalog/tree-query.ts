/**
 * Builds the query behind Catalog.treeAsAt: one job reads straight off the
 * (job_id, tree_key, agent) index; a chain uses the window query. Also the
 * byte-prefix range on tree_key. A chain is merged in tree-merge.ts.
 */
import { Buffer } from 'node:buffer';
import { treeKey } from '../../plugin-api/index.js';
import { and, type Condition, eq, ge, lt } from './sql/conditions.js';
import type { Dialect } from './sql/dialect.js';
import { QueryBuilder, type Sql } from './sql/query-builder.js';
import type { TreeOptions } from './types.js';

/** The smallest key greater than every key starting with `prefix`, or null when none exists (all 0xff). */
export function prefixUpperBound(prefix: Uint8Array): Buffer | null {
  const b = Buffer.from(prefix);
  let n = b.length;
  while (n > 0 && b[n - 1] === 0xff) n--;
  if (n === 0) return null;
  const out = Buffer.from(b.subarray(0, n));
  out[n - 1]++;
  return out;
}

export function treeFilter(opts: TreeOptions): Condition | undefined {
  const parts: Condition[] = [];
  if (opts.agent !== undefined) parts.push(eq('agent', opts.agent));
  if (opts.prefix !== undefined && opts.prefix.length > 0) {
    const lo = treeKey(opts.prefix);
    parts.push(ge('tree_key', lo));
    const hi = prefixUpperBound(lo);
    if (hi !== null) parts.push(lt('tree_key', hi));
  }
  return parts.length === 0 ? undefined : and(...parts);
}

/** One job's rows in (tree_key, agent, file_index) order, deletions included: a cursor for the chain merge. */
export function jobTreeSql(dialect: Dialect, jobId: number, opts: TreeOptions = {}, columns?: readonly string[]): Sql {
  return new QueryBuilder(dialect).select({
    from: 'files',
    columns,
    where: and(eq('job_id', jobId), treeFilter(opts)),
    orderBy: ['tree_key', 'agent', 'file_index'],
  });
}

/** What an agent's base tree needs (BaseFile), and the merge keys: a narrow row is read ~2× faster than `*`. */
export const BASE_TREE_COLUMNS = ['tree_key', 'agent', 'file_index', 'deleted', 'path', 'kind', 'size', 'mtime_ns', 'ctime_ns', 'ino', 'dev', 'mode'] as const;

/** One job's tree, deletions removed, in (tree_key, agent) order: treeAsAt of a single job. */
export function treeAsAtSql(dialect: Dialect, jobId: number, opts: TreeOptions = {}): Sql {
  return new QueryBuilder(dialect).select({
    from: 'files',
    where: and(eq('job_id', jobId), eq('deleted', false), treeFilter(opts)),
    orderBy: ['tree_key', 'agent', 'file_index'],
  });
}
