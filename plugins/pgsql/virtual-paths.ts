/**
 * The agent's virtual paths. A cluster's globals come first in tree order,
 * so a restore replays roles and tablespaces before the databases that need
 * them:
 *
 *   /@pgsql/<cluster>/cluster-globals.sql        pg_dumpall --globals-only
 *   /@pgsql/<cluster>/databases/<name>.dump      pg_dump --format=custom
 *
 * ("cluster-globals.sql" < "databases" byte-wise.) A database name may hold
 * any character but NUL; "/" and "%" are written %2F and %25 so a name is
 * always one path component. The real name travels in the entry's meta.
 */
import { Buffer } from 'node:buffer';

export const ROOT = '/@pgsql';
export const GLOBALS_FILE = 'cluster-globals.sql';
export const DATABASES_DIR = 'databases';
export const DUMP_SUFFIX = '.dump';

export function encodeName(name: string): string {
  return name.replace(/%/g, '%25').replace(/\//g, '%2F');
}

export function decodeName(component: string): string {
  return component.replace(/%2F/gi, '/').replace(/%25/g, '%');
}

export function clusterPrefix(cluster: string): string {
  return `${ROOT}/${cluster}/`;
}

export function globalsPath(cluster: string): Buffer {
  return Buffer.from(`${clusterPrefix(cluster)}${GLOBALS_FILE}`, 'utf8');
}

export function databasePath(cluster: string, database: string): Buffer {
  return Buffer.from(`${clusterPrefix(cluster)}${DATABASES_DIR}/${encodeName(database)}${DUMP_SUFFIX}`, 'utf8');
}

export type ParsedPath = { kind: 'globals'; cluster: string } | { kind: 'database'; cluster: string; database: string };

/** Whether two entries are the same path (by bytes: a host may hand back a copy of the entry, not the object). */
export function samePath(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

/** What a virtual path names, or null when it is not one of this agent's. */
export function parsePath(path: Uint8Array): ParsedPath | null {
  const s = Buffer.from(path.buffer, path.byteOffset, path.byteLength).toString('utf8');
  const m = /^\/@pgsql\/([^/]+)\/(?:(cluster-globals\.sql)|databases\/([^/]+)\.dump)$/.exec(s);
  if (!m || m[1] === '.' || m[1] === '..') return null;
  if (m[2]) return { kind: 'globals', cluster: m[1] };
  return { kind: 'database', cluster: m[1], database: decodeName(m[3]) };
}
