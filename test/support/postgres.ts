/**
 * A throwaway PostgreSQL cluster for tests: initdb and pg_ctl on a temp
 * directory, listening only on a Unix socket in that directory (no TCP
 * port). PostgreSQL refuses to run as root, so as root the cluster belongs
 * to `nobody` and its commands run with that uid. The server binaries
 * are found in PATH or under /usr/lib/postgresql/<version>/bin (Debian's
 * place, not in PATH). Missing binaries fail the test in CI and skip it
 * loudly elsewhere (temp.ts `requireTool`).
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { findTool, isRoot, makeTempDir, removeTree, requireTool } from './temp.js';

export interface PostgresCluster {
  /** The socket directory (pass as host) and port. */
  host: string;
  port: number;
  user: string;
  /** The data directory and the folder holding the server binaries. */
  dataDir: string;
  binDir: string;
  /** A fresh, empty database for one test. */
  createDatabase(): Promise<string>;
  /** Runs one statement on a short connection (database `postgres` unless named) and returns its rows. */
  query<R = Record<string, unknown>>(sql: string, database?: string): Promise<R[]>;
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /** Extra initdb arguments, e.g. ['--wal-segsize=1'] (1 MiB WAL segments: fast switches and copies). */
  initdbArgs?: string[];
  /** Extra server settings, appended to postgresql.conf (later wins over the defaults here). */
  settings?: Record<string, string>;
  /**
   * A WAL spool folder: wal_level=replica, archive_mode=on and the archive_command
   * docs/agents/pglog.md gives, copying into it. The folder is created and given
   * to the server's user. (pg_hba.conf from initdb --auth=trust already admits
   * replication connections over the socket.)
   */
  archiveTo?: string;
}

/** The archive_command docs/agents/pglog.md documents, for a spool folder. */
export function pglogArchiveCommand(spool: string): string {
  return `f=${spool}/%f; if [ -f "$f" ]; then cmp -s %p "$f"; else cp %p "$f.tmp" && sync "$f.tmp" && mv "$f.tmp" "$f" && sync ${spool}; fi`;
}

function confLines(settings: Record<string, string>): string {
  return Object.entries(settings).map(([k, v]) => `${k} = '${v.replace(/\\/g, '\\\\').replace(/'/g, "''")}'\n`).join('');
}

const NOBODY = 65534;
const PORT = 5432;

/** Directory holding initdb and pg_ctl, or undefined. */
export function postgresBinDir(): string | undefined {
  const inPath = findTool('initdb');
  if (inPath && findTool('pg_ctl')) return dirname(inPath);
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(base, versions[0], 'bin') : undefined;
}

function run(bin: string, args: string[]): string {
  // As root the command runs as nobody, as the fs tests' children do (spawn's uid/gid; cwd / so it can be entered).
  const as = isRoot() ? { uid: NOBODY, gid: NOBODY, cwd: '/' } : {};
  try {
    return execFileSync(bin, args, { ...as, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${bin} ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`);
  }
}

/**
 * Starts a cluster, or returns null when PostgreSQL is missing outside CI (the
 * caller skips). `t` is marked skipped then.
 */
export async function startPostgres(t?: import('node:test').TestContext, opts: PostgresOptions = {}): Promise<PostgresCluster | null> {
  const bin = postgresBinDir();
  if (!bin) {
    requireTool('initdb', t);
    return null;
  }
  const dir = makeTempDir('cairn-pg-');
  const data = join(dir, 'data');
  const sock = join(dir, 'sock');
  mkdirSync(sock);
  if (isRoot()) {
    chownSync(dir, NOBODY, NOBODY);
    chownSync(sock, NOBODY, NOBODY);
  }
  const user = 'cairn';
  try {
    run(join(bin, 'initdb'), ['-D', data, '-U', user, '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', ...(opts.initdbArgs ?? [])]);
    const settings: Record<string, string> = {};
    if (opts.archiveTo) {
      mkdirSync(opts.archiveTo, { recursive: true });
      if (isRoot()) chownSync(opts.archiveTo, NOBODY, NOBODY);
      Object.assign(settings, { wal_level: 'replica', archive_mode: 'on', archive_command: pglogArchiveCommand(opts.archiveTo) });
    }
    Object.assign(settings, opts.settings ?? {});
    if (Object.keys(settings).length) appendFileSync(join(data, 'postgresql.conf'), confLines(settings));
    const serverOpts = `-k ${sock} -c listen_addresses= -p ${PORT} -c fsync=off -c full_page_writes=off`;
    run(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', serverOpts, 'start']);
  } catch (err) {
    removeTree(dir);
    throw err;
  }
  let n = 0;
  const { default: pg } = await import('pg');
  return {
    host: sock,
    port: PORT,
    user,
    dataDir: data,
    binDir: bin,
    async query<R>(sql: string, database = 'postgres'): Promise<R[]> {
      const c = new pg.Client({ host: sock, port: PORT, user, database });
      await c.connect();
      try {
        return (await c.query(sql)).rows as R[];
      } finally {
        await c.end();
      }
    },
    async createDatabase() {
      const name = `t${process.pid}_${++n}`;
      const c = new pg.Client({ host: sock, port: PORT, user, database: 'postgres' });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return name;
    },
    async stop() {
      try {
        run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        removeTree(dir);
      }
    },
  };
}

/** The `director.catalog` of a cairn-dir.yaml for one database of a test cluster. */
export interface PostgresCatalogConfig {
  engine: 'postgres';
  socketDir: string;
  port: number;
  user: string;
  database: string;
}

/**
 * A cluster (stopped when the test ends) with a fresh database, and the Director's catalog setting for it;
 * null as startPostgres (PostgreSQL missing outside CI: the test is marked skipped).
 */
export async function postgresCatalog(t: import('node:test').TestContext): Promise<{ pg: PostgresCluster; catalog: PostgresCatalogConfig } | null> {
  const pg = await startPostgres(t);
  if (!pg) return null;
  t.after(() => pg.stop());
  const database = await pg.createDatabase();
  return { pg, catalog: { engine: 'postgres', socketDir: pg.host, port: pg.port, user: pg.user, database } };
}

/**
 * Starts a cluster from an existing data directory (a restored one, owned by
 * the server's user) on a socket folder of its own; `stop()` stops it and
 * leaves the directory to its owner. Resolves once the server accepts
 * connections and, when `waitPromoted`, has left recovery.
 */
export async function startExistingCluster(dataDir: string, socketDir: string, opts: { waitPromoted?: boolean; user?: string } = {}): Promise<Omit<PostgresCluster, 'createDatabase'>> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL server binaries not found');
  mkdirSync(socketDir, { recursive: true });
  if (isRoot()) chownSync(socketDir, NOBODY, NOBODY);
  const user = opts.user ?? 'cairn';
  const log = join(socketDir, 'server.log');
  try {
    run(join(bin, 'pg_ctl'), ['-D', dataDir, '-l', log, '-w', '-t', '60', '-o', `-k ${socketDir} -c listen_addresses= -p ${PORT} -c fsync=off -c archive_mode=off`, 'start']);
  } catch (err) {
    let tail = '';
    try {
      tail = execFileSync('tail', ['-n', '30', log], { encoding: 'utf8' });
    } catch {
      // no log
    }
    throw new Error(`${(err as Error).message}\n--- server log ---\n${tail}`);
  }
  const { default: pg } = await import('pg');
  const query = async <R>(sql: string, database = 'postgres'): Promise<R[]> => {
    const c = new pg.Client({ host: socketDir, port: PORT, user, database });
    await c.connect();
    try {
      return (await c.query(sql)).rows as R[];
    } finally {
      await c.end();
    }
  };
  if (opts.waitPromoted) {
    for (let i = 0; ; i++) {
      const [r] = await query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
      if (!r.r) break;
      if (i > 600) throw new Error(`the cluster in ${dataDir} is still in recovery after 60 s (see ${log})`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }
  return {
    host: socketDir,
    port: PORT,
    user,
    dataDir,
    binDir: bin,
    query,
    async stop() {
      run(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
    },
  };
}
