/**
 * What a pgsql entry carries in its meta (stored in its attributes, handed
 * back at restore): what the entry is, the server and pg_dump versions that
 * made it, how the cluster was reached, and what CREATE DATABASE needs to
 * recreate the database (owner, encoding, locale). Never a password.
 */
import { CairnError, displayPath, type FileEntry } from '../../plugin-api/index.js';
import { parsePath } from './virtual-paths.js';

/** Version of this meta layout (formatMajor 1). */
export const PGSQL_FORMAT = 1;

export interface PgsqlMeta {
  format: number;
  kind: 'globals' | 'database';
  cluster: string;
  serverVersionNum: number;
  /** pg_dump's (or pg_dumpall's) version number, which the restoring pg_restore must reach. */
  dumpVersionNum: number;
  dumpVersion: string;
  connection: { host?: string; port: number; user?: string; maintenanceDb: string };
  database?: { name: string; owner: string; encoding: string; collate: string; ctype: string; localeProvider?: string; locale?: string };
}

/** The entry's meta, checked; a foreign or damaged entry is refused with a message naming it. */
export function entryMeta(entry: FileEntry): PgsqlMeta {
  const m = entry.meta as Partial<PgsqlMeta> | undefined;
  const parsed = parsePath(entry.path);
  const bad = (why: string) => new CairnError('CAIRN_E_PGSQL_RESTORE_FAILED', `pgsql: ${displayPath(entry.path)} cannot be restored: ${why}`, { path: displayPath(entry.path) });
  if (!parsed) throw bad('it is not a pgsql virtual path');
  if (!m || typeof m !== 'object') throw bad('its stored meta is missing');
  if (m.format !== PGSQL_FORMAT) throw bad(`meta format ${String(m.format)} is not one this agent reads (${PGSQL_FORMAT})`);
  if (m.kind !== parsed.kind) throw bad(`meta says ${String(m.kind)}, the path says ${parsed.kind}`);
  if (m.kind === 'database' && (!m.database || typeof m.database.name !== 'string')) throw bad('its meta names no database');
  return m as PgsqlMeta;
}
