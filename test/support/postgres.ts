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
import { chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { findTool, isRoot, makeTempDir, removeTree, requireTool } from './temp.js';

export interface PostgresCluster {
  /** The socket directory (pass as host) and port. */
  host: string;
  port: number;
  user: string;
  /** A fresh, empty database for one test. */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
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
export async function startPostgres(t?: import('node:test').TestContext): Promise<PostgresCluster | null> {
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
    run(join(bin, 'initdb'), ['-D', data, '-U', user, '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    const opts = `-k ${sock} -c listen_addresses= -p ${PORT} -c fsync=off -c full_page_writes=off`;
    run(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', opts, 'start']);
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
