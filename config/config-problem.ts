/**
 * One problem in a configuration file (file:line:column, key path, what was
 * expected) and the CairnError that reports a list of them: the first on the
 * message's first line, the others below it, all of them in fields.errors.
 */
import { CairnError } from '../plugin-api/index.js';

export interface ConfigProblem {
  file: string;
  line: number;
  column: number;
  /** Key path, e.g. jobs[0].schedule. */
  key: string;
  /** What would have been accepted, in words. */
  expected: string;
  /** The problem in words (without the location). */
  message: string;
}

/** At most this many problems are reported; the rest are counted. */
export const MAX_PROBLEMS = 20;

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.key}: ${p.message}`;
}

export function problemsError(code: 'CAIRN_E_CONFIG_INVALID' | 'CAIRN_E_CONFIG_SECRET', problems: ConfigProblem[], extra: Record<string, unknown> = {}): CairnError {
  const shown = problems.slice(0, MAX_PROBLEMS);
  const lines = [formatProblem(shown[0])];
  if (shown.length > 1) lines.push(`${problems.length - 1} more problem${problems.length > 2 ? 's' : ''}:`, ...shown.slice(1).map((p) => `  ${formatProblem(p)}`));
  if (problems.length > shown.length) lines.push(`  … and ${problems.length - shown.length} more not shown`);
  const { file, line, column, key, expected } = shown[0];
  return new CairnError(code, lines.join('\n'), { file, line, column, key, expected, ...extra, errors: shown, count: problems.length });
}
