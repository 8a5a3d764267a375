/**
 * One pgsql backup: connect, check the server and tool versions, pick the
 * databases, then per entry a running pg_dumpall (globals) or pg_dump
 * (custom format) whose stdout is the entry's one stream, read in 1 MiB
 * chunks straight into the host's chunk buffers — nothing is staged on
 * disk, and the stream's length is not known in advance (no `size`).
 *
 * A program's stderr goes to the job log line by line. A dump that fails
 * before its first byte is not stored (error message, next database); one
 * that fails after it is stored cut short and the error message names it.
 */
import {
  CairnError,
  type AgentContext,
  type AgentState,
  type BackupJob,
  type DataChunk,
  type EndBackupResult,
  type FileEntry,
  type StreamDesc,
} from '../../plugin-api/index.js';
import { pgsqlOptions, type PgsqlOptions } from './manifest.js';
import { defaultHost, describeTarget, listDatabases, serverInfo, withClient, type DatabaseInfo, type ServerInfo } from './server.js';
import { findTools, majorLabel, type ToolSet } from './tools.js';
import { connectionArgs, dbnameArg, exitOk, exitText, startTool, type ToolRun } from './tool-process.js';
import { selectDatabases } from './database-selection.js';
import { clusterPrefix, databasePath, globalsPath, parsePath, samePath, DATABASES_DIR } from './virtual-paths.js';
import { PGSQL_FORMAT, type PgsqlMeta } from './meta.js';

/** Bytes per chunk handed to the host: large enough to amortise a record and a compression task, small enough for the 1 MiB rule. */
export const DUMP_CHUNK_BYTES = 1 << 20;

type Item = { kind: 'globals' } | { kind: 'database'; db: DatabaseInfo };

interface Current {
  entry: FileEntry;
  run: ToolRun;
  tool: string;
  it: AsyncIterator<Buffer>;
  first: Buffer | null;
  done: boolean;
}

export class PgsqlBackup {
  private opts!: PgsqlOptions;
  private server!: ServerInfo;
  private tools!: ToolSet;
  private queue: Item[] = [];
  private current: Current | null = null;
  private deletions: Uint8Array[] = [];
  private stored: string[] = [];
  private ino = 0n;
  private ended = false;

  constructor(private readonly ctx: AgentContext) {}

  async prepare(job: BackupJob): Promise<void> {
    const o = (this.opts = pgsqlOptions(job.options));
    o.connection.host ??= defaultHost(o.connection.port);
    if (job.level !== 'full') {
      this.ctx.jobMessage('info', `pgsql: a logical dump has no ${job.level} form; this ${job.level} job dumps every selected database in full`, { code: 'CAIRN_E_PGSQL_LEVEL_FULL' });
    }
    const { server, all } = await withClient(o.connection, async (c) => ({ server: await serverInfo(c), all: await listDatabases(c) }));
    this.server = server;
    const target = describeTarget(o.connection);
    this.tools = await findTools({
      binDir: o.binDir,
      need: o.globals ? ['pg_dump', 'pg_dumpall'] : ['pg_dump'],
      check: 'pg_dump',
      minNum: server.versionNum,
      why: `the server at ${target} (${server.banner.split(' on ')[0]})`,
      signal: this.ctx.signal,
    });
    this.ctx.log.info('pgsql: tools chosen', { dir: this.tools.dir, pgDump: this.tools.checked.text, server: server.versionNum });
    const sel = selectDatabases(all, { include: o.includeDatabases, exclude: o.excludeDatabases, templates: o.templates });
    for (const s of sel.skipped) this.ctx.jobMessage('info', `pgsql: database ${s.name} not backed up: ${s.why}`);
    // includeDatabases: [] with globals is a globals-only job; otherwise patterns that select nothing fail the job.
    if (sel.selected.length === 0 && !(o.includeDatabases.length === 0 && o.globals)) {
      throw new CairnError(
        'CAIRN_E_PGSQL_NO_DATABASE',
        `pgsql: no database of the cluster at ${target} matches includeDatabases ${JSON.stringify(o.includeDatabases)} minus excludeDatabases ${JSON.stringify(o.excludeDatabases)} (databases: ${all.map((d) => d.name).join(', ')})`,
        { include: o.includeDatabases, exclude: o.excludeDatabases, databases: all.map((d) => d.name) },
      );
    }
    // Tree order: the globals, then databases by the bytes of their path.
    const dbs = [...sel.selected].sort((a, b) => Buffer.compare(databasePath(o.cluster, a.name), databasePath(o.cluster, b.name)));
    this.queue = [...(o.globals ? [{ kind: 'globals' } as Item] : []), ...dbs.map((db): Item => ({ kind: 'database', db }))];
    if (job.base) await this.findDropped(job, all);
  }

  /** Databases in the base job that no longer exist and that the patterns would still select: deleted since. */
  private async findDropped(job: BackupJob, all: readonly DatabaseInfo[]): Promise<void> {
    const names = new Set(all.map((d) => d.name));
    const dirPrefix = Buffer.from(`${clusterPrefix(this.opts.cluster)}${DATABASES_DIR}/`, 'utf8');
    for await (const f of job.base!.files()) {
      if (f.kind === 'deleted') continue;
      const p = Buffer.from(f.path);
      if (p.length <= dirPrefix.length || !p.subarray(0, dirPrefix.length).equals(dirPrefix)) continue;
      const parsed = parsePath(p);
      if (!parsed || parsed.kind !== 'database' || names.has(parsed.database)) continue;
      const fake: DatabaseInfo = { name: parsed.database, owner: '', encoding: '', collate: '', ctype: '', isTemplate: false, allowConnections: true };
      if (selectDatabases([fake], { include: this.opts.includeDatabases, exclude: this.opts.excludeDatabases, templates: true }).selected.length) this.deletions.push(p);
    }
  }

  async next(): Promise<FileEntry | null> {
    this.abandon();
    while (!this.ended) {
      const item = this.queue.shift();
      if (!item) {
        this.ended = true;
        break;
      }
      const c = this.start(item);
      let step: IteratorResult<Buffer>;
      try {
        step = await c.it.next();
      } catch {
        step = { done: true, value: undefined };
      }
      if (step.done) {
        const x = await c.run.exited;
        if (!exitOk(x)) {
          this.ctx.jobMessage('error', `pgsql: ${exitText(c.tool, x, c.run.tail)}; not stored`, { path: c.entry.path, code: 'CAIRN_E_PGSQL_DUMP_FAILED' });
          continue;
        }
        c.done = true;
      } else c.first = step.value;
      this.current = c;
      this.stored.push(item.kind === 'globals' ? '(globals)' : item.db.name);
      this.ctx.progress.file(c.entry.path);
      return c.entry;
    }
    return null;
  }

  private start(item: Item): Current {
    const o = this.opts;
    const conn = connectionArgs(o.connection);
    let tool: string;
    let args: string[];
    let path: Buffer;
    if (item.kind === 'globals') {
      tool = 'pg_dumpall';
      args = [...conn, `--database=${o.connection.maintenanceDb}`, '--globals-only'];
      path = globalsPath(o.cluster);
    } else {
      tool = 'pg_dump';
      args = [...conn, '--format=custom', `--compress=${o.dumpCompression}`, `--dbname=${dbnameArg(item.db.name)}`];
      path = databasePath(o.cluster, item.db.name);
    }
    const run = startTool(this.tools.paths[tool as 'pg_dump' | 'pg_dumpall'], args, {
      connection: o.connection,
      stdout: true,
      signal: this.ctx.signal,
      onLine: (line) => this.stderrLine(path, line),
    });
    const meta: PgsqlMeta = {
      format: PGSQL_FORMAT,
      kind: item.kind,
      cluster: o.cluster,
      serverVersionNum: this.server.versionNum,
      dumpVersionNum: this.tools.checked.num,
      dumpVersion: this.tools.checked.text,
      connection: { host: o.connection.host, port: o.connection.port, user: o.connection.user, maintenanceDb: o.connection.maintenanceDb },
      ...(item.kind === 'database'
        ? { database: { name: item.db.name, owner: item.db.owner, encoding: item.db.encoding, collate: item.db.collate, ctype: item.db.ctype, localeProvider: item.db.localeProvider, locale: item.db.locale } }
        : {}),
    };
    const now = BigInt(Date.now()) * 1_000_000n;
    const entry: FileEntry = {
      path,
      kind: 'file',
      stat: { mode: 0o100600, uid: 0, gid: 0, size: 0, mtimeNs: now, atimeNs: now, ctimeNs: now, dev: 0n, ino: ++this.ino, nlink: 1, rdev: 0 },
      streams: [{ index: 0, name: item.kind === 'globals' ? 'globals.sql' : 'dump', layout: 'sequential' }],
      meta: JSON.parse(JSON.stringify(meta)) as Record<string, unknown>,
    };
    return { entry, run, tool: `${tool} (${majorLabel(this.tools.checked.num)})`, it: run.stdout![Symbol.asyncIterator]() as AsyncIterator<Buffer>, first: null, done: false };
  }

  private stderrLine(path: Uint8Array, line: string): void {
    const level = /\b(warning|WARNING|NOTICE)\b/.test(line) ? 'warning' : 'info';
    this.ctx.jobMessage(level, `pgsql: ${line}`, level === 'warning' ? { path, code: 'CAIRN_E_PGSQL_TOOL_MESSAGE' } : { path });
  }

  async *read(file: FileEntry, _stream: StreamDesc): AsyncGenerator<DataChunk> {
    const c = this.current;
    if (!c || !samePath(c.entry.path, file.path)) throw new CairnError('CAIRN_E_PGSQL_CALL_ORDER', 'pgsql: readData for an entry that is not the current one', { path: Buffer.from(file.path).toString('utf8') });
    const ctx = this.ctx;
    let buf = ctx.chunkBuffer(DUMP_CHUNK_BYTES);
    let filled = 0;
    try {
      const take = function* (piece: Buffer): Generator<Buffer> {
        let at = 0;
        while (at < piece.length) {
          const n = Math.min(piece.length - at, buf.length - filled);
          piece.copy(buf, filled, at, at + n);
          filled += n;
          at += n;
          if (filled === buf.length) {
            yield buf;
            buf = ctx.chunkBuffer(DUMP_CHUNK_BYTES);
            filled = 0;
          }
        }
      };
      if (c.first) yield* take(c.first);
      c.first = null;
      if (!c.done) {
        for (;;) {
          const step = await c.it.next();
          if (step.done) break;
          yield* take(step.value);
        }
      }
      if (filled > 0) yield buf.subarray(0, filled);
      c.done = true;
      const x = await c.run.exited;
      if (!exitOk(x)) {
        this.ctx.jobMessage('error', `pgsql: ${exitText(c.tool, x, c.run.tail)}; the stored copy is incomplete`, { path: file.path, code: 'CAIRN_E_PGSQL_DUMP_FAILED' });
      }
    } finally {
      if (!c.done) c.run.kill(); // the host stopped reading (abort, failure elsewhere)
      this.current = null;
    }
  }

  /** Stops a dump nobody will read any more (the job ended early). */
  stopAll(): void {
    this.abandon();
    this.queue = [];
  }

  /** A dump still running when the host moves on (it did not read the stream) is stopped. */
  private abandon(): void {
    if (this.current && !this.current.done) this.current.run.kill();
    this.current = null;
  }

  async end(): Promise<EndBackupResult> {
    this.abandon();
    this.queue = [];
    const state: AgentState = { cluster: this.opts.cluster, serverVersionNum: this.server.versionNum, pgDump: this.tools.checked.text, stored: this.stored };
    return { state, deletions: this.deletions };
  }
}
