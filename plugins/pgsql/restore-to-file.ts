/**
 * Restore as files: each entry becomes a file under the restore folder at
 * its virtual path (WHERE/@pgsql/<cluster>/databases/<name>.dump, a custom
 * format archive pg_restore reads; WHERE/@pgsql/<cluster>/cluster-globals.sql,
 * a psql script). Written to a temporary name (mode 0600: a dump holds the
 * data), synced, then renamed into place; a failed entry leaves nothing.
 * Never through a symlink: the folders below WHERE are checked with lstat and
 * the file is opened exclusively.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { displayPath, type AgentContext, type CreateResult, type FileEntry, type ReplacePolicy } from '../../plugin-api/index.js';
import { parsePath, samePath } from './virtual-paths.js';

interface OpenDump {
  entry: FileEntry;
  final: string;
  temp: string;
  fh: FileHandle;
  failed: string | null;
}

export class DumpFileWriter {
  private cur: OpenDump | null = null;

  constructor(private readonly ctx: AgentContext, private readonly where: string, private readonly replace: ReplacePolicy) {
    // A cancelled restore may never reach endFile: the partial file goes all the same.
    ctx.signal.addEventListener('abort', () => void this.close().catch(() => undefined), { once: true });
  }

  async create(entry: FileEntry): Promise<CreateResult> {
    const shown = displayPath(entry.path);
    if (!parsePath(entry.path)) {
      this.ctx.jobMessage('error', `pgsql: ${shown} is not a pgsql virtual path; not restored`, { path: entry.path, code: 'CAIRN_E_PGSQL_RESTORE_FAILED' });
      return 'skip';
    }
    const rel = Buffer.from(entry.path).toString('utf8').replace(/^\/+/, '');
    const final = join(this.where, rel);
    try {
      await this.makeDirs(dirname(final));
      const existing = await lstat(final).catch(() => null);
      if (existing && !this.replaces(existing.mtimeMs, entry)) {
        this.ctx.jobMessage('warning', `pgsql: ${final} exists and replace is ${this.replace}; not written`, { path: entry.path, code: 'CAIRN_E_PGSQL_DB_EXISTS' });
        return 'skip';
      }
      const temp = join(dirname(final), `.${randomBytes(6).toString('hex')}.cairn-part`);
      const fh = await open(temp, 'wx', 0o600);
      this.cur = { entry, final, temp, fh, failed: null };
      return 'extract';
    } catch (err) {
      this.ctx.jobMessage('error', `pgsql: cannot write ${final}: ${(err as Error).message}`, { path: entry.path, code: 'CAIRN_E_PGSQL_RESTORE_FAILED' });
      return 'skip';
    }
  }

  private replaces(existingMtimeMs: number, entry: FileEntry): boolean {
    const backedUp = Number(entry.stat.mtimeNs / 1_000_000n);
    if (this.replace === 'always') return true;
    if (this.replace === 'ifnewer') return backedUp > existingMtimeMs;
    if (this.replace === 'ifolder') return backedUp < existingMtimeMs;
    return false;
  }

  /** mkdir -p below `where`, refusing a component that is a symlink or not a directory. */
  private async makeDirs(dir: string): Promise<void> {
    const rel = dir.slice(this.where.length).split('/').filter(Boolean);
    let at = this.where;
    await mkdir(at, { recursive: true });
    for (const part of rel) {
      at = join(at, part);
      const st = await lstat(at).catch(() => null);
      if (!st) await mkdir(at, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => (err.code === 'EEXIST' ? undefined : Promise.reject(err)));
      else if (!st.isDirectory()) throw new Error(`${at} is not a directory (a symlink or a file is in the way)`);
    }
    const st = await lstat(at);
    if (!st.isDirectory()) throw new Error(`${at} is not a directory`);
  }

  async write(entry: FileEntry, chunk: Uint8Array): Promise<void> {
    const c = this.cur;
    if (!c || !samePath(c.entry.path, entry.path) || c.failed) return;
    try {
      let at = 0;
      while (at < chunk.byteLength) at += (await c.fh.write(chunk, at, chunk.byteLength - at)).bytesWritten;
    } catch (err) {
      c.failed = (err as Error).message;
    }
  }

  async end(entry: FileEntry, ok: boolean): Promise<void> {
    const c = this.cur;
    if (!c || !samePath(c.entry.path, entry.path)) return;
    this.cur = null;
    try {
      if (ok && !c.failed) await c.fh.sync();
    } catch (err) {
      c.failed = (err as Error).message;
    }
    await c.fh.close().catch(() => undefined);
    if (ok && !c.failed) {
      try {
        await rename(c.temp, c.final);
        return;
      } catch (err) {
        c.failed = (err as Error).message;
      }
    }
    await unlink(c.temp).catch(() => undefined);
    if (c.failed) this.ctx.jobMessage('error', `pgsql: writing ${c.final} failed: ${c.failed}`, { path: entry.path, code: 'CAIRN_E_PGSQL_RESTORE_FAILED' });
  }

  async close(): Promise<void> {
    if (this.cur) await this.end(this.cur.entry, false);
  }
}
