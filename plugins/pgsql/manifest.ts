/**
 * The pgsql agent's manifest (identity, API range, stored format, option
 * schema) and the parsing of its options into a typed, checked form. The
 * host validates types against the schema for backups; restore options are
 * checked here too, since a restore may hand them over unvalidated.
 */
import { CairnError, type AgentManifest } from '../../plugin-api/index.js';

export const manifest: AgentManifest = {
  name: 'pgsql',
  version: '1.0.0',
  api: '>=1.2 <2',
  formatMajor: 1,
  restoreKind: 'files',
  description: 'PostgreSQL logical backup: one streamed pg_dump (custom format) per selected database plus the cluster globals; restores into a cluster or as dump files.',
  options: {
    type: 'object',
    properties: {
      cluster: { type: 'string', default: 'main', description: 'Name of the cluster in the virtual paths (/@pgsql/<cluster>/…).' },
      host: { type: 'string', description: 'Unix socket directory (starts with /) or host name; default: PGHOST, else the first of /var/run/postgresql, /run/postgresql, /tmp holding this port\'s socket, else localhost.' },
      port: { type: 'integer', default: 5432, description: 'Server port (also names the socket file in the socket directory).' },
      user: { type: 'string', description: 'Role to connect as; default: libpq\'s (PGUSER, else the OS user).' },
      password: { type: 'string', description: 'Password of the role, handed to the tools in PGPASSWORD (never on a command line). A .pgpass file of the FD user works too.' },
      maintenanceDb: { type: 'string', default: 'postgres', description: 'Database to connect to for listing databases, pg_dumpall and CREATE/DROP DATABASE.' },
      binDir: {
        type: 'string',
        localOnly: true,
        description: 'Folder holding pg_dump, pg_dumpall, pg_restore and psql. Default: the first of PATH and /usr/lib/postgresql/*/bin (newest first) whose pg_dump is at least the server\'s major version. Set it in the FD\'s own agent defaults, never from a Director\'s fileset.',
      },
      includeDatabases: { type: 'array', items: { type: 'string' }, default: ['*'], description: 'Glob patterns of database names to back up.' },
      excludeDatabases: { type: 'array', items: { type: 'string' }, default: [], description: 'Glob patterns of database names to leave out (wins over includeDatabases).' },
      templates: { type: 'boolean', default: false, description: 'Also consider template databases that accept connections (template1); template0 never.' },
      globals: { type: 'boolean', default: true, description: 'Back up roles and tablespaces once per job (pg_dumpall --globals-only).' },
      dumpCompression: { type: 'integer', default: 0, description: 'pg_dump -Z level inside the archive. 0: the FD compresses (zstd) instead, which is faster.' },
      restoreTarget: { type: 'string', enum: ['auto', 'file', 'cluster'], default: 'auto', description: 'Restore: file = dump files under the restore folder; cluster = into the server; auto = file when the restore has a folder (where), else cluster.' },
      renameTo: { type: 'string', description: 'Restore: the new name of the one database restored.' },
      rename: { type: 'object', description: 'Restore: mapping of database names to new names ({ shop: shop_copy }).' },
      restoreGlobals: { type: 'boolean', default: true, description: 'Restore into a cluster: replay the globals (roles, tablespaces) when selected; errors for existing roles are warnings.' },
      restoreOwnership: { type: 'boolean', default: true, description: 'Restore into a cluster: keep owners and privileges (false: pg_restore --no-owner --no-privileges, objects belong to the restoring role).' },
    },
    additionalProperties: false,
  },
};

export type RestoreTarget = 'auto' | 'file' | 'cluster';

/** Connection settings shared by the pg client and the command-line tools. */
export interface Connection {
  host?: string;
  port: number;
  user?: string;
  password?: string;
  maintenanceDb: string;
}

export interface PgsqlOptions {
  cluster: string;
  connection: Connection;
  binDir?: string;
  includeDatabases: string[];
  excludeDatabases: string[];
  templates: boolean;
  globals: boolean;
  dumpCompression: number;
  restoreTarget: RestoreTarget;
  renameTo?: string;
  rename: Record<string, string>;
  restoreGlobals: boolean;
  restoreOwnership: boolean;
}

function bad(key: string, why: string): CairnError {
  return new CairnError('CAIRN_E_PGSQL_OPTIONS', `pgsql option "${key}": ${why}`, { agent: 'pgsql', key });
}

function str(raw: Record<string, unknown>, key: string): string | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') throw bad(key, 'expected a non-empty string');
  return v;
}

function bool(raw: Record<string, unknown>, key: string, dflt: boolean): boolean {
  const v = raw[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw bad(key, 'expected true or false');
  return v;
}

function int(raw: Record<string, unknown>, key: string, dflt: number, min: number, max: number): number {
  const v = raw[key];
  if (v === undefined || v === null) return dflt;
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) throw bad(key, `expected a whole number ${min}–${max}`);
  return v as number;
}

function list(raw: Record<string, unknown>, key: string, dflt: string[]): string[] {
  const v = raw[key];
  if (v === undefined || v === null) return dflt;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw bad(key, 'expected a list of strings');
  return v as string[];
}

/** Options after defaults, checked. Throws CAIRN_E_PGSQL_OPTIONS naming the key. */
export function pgsqlOptions(raw: Record<string, unknown>): PgsqlOptions {
  const known = Object.keys(manifest.options!.properties!);
  for (const k of Object.keys(raw)) if (!known.includes(k)) throw bad(k, `unknown option (known: ${known.join(', ')})`);
  const cluster = str(raw, 'cluster') ?? 'main';
  if (cluster.includes('/') || cluster === '.' || cluster === '..') throw bad('cluster', 'a cluster name is one path component (no "/", not "." or "..")');
  const target = raw.restoreTarget ?? 'auto';
  if (target !== 'auto' && target !== 'file' && target !== 'cluster') throw bad('restoreTarget', 'expected auto, file or cluster');
  const rename: Record<string, string> = {};
  if (raw.rename !== undefined && raw.rename !== null) {
    if (typeof raw.rename !== 'object' || Array.isArray(raw.rename)) throw bad('rename', 'expected a mapping of database names to new names');
    for (const [from, to] of Object.entries(raw.rename as Record<string, unknown>)) {
      if (typeof to !== 'string' || to === '') throw bad('rename', `the new name of "${from}" must be a non-empty string`);
      rename[from] = to;
    }
    const targets = Object.values(rename);
    const twice = targets.find((t, i) => targets.indexOf(t) !== i);
    if (twice !== undefined) throw bad('rename', `two databases would be restored as "${twice}"`);
  }
  const renameTo = str(raw, 'renameTo');
  if (renameTo !== undefined && Object.keys(rename).length) throw bad('renameTo', 'give either renameTo (one database) or rename (a mapping), not both');
  return {
    cluster,
    connection: {
      host: str(raw, 'host'),
      port: int(raw, 'port', 5432, 1, 65535),
      user: str(raw, 'user'),
      password: typeof raw.password === 'string' ? raw.password : undefined,
      maintenanceDb: str(raw, 'maintenanceDb') ?? 'postgres',
    },
    binDir: str(raw, 'binDir'),
    includeDatabases: list(raw, 'includeDatabases', ['*']),
    excludeDatabases: list(raw, 'excludeDatabases', []),
    templates: bool(raw, 'templates', false),
    globals: bool(raw, 'globals', true),
    dumpCompression: int(raw, 'dumpCompression', 0, 0, 9),
    restoreTarget: target,
    renameTo,
    rename,
    restoreGlobals: bool(raw, 'restoreGlobals', true),
    restoreOwnership: bool(raw, 'restoreOwnership', true),
  };
}
