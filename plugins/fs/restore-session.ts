/**
 * One restore job of the fs agent. Regular files are written to a temporary
 * name beside their target (`.<name>.cairn-tmp-<random>`, O_EXCL|O_NOFOLLOW)
 * and renamed into place by endFile only when every stream arrived; a failed
 * file leaves nothing under its real name. Small files are collected in
 * memory and written whole on a bounded queue (small-file-restore.ts);
 * large ones stream to their temp file chunk by chunk. Directories are
 * created at once and get their mode, owner and times in endRestore, deepest
 * first, after the queue drained. Extended attributes (xattr-restore.ts)
 * are set after a file's data, owner and mode and before its times (for a
 * directory: in endRestore, with its times). Per-file problems are job
 * messages; the restore goes on.
 */
import fsp from 'node:fs/promises';
import fs from 'node:fs';
import { isCairnError, isSparseChunk, type AgentContext, type CreateResult, type DataChunk, type FileEntry, type ReplacePolicy, type RestoreJob, type StreamDesc } from '../../plugin-api/index.js';
import { close, errnoCode, open, writeAll } from './fs-calls.js';
import { fsOptions } from './manifest.js';
import { CREATE_FLAGS, RestoreTarget, type Target } from './restore-target.js';
import { treeCompare } from './entry-selector.js';
import { SmallFileRestorer, type Collected } from './small-file-restore.js';
import { WriteBehind, type BehindFile } from './write-behind.js';
import { XattrRestorer } from './xattr-restore.js';

/** Bytes of streamed-file writes in flight (write-behind.ts): a few chunks, so the next write is always queued. */
const WRITE_BEHIND_BYTES = 4 << 20;
/** Size of the write-behind's reused buffers: the fs agent's backup chunk. */
const WRITE_BEHIND_BUFFER_BYTES = 1 << 20;

interface OpenFile {
  fd: number;
  /** Its writes in flight: waited for before the fd is closed. */
  writes: BehindFile;
  tmp: Buffer;
  target: Buffer;
  pos: number;
  failed: boolean;
}

function key(p: Uint8Array): string {
  return Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('latin1');
}

export class RestoreSession {
  private readonly target: RestoreTarget;
  private readonly open = new Map<string, OpenFile>();
  /** Restored first members of hard-link groups: entry path → target path. */
  private readonly linkTargets = new Map<string, Buffer>();
  private readonly dirs: Array<{ target: Buffer; entry: FileEntry }> = [];
  private readonly replace: ReplacePolicy;
  private readonly asRoot = process.getuid?.() === 0;
  private readonly ownership: boolean;
  /** The existence check of the replace decision is a synchronous lstat (fsOptions.syncIo; false for network filesystems). */
  private readonly syncIo: boolean;
  private readonly small: SmallFileRestorer;
  private readonly xattrs: XattrRestorer;
  private readonly behind = new WriteBehind(WRITE_BEHIND_BYTES, WRITE_BEHIND_BUFFER_BYTES);

  constructor(
    private readonly ctx: AgentContext,
    job: RestoreJob,
  ) {
    this.target = new RestoreTarget(job.where);
    this.replace = job.replace;
    const opts = fsOptions(job.options);
    this.ownership = opts.restoreOwnership && this.asRoot;
    this.syncIo = opts.syncIo;
    this.xattrs = new XattrRestorer(ctx, opts.xattrs);
    this.small = new SmallFileRestorer(ctx, this.target, this.ownership, (err, p, what) => this.fail(err, p, what), (k, target) => this.linkTargets.set(k, target), this.xattrs);
  }

  async prepare(): Promise<void> {
    await this.target.init();
  }

  private problem(level: 'warning' | 'error', text: string, path: Uint8Array, code: string): void {
    this.ctx.jobMessage(level, text, { path, code });
  }

  private fail(err: unknown, path: Uint8Array, what: string): void {
    if (isCairnError(err)) this.problem('error', err.message, path, err.code);
    else this.problem('error', `${what} failed (${errnoCode(err) ?? String(err)})`, path, 'CAIRN_E_FS_RESTORE_FAILED');
  }

  /** Whether an existing target may be replaced by the backed-up entry. */
  private async mayReplace(t: Target, entry: FileEntry): Promise<{ exists: boolean; ok: boolean; isDir: boolean }> {
    let st: fs.BigIntStats | undefined;
    if (this.syncIo) {
      // One cheap syscall (mostly a cached negative dentry): no pool round trip, no ENOENT exception.
      st = fs.lstatSync(t.path, { bigint: true, throwIfNoEntry: false });
    } else {
      try {
        st = await fsp.lstat(t.path, { bigint: true });
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
      }
    }
    if (!st) return { exists: false, ok: true, isDir: false };
    const isDir = st.isDirectory();
    const m = entry.stat.mtimeNs;
    const ok = this.replace === 'always' || (this.replace === 'ifnewer' && m > st.mtimeNs) || (this.replace === 'ifolder' && m < st.mtimeNs);
    return { exists: true, ok, isDir };
  }

  async createFile(entry: FileEntry): Promise<CreateResult> {
    try {
      // The same path again: its queued write decides what is there now.
      await this.small.settled(key(entry.path));
      const t = this.target.resolve(entry.path);
      if (t.name.length === 0) {
        if (entry.kind === 'dir') this.dirs.push({ target: t.path, entry });
        return 'created';
      }
      await this.target.ensureDir(t.parent, entry.path);
      switch (entry.kind) {
        case 'dir': return await this.createDir(t, entry);
        case 'file': return await this.createRegular(t, entry);
        case 'hardlink': return await this.createHardlink(t, entry);
        case 'socket':
          this.ctx.jobMessage('info', 'sockets are recorded but not restored (the program that owns one recreates it)', { path: entry.path, code: 'CAIRN_E_FS_NOT_RESTORED' });
          return 'skip';
        case 'deleted': return 'skip';
        default: return await this.createSpecial(t, entry);
      }
    } catch (err) {
      this.fail(err, entry.path, 'creating the file');
      return 'skip';
    }
  }

  /** Clears the way for a non-directory; false when the policy keeps what is there. */
  private async clear(t: Target, entry: FileEntry): Promise<boolean> {
    const r = await this.mayReplace(t, entry);
    if (!r.exists) return true;
    if (r.isDir) {
      this.problem('warning', 'a directory is in the way; not replaced', entry.path, 'CAIRN_E_FS_RESTORE_EXISTS');
      return false;
    }
    if (!r.ok) {
      this.ctx.jobMessage('info', `kept the existing file (replace=${this.replace})`, { path: entry.path, code: 'CAIRN_E_FS_RESTORE_EXISTS' });
      return false;
    }
    if (entry.kind !== 'file') await fsp.unlink(t.path);
    return true;
  }

  private async createDir(t: Target, entry: FileEntry): Promise<CreateResult> {
    const r = await this.mayReplace(t, entry);
    if (r.exists && !r.isDir) {
      if (this.replace !== 'always') {
        this.problem('warning', `a non-directory is in the way and replace=${this.replace}; directory not restored`, entry.path, 'CAIRN_E_FS_RESTORE_EXISTS');
        return 'skip';
      }
      await fsp.unlink(t.path);
    }
    if (!r.exists || !r.isDir) {
      await fsp.mkdir(t.path, 0o700);
      this.target.markFresh(t.path, await fsp.lstat(t.path));
    } else {
      const st = await fsp.lstat(t.path);
      if (!st.isDirectory()) throw new Error('directory was replaced during restore');
    }
    this.target.markDir(t.path);
    if (!r.exists || !r.isDir || r.ok) this.dirs.push({ target: t.path, entry });
    return 'created';
  }

  private async createRegular(t: Target, entry: FileEntry): Promise<CreateResult> {
    if (!(await this.clear(t, entry))) return 'skip';
    if (SmallFileRestorer.fits(entry)) {
      this.small.begin(key(entry.path), entry, t, this.target.freshGid(t.parent));
      return 'extract';
    }
    const tmp = this.target.tempPath(t);
    const fd = await open(tmp, CREATE_FLAGS, 0o600);
    this.open.set(key(entry.path), { fd, writes: this.behind.file(fd), tmp, target: t.path, pos: 0, failed: false });
    return 'extract';
  }

  /** A collected small file that turned out not to be small: on to the streaming path with what arrived so far. */
  private async spill(k: string, c: Collected): Promise<OpenFile> {
    const tmp = this.target.tempPath(c.target);
    const fd = await open(tmp, CREATE_FLAGS, 0o600);
    const f: OpenFile = { fd, writes: this.behind.file(fd), tmp, target: c.target.path, pos: 0, failed: false };
    this.open.set(k, f);
    try {
      await writeAll(fd, c.buf.subarray(0, c.len), 0);
      f.pos = c.len;
    } catch (err) {
      f.failed = true;
      throw err;
    }
    return f;
  }

  private async createHardlink(t: Target, entry: FileEntry): Promise<CreateResult> {
    if (entry.hardlinkTarget) await this.small.settled(key(entry.hardlinkTarget));
    const first = entry.hardlinkTarget ? this.linkTargets.get(key(entry.hardlinkTarget)) : undefined;
    if (!first) {
      this.problem(
        'warning',
        `hard link not restored: its first member ${entry.hardlinkTarget ? Buffer.from(entry.hardlinkTarget).toString('utf8') : '?'} was not restored in this run (select it too)`,
        entry.path,
        'CAIRN_E_FS_HARDLINK_TARGET_MISSING',
      );
      return 'skip';
    }
    if (!(await this.clear(t, entry))) return 'skip';
    if ((await this.mayReplace(t, entry)).exists) await fsp.unlink(t.path);
    await fsp.link(first, t.path);
    return 'created';
  }

  private async createSpecial(t: Target, entry: FileEntry): Promise<CreateResult> {
    if ((entry.kind === 'chardev' || entry.kind === 'blockdev') && !this.asRoot) {
      this.problem('warning', 'device nodes are restored only when running as root', entry.path, 'CAIRN_E_FS_NOT_RESTORED');
      return 'skip';
    }
    if (!(await this.clear(t, entry))) return 'skip';
    const perm = entry.stat.mode & 0o7777;
    if (entry.kind === 'symlink') {
      await fsp.symlink(Buffer.from(entry.linkTarget ?? new Uint8Array()), t.path);
      if (this.ownership) await fsp.lchown(t.path, entry.stat.uid, entry.stat.gid);
      await this.xattrs.apply(t.path, entry);
      await this.ctx.platform.setTimes(t.path, entry.stat.atimeNs, entry.stat.mtimeNs, false);
      return 'created';
    }
    if (entry.kind === 'fifo') await this.ctx.platform.mkfifo(t.path, perm);
    else await this.ctx.platform.mknod(t.path, entry.stat.mode, entry.stat.rdev);
    if (this.ownership) await fsp.lchown(t.path, entry.stat.uid, entry.stat.gid);
    await fsp.chmod(t.path, perm);
    await this.xattrs.apply(t.path, entry);
    await this.ctx.platform.setTimes(t.path, entry.stat.atimeNs, entry.stat.mtimeNs, false);
    return 'created';
  }

  async writeData(entry: FileEntry, stream: StreamDesc, chunk: DataChunk): Promise<void> {
    const k = key(entry.path);
    let f = this.open.get(k);
    if (!f && this.small.has(k)) {
      try {
        if (!isSparseChunk(chunk)) {
          const grown = this.small.append(k, chunk);
          if (!grown) return;
          f = await this.spill(k, grown);
        } else f = await this.spill(k, this.small.take(k)!);
      } catch (err) {
        this.fail(err, entry.path, `writing stream ${stream.index}`);
        return;
      }
    }
    if (!f || f.failed) return;
    try {
      if (isSparseChunk(chunk)) {
        await f.writes.write(chunk.data, chunk.offset);
      } else {
        await f.writes.write(chunk, f.pos);
        f.pos += chunk.byteLength;
      }
    } catch (err) {
      f.failed = true;
      this.fail(err, entry.path, `writing stream ${stream.index}`);
    }
  }

  async endFile(entry: FileEntry, ok: boolean): Promise<void> {
    const k = key(entry.path);
    if (this.small.has(k)) return this.small.end(k, ok);
    const f = this.open.get(k);
    if (!f) return;
    this.open.delete(k);
    if (ok && !f.failed) {
      try {
        await f.writes.end();
      } catch (err) {
        f.failed = true;
        this.fail(err, entry.path, 'writing the file');
      }
    }
    if (!ok || f.failed) {
      await f.writes.end().catch(() => undefined);
      await close(f.fd);
      await fsp.unlink(f.tmp).catch(() => undefined);
      if (!f.failed) this.problem('warning', 'file not restored: its data did not arrive completely', entry.path, 'CAIRN_E_FS_RESTORE_FAILED');
      return;
    }
    try {
      const stream = entry.streams[0];
      if (stream?.layout === 'sparse') await new Promise<void>((res, rej) => fs.ftruncate(f.fd, stream.size ?? entry.stat.size, (e) => (e ? rej(e) : res())));
      if (this.ownership) await new Promise<void>((res, rej) => fs.fchown(f.fd, entry.stat.uid, entry.stat.gid, (e) => (e ? rej(e) : res())));
      // chmod after chown: chown clears setuid/setgid.
      await new Promise<void>((res, rej) => fs.fchmod(f.fd, entry.stat.mode & 0o7777, (e) => (e ? rej(e) : res())));
      await this.xattrs.apply(f.tmp, entry);
      await close(f.fd);
      await fsp.rename(f.tmp, f.target);
      await this.ctx.platform.setTimes(f.target, entry.stat.atimeNs, entry.stat.mtimeNs, true);
      if (entry.stat.nlink > 1) this.linkTargets.set(k, f.target);
    } catch (err) {
      await close(f.fd);
      await fsp.unlink(f.tmp).catch(() => undefined);
      this.fail(err, entry.path, 'finishing the file');
    }
  }

  async end(): Promise<void> {
    await this.small.drain();
    for (const [k, f] of this.open) {
      this.open.delete(k);
      await f.writes.end().catch(() => undefined);
      await close(f.fd);
      await fsp.unlink(f.tmp).catch(() => undefined);
    }
    await this.behind.close();
    // Deepest first: a directory's times are set after everything inside it was written.
    this.dirs.sort((a, b) => treeCompare(b.target, a.target));
    for (const { target, entry } of this.dirs) {
      try {
        if (this.ownership) await fsp.lchown(target, entry.stat.uid, entry.stat.gid);
        await fsp.chmod(target, entry.stat.mode & 0o7777);
        await this.xattrs.apply(target, entry);
        await this.ctx.platform.setTimes(target, entry.stat.atimeNs, entry.stat.mtimeNs, false);
      } catch (err) {
        this.fail(err, entry.path, 'setting directory attributes');
      }
    }
    this.dirs.length = 0;
  }
}
