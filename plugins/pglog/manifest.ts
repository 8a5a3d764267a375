/**
 * The pglog agent's manifest (identity, API range, stored format, restore
 * kind, options) and its options after defaults.
 */
import { isAbsolute } from 'node:path';
import { CairnError, type AgentManifest } from '../../plugin-api/index.js';

export const manifest: AgentManifest = {
  name: 'pglog',
  version: '1.0.0',
  api: '>=1.3 <2',
  formatMajor: 1,
  restoreKind: 'log',
  description: 'PostgreSQL base backup plus archived WAL (Exchange-style log agent): Full, Incremental and Differential; restore to the latest point or to a time.',
  options: {
    type: 'object',
    properties: {
      spool: { type: 'string', description: 'Absolute path of the folder the cluster\'s archive_command copies WAL segments into (docs/agents/pglog.md).' },
      host: { type: 'string', default: '/var/run/postgresql', description: 'Server host name, or the Unix socket directory (a path).' },
      port: { type: 'integer', default: 5432, description: 'Server port (also names the socket file).' },
      user: { type: 'string', default: 'postgres', description: 'Role to connect as: a superuser, or a role with REPLICATION and EXECUTE on pg_switch_wal.' },
      database: { type: 'string', default: 'postgres', description: 'Database the SQL connection uses (any will do).' },
      cluster: { type: 'string', default: 'main', description: 'Name of this cluster in the backup: paths are /pglog/<cluster>/…, a restore writes <where>/<cluster>/data and <where>/<cluster>/wal.' },
      binDir: { type: 'string', description: 'Folder holding pg_basebackup; default /usr/lib/postgresql/<server major>/bin, then PATH.' },
      onGap: { type: 'string', enum: ['fail', 'full'], default: 'fail', description: 'When an Incremental or Differential finds a WAL gap, a timeline switch or another cluster: fail the job (fail) or take a new base backup in it (full).' },
      checkpoint: { type: 'string', enum: ['fast', 'spread'], default: 'fast', description: 'The base backup\'s starting checkpoint: fast (immediate, more I/O at once) or spread.' },
      archiveWaitSeconds: { type: 'integer', default: 300, description: 'How long to wait for the segment completed by the final WAL switch to reach the spool.' },
    },
    required: ['spool'],
    additionalProperties: false,
  },
};

export interface ConnectionOptions {
  host: string;
  port: number;
  user: string;
  database: string;
}

export interface PglogOptions extends ConnectionOptions {
  spool: string;
  cluster: string;
  binDir?: string;
  onGap: 'fail' | 'full';
  checkpoint: 'fast' | 'spread';
  archiveWaitSeconds: number;
}

function bad(key: string, why: string): CairnError {
  return new CairnError('CAIRN_E_AGENT_OPTIONS', `options for agent pglog: ${key} ${why}`, { agent: 'pglog', key });
}

/** Options after defaults, with the checks the schema cannot express. */
export function pglogOptions(raw: Record<string, unknown>): PglogOptions {
  const spool = raw.spool;
  if (typeof spool !== 'string' || !isAbsolute(spool)) throw bad('spool', 'must be the absolute path of the WAL spool folder');
  const cluster = typeof raw.cluster === 'string' ? raw.cluster : 'main';
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/.test(cluster)) throw bad('cluster', 'must be letters, digits, _ . - (it names a path)');
  const binDir = typeof raw.binDir === 'string' ? raw.binDir : undefined;
  if (binDir !== undefined && !isAbsolute(binDir)) throw bad('binDir', 'must be an absolute path');
  const wait = typeof raw.archiveWaitSeconds === 'number' ? raw.archiveWaitSeconds : 300;
  if (!(wait > 0)) throw bad('archiveWaitSeconds', 'must be positive');
  return {
    spool,
    cluster,
    binDir,
    host: typeof raw.host === 'string' ? raw.host : '/var/run/postgresql',
    port: typeof raw.port === 'number' ? raw.port : 5432,
    user: typeof raw.user === 'string' ? raw.user : 'postgres',
    database: typeof raw.database === 'string' ? raw.database : 'postgres',
    onGap: raw.onGap === 'full' ? 'full' : 'fail',
    checkpoint: raw.checkpoint === 'spread' ? 'spread' : 'fast',
    archiveWaitSeconds: wait,
  };
}
