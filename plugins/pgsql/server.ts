/**
 * Talking SQL to the server with the `pg` client: its version, the list of
 * databases with what CREATE DATABASE needs to recreate them (owner,
 * encoding, locale), and the database-level statements of a restore
 * (exists, create, rename, drop). Identifiers are always quoted here.
 */
import { existsSync } from 'node:fs';
import pg from 'pg';
import { CairnError } from '../../plugin-api/index.js';
import type { Connection } from './manifest.js';

/** One database as pg_database describes it. */
export interface DatabaseInfo {
  name: string;
  owner: string;
  encoding: string;
  collate: string;
  ctype: string;
  /** 'c' (libc), 'i' (ICU) or 'b' (builtin), PostgreSQL 15+; absent before. */
  localeProvider?: string;
  /** ICU or builtin locale (daticulocale up to 16, datlocale from 17). */
  locale?: string;
  isTemplate: boolean;
  allowConnections: boolean;
}

export interface ServerInfo {
  /** server_version_num, e.g. 150014. */
  versionNum: number;
  /** SELECT version(): the full banner. */
  banner: string;
}

/**
 * The host libpq would use when none is given: PGHOST, else the first of
 * the usual socket directories holding this port's socket (Debian and Red
 * Hat: /var/run/postgresql; upstream builds: /tmp), else localhost. The `pg`
 * client's own default is TCP to localhost, which is not what the command
 * line tools do: both must reach the same server.
 */
export function defaultHost(port: number): string {
  if (process.env.PGHOST) return process.env.PGHOST;
  for (const dir of ['/var/run/postgresql', '/run/postgresql', '/tmp']) if (existsSync(`${dir}/.s.PGSQL.${port}`)) return dir;
  return 'localhost';
}

export function describeTarget(c: Connection): string {
  return `${c.host ?? '(default socket)'}:${c.port}${c.user ? ` as ${c.user}` : ''}`;
}

/** Runs `fn` on a fresh connection to `database` (default: the maintenance database) and closes it. */
export async function withClient<T>(c: Connection, fn: (client: pg.Client) => Promise<T>, database = c.maintenanceDb): Promise<T> {
  const client = new pg.Client({ host: c.host, port: c.port, user: c.user, password: c.password, database, application_name: 'cairn-pgsql' });
  client.on('error', () => undefined); // a server that goes away mid-query rejects that query; the event is not needed
  try {
    await client.connect();
  } catch (err) {
    throw new CairnError('CAIRN_E_PGSQL_CONNECT', `cannot connect to PostgreSQL at ${describeTarget(c)}, database ${database}: ${(err as Error).message}`, { host: c.host, port: c.port, user: c.user, database }, { cause: err, retryable: true });
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export async function serverInfo(client: pg.Client): Promise<ServerInfo> {
  const r = await client.query<{ num: string; banner: string }>("SELECT current_setting('server_version_num') AS num, version() AS banner");
  return { versionNum: Number(r.rows[0].num), banner: r.rows[0].banner };
}

/** Every database of the cluster; to_jsonb keeps the query the same across server versions (columns came and went). */
export async function listDatabases(client: pg.Client): Promise<DatabaseInfo[]> {
  const r = await client.query<{ d: Record<string, unknown>; owner: string; encoding: string }>(
    'SELECT to_jsonb(d) AS d, pg_get_userbyid(d.datdba) AS owner, pg_encoding_to_char(d.encoding) AS encoding FROM pg_database d ORDER BY d.datname',
  );
  return r.rows.map(({ d, owner, encoding }) => ({
    name: String(d.datname),
    owner,
    encoding,
    collate: String(d.datcollate ?? ''),
    ctype: String(d.datctype ?? ''),
    localeProvider: typeof d.datlocprovider === 'string' ? d.datlocprovider : undefined,
    locale: typeof d.datlocale === 'string' ? d.datlocale : typeof d.daticulocale === 'string' ? d.daticulocale : undefined,
    isTemplate: d.datistemplate === true,
    allowConnections: d.datallowconn !== false,
  }));
}

export async function databaseExists(client: pg.Client, name: string): Promise<boolean> {
  const r = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return (r.rowCount ?? 0) > 0;
}

/**
 * CREATE DATABASE from template0 with the original's owner, encoding and
 * locale; when the target cluster lacks the owner role or the locale, again
 * with fewer of them. Returns what had to be left out (empty when nothing).
 */
export async function createDatabase(client: pg.Client, name: string, like: Partial<DatabaseInfo>, serverNum: number): Promise<string[]> {
  const owner = like.owner ? ` OWNER ${quoteIdent(like.owner)}` : '';
  const encoding = like.encoding ? ` ENCODING ${quoteLiteral(like.encoding)}` : '';
  let locale = '';
  if (like.collate) locale += ` LC_COLLATE ${quoteLiteral(like.collate)}`;
  if (like.ctype) locale += ` LC_CTYPE ${quoteLiteral(like.ctype)}`;
  if (serverNum >= 150000 && like.localeProvider === 'i' && like.locale) locale += ` LOCALE_PROVIDER icu ICU_LOCALE ${quoteLiteral(like.locale)}`;
  if (serverNum >= 170000 && like.localeProvider === 'b' && like.locale) locale += ` LOCALE_PROVIDER builtin BUILTIN_LOCALE ${quoteLiteral(like.locale)}`;
  const attempts: Array<[string, string[]]> = [
    [`${owner}${encoding}${locale}`, []],
    [`${encoding}${locale}`, owner ? [`owner ${like.owner}`] : []],
    [encoding, [...(owner ? [`owner ${like.owner}`] : []), ...(locale ? ['locale'] : [])]],
    ['', [...(owner ? [`owner ${like.owner}`] : []), ...(locale ? ['locale'] : []), ...(encoding ? [`encoding ${like.encoding}`] : [])]],
  ];
  let last: unknown;
  const tried = new Set<string>();
  for (const [clauses, dropped] of attempts) {
    if (tried.has(clauses)) continue;
    tried.add(clauses);
    try {
      await client.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0${clauses}`);
      return dropped;
    } catch (err) {
      last = err;
      const code = (err as { code?: string }).code;
      // 42704 undefined object (role), 22023 invalid parameter (locale), 42809/0A000 locale/encoding mismatch: try with less.
      if (code !== '42704' && code !== '22023' && code !== '42809' && code !== '0A000' && code !== '22021') break;
    }
  }
  throw last;
}

/** DROP DATABASE; WITH (FORCE) (13+) ends sessions still connected to it. */
export async function dropDatabase(client: pg.Client, name: string, serverNum: number): Promise<void> {
  await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}${serverNum >= 130000 ? ' WITH (FORCE)' : ''}`);
}

export async function renameDatabase(client: pg.Client, from: string, to: string): Promise<void> {
  await client.query(`ALTER DATABASE ${quoteIdent(from)} RENAME TO ${quoteIdent(to)}`);
}
