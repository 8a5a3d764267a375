/**
 * Which databases of a cluster a job backs up: those a pattern of
 * includeDatabases matches and none of excludeDatabases does, that accept
 * connections, and — unless `templates` — that are not templates. Patterns
 * are the fileset globs (plugin-api/glob.ts) matched against the whole name.
 */
import { compileGlob, type CompiledGlob } from '../../plugin-api/index.js';
import type { DatabaseInfo } from './server.js';

export interface Selection {
  selected: DatabaseInfo[];
  /** Names left out and why (for the job log). */
  skipped: Array<{ name: string; why: string }>;
}

function matcher(patterns: readonly string[]): (name: string) => boolean {
  const globs: CompiledGlob[] = patterns.filter((p) => p.length > 0).map(compileGlob);
  return (name) => {
    const latin1 = Buffer.from(name, 'utf8').toString('latin1');
    return globs.some((g) => g.regex.test(latin1));
  };
}

export function selectDatabases(all: readonly DatabaseInfo[], o: { include: readonly string[]; exclude: readonly string[]; templates: boolean }): Selection {
  const inc = matcher(o.include);
  const exc = matcher(o.exclude);
  const selected: DatabaseInfo[] = [];
  const skipped: Selection['skipped'] = [];
  for (const d of all) {
    if (!inc(d.name)) continue;
    if (exc(d.name)) skipped.push({ name: d.name, why: 'excludeDatabases' });
    else if (!d.allowConnections) skipped.push({ name: d.name, why: 'it does not accept connections (datallowconn = false)' });
    else if (d.isTemplate && !o.templates) skipped.push({ name: d.name, why: 'it is a template (set templates: true to include it)' });
    else selected.push(d);
  }
  return { selected, skipped };
}
