/**
 * Restore into a cluster. A database is restored under a temporary name
 * (CREATE DATABASE from template0 with the original's owner, encoding and
 * locale; the archive streamed into `pg_restore --single-transaction` on
 * stdin), and only when pg_restore succeeded is it renamed to its target
 * name — after dropping the existing database, when the replace policy is
 * `always`. So a failed restore leaves the cluster as it was. The globals
 * script is replayed with psql; its errors (a role that already exists…) are
 * warnings, as pg_dumpall's own restore tolerates them.
 */
import { randomBytes } from 'node:crypto';
import { CairnError, displayPath, type AgentContext, type CreateResult, type FileEntry, type ReplacePolicy } from '../../plugin-api/index.js';
import type { Connection, PgsqlOptions } from './manifest.js';
import { entryMeta, type PgsqlMeta } from './meta.js';
import { createDatabase, databaseExists, defaultHost, describeTarget, dropDatabase, renameDatabase, serverInfo, withClient, type ServerInfo } from './server.js';
import { findTools, majorKey, majorLabel, type ToolSet } from './tools.js';
import { samePath } from './virtual-paths.js';
import { connectionArgs, dbnameArg, exitOk, exitText, startTool, type ToolRun } from './tool-process.js';

interface OpenRestore {
  entry: FileEntry;
  kind: 'globals' | 'database';
  conn: Connection;
  server: ServerInfo;
  target: string;
  temp: string;
  exists: boolean;
  run: ToolRun;
  tool: string;
  failed: string | null;
}

export class ClusterRestorer {
  private cur: OpenRestore | null = null;
  private readonly servers = new Map<string, Promise<ServerInfo>>();
  private readonly toolSets = new Map<string, Promise<ToolSet>>();
  private renamedToOne: string | null = null;

  constructor(
    private readonly ctx: AgentContext,
    private readonly jobId: number,
    private readonly opts: PgsqlOptions,
    /** The restore's raw options: which connection settings were given (else the backed-up cluster's are used). */
    private readonly raw: Record<string, unknown>,
    private readonly replace: ReplacePolicy,
  ) {
    // A cancelled restore may never reach endFile: the temporary database is dropped all the same.
    ctx.signal.addEventListener('abort', () => void this.close().catch(() => undefined), { once: true });
  }

  /** The restore's own connection settings, field by field, else those the backup used. */
  private connectionFor(meta: PgsqlMeta): Connection {
    const o = this.opts.connection;
    const port = this.raw.port !== undefined ? o.port : meta.connection.port;
    return {
      host: this.raw.host !== undefined ? o.host : (meta.connection.host ?? defaultHost(port)),
      port,
      user: this.raw.user !== undefined ? o.user : meta.connection.user,
      password: o.password,
      maintenanceDb: this.raw.maintenanceDb !== undefined ? o.maintenanceDb : meta.connection.maintenanceDb,
    };
  }

  private server(c: Connection): Promise<ServerInfo> {
    const key = JSON.stringify([c.host, c.port, c.user]);
    let p = this.servers.get(key);
    if (!p) this.servers.set(key, (p = withClient(c, serverInfo)));
    return p;
  }

  private tools(kind: 'globals' | 'database', meta: PgsqlMeta): Promise<ToolSet> {
    const tool = kind === 'globals' ? 'psql' : 'pg_restore';
    const min = kind === 'globals' ? 0 : meta.dumpVersionNum;
    const key = `${tool}@${majorKey(min)}`;
    let p = this.toolSets.get(key);
    if (!p) {
      p = findTools({ binDir: this.opts.binDir, need: [tool], check: tool, minNum: min, why: `an archive written by ${meta.dumpVersion}`, signal: this.ctx.signal });
      this.toolSets.set(key, p);
    }
    return p;
  }

  private targetName(name: string): string | CairnError {
    if (this.opts.renameTo !== undefined) {
      if (this.renamedToOne !== null && this.renamedToOne !== name) {
        return new CairnError('CAIRN_E_PGSQL_OPTIONS', `pgsql: renameTo names one database, but this restore also holds ${name} (after ${this.renamedToOne}); use rename: { ${name}: … } or select one database`, { database: name });
      }
      this.renamedToOne = name;
      return this.opts.renameTo;
    }
    return this.opts.rename[name] ?? name;
  }

  async create(entry: FileEntry): Promise<CreateResult> {
    let meta: PgsqlMeta;
    try {
      meta = entryMeta(entry);
    } catch (err) {
      this.ctx.jobMessage('error', (err as Error).message, { path: entry.path, code: 'CAIRN_E_PGSQL_RESTORE_FAILED' });
      return 'skip';
    }
    const conn = this.connectionFor(meta);
    if (meta.kind === 'globals' && !this.opts.restoreGlobals) {
      this.ctx.jobMessage('info', `pgsql: ${displayPath(entry.path)} not replayed (restoreGlobals: false)`, { path: entry.path });
      return 'skip';
    }
    const server = await this.server(conn);
    const tools = await this.tools(meta.kind, meta);
    if (majorKey(server.versionNum) < majorKey(meta.serverVersionNum)) {
      this.ctx.jobMessage('warning', `pgsql: restoring a dump of a PostgreSQL ${majorLabel(meta.serverVersionNum)} server into an older one (${majorLabel(server.versionNum)} at ${describeTarget(conn)}); PostgreSQL does not promise this works`, { path: entry.path, code: 'CAIRN_E_PGSQL_VERSION_MISMATCH' });
    }
    const onLine = (line: string) => {
      const warn = /\b(ERROR|WARNING|warning|error)\b/.test(line);
      this.ctx.jobMessage(warn && meta.kind === 'globals' ? 'warning' : 'info', `pgsql: ${line}`, warn && meta.kind === 'globals' ? { path: entry.path, code: 'CAIRN_E_PGSQL_TOOL_MESSAGE' } : { path: entry.path });
    };
    const args = connectionArgs(conn);
    if (meta.kind === 'globals') {
      const run = startTool(tools.paths.psql, [...args, `--dbname=${dbnameArg(conn.maintenanceDb)}`, '--no-psqlrc', '--quiet', '--file=-'], { connection: conn, stdin: true, onLine, signal: this.ctx.signal });
      this.cur = { entry, kind: 'globals', conn, server, target: '', temp: '', exists: false, run, tool: 'psql', failed: null };
      return 'extract';
    }
    const target = this.targetName(meta.database!.name);
    if (target instanceof CairnError) {
      this.ctx.jobMessage('error', target.message, { path: entry.path, code: target.code });
      return 'skip';
    }
    const temp = `cairn_restore_${this.jobId}_${randomBytes(4).toString('hex')}`;
    const prepared = await withClient(conn, async (c) => {
      const exists = await databaseExists(c, target);
      if (exists && this.replace !== 'always') return { exists, dropped: null };
      return { exists, dropped: await createDatabase(c, temp, meta.database!, server.versionNum) };
    }).catch((err: Error) => err);
    if (prepared instanceof Error) {
      this.ctx.jobMessage('error', `pgsql: cannot create a database for ${target} at ${describeTarget(conn)}: ${prepared.message}`, { path: entry.path, code: 'CAIRN_E_PGSQL_RESTORE_FAILED' });
      return 'skip';
    }
    if (prepared.dropped === null) {
      this.ctx.jobMessage('warning', `pgsql: database ${target} exists at ${describeTarget(conn)} and replace is ${this.replace}; not restored`, { path: entry.path, code: 'CAIRN_E_PGSQL_DB_EXISTS' });
      return 'skip';
    }
    if (prepared.dropped.length) {
      this.ctx.jobMessage('warning', `pgsql: ${target} created without its original ${prepared.dropped.join(', ')} (not available at ${describeTarget(conn)})`, { path: entry.path, code: 'CAIRN_E_PGSQL_TOOL_MESSAGE' });
    }
    const ownership = this.opts.restoreOwnership ? [] : ['--no-owner', '--no-privileges'];
    const run = startTool(tools.paths.pg_restore, [...args, `--dbname=${dbnameArg(temp)}`, '--single-transaction', ...ownership], { connection: conn, stdin: true, onLine, signal: this.ctx.signal });
    this.cur = { entry, kind: 'database', conn, server, target, temp, exists: prepared.exists, run, tool: `pg_restore (${tools.checked.text})`, failed: null };
    return 'extract';
  }

  /** Hands the chunk to the program's stdin and resolves once the pipe took all of it (the host reuses the chunk's memory after). */
  async write(entry: FileEntry, chunk: Uint8Array): Promise<void> {
    const c = this.cur;
    if (!c || !samePath(c.entry.path, entry.path) || c.failed || chunk.byteLength === 0) return;
    const stdin = c.run.stdin!;
    // The callback comes once the pipe took every byte, or with EPIPE once the program is gone.
    await new Promise<void>((resolve) => {
      stdin.write(chunk, (err) => {
        if (err) c.failed ??= `writing to it failed: ${err.message}`;
        resolve();
      });
    });
  }

  async end(entry: FileEntry, ok: boolean): Promise<void> {
    const c = this.cur;
    if (!c || !samePath(c.entry.path, entry.path)) return;
    this.cur = null;
    if (!ok) c.run.kill();
    else c.run.stdin!.end();
    const x = await c.run.exited;
    const good = ok && exitOk(x);
    if (c.kind === 'globals') {
      if (ok && !good) this.ctx.jobMessage('error', `pgsql: replaying the globals failed: ${exitText(c.tool, x, c.run.tail)}`, { path: entry.path, code: 'CAIRN_E_PGSQL_RESTORE_FAILED' });
      return;
    }
    const server = c.server;
    try {
      await withClient(c.conn, async (db) => {
        if (!good) {
          await dropDatabase(db, c.temp, server.versionNum);
          return;
        }
        if (c.exists) await dropDatabase(db, c.target, server.versionNum);
        await renameDatabase(db, c.temp, c.target);
      });
    } catch (err) {
      this.ctx.jobMessage('error', `pgsql: ${good ? `renaming ${c.temp} to ${c.target}` : `dropping the partial ${c.temp}`} failed: ${(err as Error).message}`, { path: entry.path, code: 'CAIRN_E_PGSQL_RESTORE_FAILED' });
      return;
    }
    if (ok && !good) {
      this.ctx.jobMessage('error', `pgsql: restoring ${c.target} failed (${exitText(c.tool, x, c.run.tail)}${c.failed ? `; ${c.failed}` : ''}); nothing was changed${c.exists ? `, ${c.target} is as it was` : ''}`, { path: entry.path, code: 'CAIRN_E_PGSQL_RESTORE_FAILED' });
    } else if (good) {
      this.ctx.jobMessage('info', `pgsql: restored ${c.target} at ${describeTarget(c.conn)}`, { path: entry.path });
    }
  }

  async close(): Promise<void> {
    if (this.cur) await this.end(this.cur.entry, false);
  }
}
