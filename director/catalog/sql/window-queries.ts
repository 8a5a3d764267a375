/**
 * The few catalog queries the builder cannot express (window functions),
 * written out here for both dialects. The SQL is identical in SQLite (>= 3.25)
 * and PostgreSQL apart from the placeholder style, which Dialect supplies;
 * conditions still go through renderCondition so values stay parameters.
 */
import { type Condition, ParamList, renderCondition } from './conditions.js';
import type { Dialect } from './dialect.js';
import type { Sql } from './query-builder.js';

/**
 * The latest version of every (agent, tree_key) across `jobIds` — a later
 * position in `jobIds` wins, then the higher file_index within one job —
 * without deleted entries, in tree order (tree_key, then agent).
 *
 * `filter` narrows the rows before ranking (agent, prefix range). Deletions
 * are removed *after* ranking, so a deletion in a later job hides the path.
 */
export function latestVersionsSql(dialect: Dialect, jobIds: readonly number[], filter: Condition | undefined): Sql {
  if (jobIds.length === 0) throw new TypeError('latestVersionsSql needs at least one job id');
  const q = (s: string): string => dialect.quote(s);
  const p = new ParamList(dialect);
  // Parameters are added in the order they appear in the text (SQLite's `?` binds by position).
  const rank = `CASE ${q('job_id')} ${jobIds.map((id, i) => `WHEN ${p.add(id)} THEN ${i}`).join(' ')} END`;
  const ids = jobIds.map((id) => p.add(id)).join(', ');
  const extra = filter === undefined ? '' : ` AND (${renderCondition(filter, dialect, p)})`;
  const notDeleted = p.add(false);
  const text =
    `SELECT * FROM (` +
    `SELECT ${q('files')}.*, ROW_NUMBER() OVER (PARTITION BY ${q('agent')}, ${q('tree_key')} ORDER BY ${rank} DESC, ${q('file_index')} DESC) AS ${q('rn')} ` +
    `FROM ${q('files')} WHERE ${q('job_id')} IN (${ids})${extra}` +
    `) AS ${q('latest')} WHERE ${q('rn')} = 1 AND ${q('deleted')} = ${notDeleted} ORDER BY ${q('tree_key')}, ${q('agent')}`;
  return { text, params: p.values };
}
