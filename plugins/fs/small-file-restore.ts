/**
 * Small regular files of a restore, written whole off the hook path.
 * createFile (after the path checks and the replace decision) registers a
 * file whose one sequential stream is small; writeData copies its chunks into
 * one buffer; endFile(ok) queues the complete write — temp name beside the
 * target (O_CREAT|O_EXCL|O_NOFOLLOW), write, fchown, fchmod, close, times,
 * rename into place — and returns once it is queued. A file whose endFile got
 * ok=false is dropped: nothing of it was ever on disk. A deferred failure is
 * an error job message naming the path, and its temp file is removed.
 * Whatever needs a queued file to exist (a later hard link to it, the same
 * path again, directory attributes at the end) waits with settled()/drain().
 * When the platform offers native batched writeFiles (available.batch), the
 * queued files go to it in groups (small-file-write-batch.ts: one pool job
 * per group, the same steps and the same ownership and mode results);
 * otherwise each file is its own chain of node:fs calls on the work queue.
 * A file with extended attributes always takes the per-file chain, which
 * sets them on the temp name after the mode and before the times.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import type { AgentContext, FileEntry } from '../../plugin-api/index.js';
import { close, open, writeAll } from './fs-calls.js';
import { CREATE_FLAGS, type RestoreTarget, type Target } from './restore-target.js';
import { WorkQueue } from './write-queue.js';
import { SmallFileWriteBatcher, type WriteResult } from './small-file-write-batch.js';
import type { XattrRestorer } from './xattr-restore.js';

/** Declared stream size up to which a file is collected in memory and written whole. */
export const SMALL_RESTORE_LIMIT = 256 * 1024;
/** Small files being written at once. */
export const WRITES_IN_FLIGHT = 32;
/** Bytes the queued small files may hold at once. */
export const BYTES_IN_FLIGHT = 32 * 1024 * 1024;
/** A "small" file whose data outgrows this (it grew during the backup) goes back to the streaming path. */
const COLLECT_LIMIT = 4 * SMALL_RESTORE_LIMIT;

/** A small file whose chunks are being collected. */
export interface Collected {
  readonly entry: FileEntry;
  readonly target: Target;
  buf: Buffer;
  len: number;
  /** fchown needed (root restoring ownership, and a new file would not get the owner anyway). */
  readonly chown: boolean;
  /** Mode the temp file is created with; fchmod follows unless it already is the final one. */
  readonly createMode: number;
  readonly chmod: boolean;
}

/** The step a failed writeFiles syscall belongs to, in the words of the per-file path's messages. */
const BATCH_STEPS: Readonly<Record<string, string>> = {
  open: 'creating the file',
  write: 'writing',
  fchown: 'setting attributes',
  fchmod: 'setting attributes',
  futimens: 'setting attributes',
  close: 'setting attributes',
  rename: 'renaming into place',
};

export type Report = (err: unknown, path: Uint8Array, what: string) => void;

function fcall(fn: (cb: (err: NodeJS.ErrnoException | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
}

export class SmallFileRestorer {
  private readonly collecting = new Map<string, Collected>();
  private readonly writing = new Map<string, Promise<void>>();
  private readonly queue: WorkQueue;
  /** The batched path (native writeFiles), or null: the per-file queue. */
  private readonly batcher: SmallFileWriteBatcher | null;
  /** Result handling of batched files not yet finished. */
  private readonly finishing = new Set<Promise<void>>();
  private readonly umask = process.umask();
  private readonly euid = process.geteuid?.() ?? -1;

  constructor(
    private readonly ctx: AgentContext,
    private readonly target: RestoreTarget,
    private readonly ownership: boolean,
    private readonly report: Report,
    /** Called when a file with nlink > 1 is in place (hard links may point at it). */
    private readonly placed: (k: string, target: Buffer) => void,
    private readonly xattrs?: XattrRestorer,
  ) {
    this.queue = new WorkQueue(WRITES_IN_FLIGHT, BYTES_IN_FLIGHT, (err) => this.ctx.log.error('small-file write crashed', { err: String(err) }));
    const p = ctx.platform;
    this.batcher = p.available.batch === true && p.writeFiles !== undefined ? new SmallFileWriteBatcher((files) => p.writeFiles!(files)) : null;
  }

  /** Whether the entry's data is small enough to collect and write whole. */
  static fits(entry: FileEntry): boolean {
    const s = entry.streams;
    if (s.length === 0) return true;
    if (s.length > 1 || s[0].layout !== 'sequential') return false;
    return (s[0].size ?? entry.stat.size) <= SMALL_RESTORE_LIMIT;
  }

  /**
   * Starts collecting a file. `freshGid` is the gid a new file in its
   * directory gets when this restore created that directory (see
   * RestoreTarget.freshGid): then a file already owned right needs no fchown.
   * A plain mode (no setuid/setgid/sticky, no group/other write, nothing the
   * umask would take away) is given at creation instead of by fchmod.
   */
  begin(k: string, entry: FileEntry, target: Target, freshGid: number | undefined): void {
    const declared = entry.streams[0]?.size ?? entry.stat.size;
    const perm = entry.stat.mode & 0o7777;
    const chown = this.ownership && !(entry.stat.uid === this.euid && freshGid !== undefined && entry.stat.gid === freshGid);
    const plain = (perm & 0o7022) === 0 && (perm & this.umask) === 0;
    this.collecting.set(k, {
      entry,
      target,
      buf: Buffer.allocUnsafe(Math.max(0, Math.min(declared, SMALL_RESTORE_LIMIT))),
      len: 0,
      chown,
      createMode: plain ? perm : 0o600,
      chmod: !plain,
    });
  }

  has(k: string): boolean {
    return this.collecting.has(k);
  }

  /**
   * Copies one sequential chunk (the host's chunk is ours only until the
   * hook returns). Returns the collected file, no longer tracked here, when
   * it outgrew COLLECT_LIMIT: the caller streams it from then on.
   */
  append(k: string, chunk: Uint8Array): Collected | undefined {
    const c = this.collecting.get(k);
    if (!c) return undefined;
    const end = c.len + chunk.byteLength;
    if (end > c.buf.length) {
      if (end > COLLECT_LIMIT) {
        this.collecting.delete(k);
        return c;
      }
      const grown = Buffer.allocUnsafe(Math.min(COLLECT_LIMIT, Math.max(end, 2 * c.buf.length)));
      c.buf.copy(grown, 0, 0, c.len);
      c.buf = grown;
    }
    c.buf.set(chunk, c.len);
    c.len = end;
    return undefined;
  }

  /** Hands a collected file back (sparse data arrived for it): the caller streams it. */
  take(k: string): Collected | undefined {
    const c = this.collecting.get(k);
    this.collecting.delete(k);
    return c;
  }

  /** endFile for a collected file: drops it (ok false) or queues its write, waiting only while the queue is full. */
  async end(k: string, ok: boolean): Promise<void> {
    const c = this.collecting.get(k);
    if (!c) return;
    this.collecting.delete(k);
    if (!ok) {
      this.ctx.jobMessage('warning', 'file not restored: its data did not arrive completely', { path: c.entry.path, code: 'CAIRN_E_FS_RESTORE_FAILED' });
      return;
    }
    await this.settled(k);
    const batcher = this.xattrs?.wants(c.entry) ? null : this.batcher;
    const { done } = batcher ? await this.addBatched(batcher, k, c) : await this.queue.add(c.len, () => this.write(k, c));
    this.writing.set(k, done);
    void done.then(() => {
      if (this.writing.get(k) === done) this.writing.delete(k);
    });
  }

  /** Waits until a queued write of the entry path `k` (if any) has finished. */
  async settled(k: string): Promise<void> {
    const p = this.writing.get(k);
    if (p) await p;
  }

  /** Waits for every queued write; collected files that never got endFile are dropped. */
  async drain(): Promise<void> {
    this.collecting.clear();
    await this.queue.drain();
    if (this.batcher) await this.batcher.drain();
    while (this.finishing.size > 0) await Promise.all([...this.finishing]);
  }

  /** Queues a collected file on the batcher; `done` settles when its result has been handled. */
  private async addBatched(batcher: SmallFileWriteBatcher, k: string, c: Collected): Promise<{ done: Promise<void> }> {
    const { entry, target } = c;
    const tmp = this.target.tempPath(target);
    const { result } = await batcher.add({
      temp: tmp,
      final: target.path,
      data: c.buf.subarray(0, c.len),
      mode: entry.stat.mode & 0o7777,
      uid: entry.stat.uid,
      gid: entry.stat.gid,
      chown: c.chown,
      atimeNs: entry.stat.atimeNs,
      mtimeNs: entry.stat.mtimeNs,
    });
    const done = result
      .then((r) => this.finishBatched(k, c, tmp, r))
      .catch((err: unknown) => this.ctx.log.error('small-file write crashed', { err: String(err) }))
      .finally(() => this.finishing.delete(done));
    this.finishing.add(done);
    return { done };
  }

  private async finishBatched(k: string, c: Collected, tmp: Buffer, r: WriteResult | Error): Promise<void> {
    if (r instanceof Error) {
      // The whole call failed (not a per-file errno): make sure nothing of this file is left.
      await fsp.unlink(tmp).catch(() => undefined);
      this.report(r, c.entry.path, 'writing the file (deferred batched write)');
      return;
    }
    if (r.ok) {
      if (c.entry.stat.nlink > 1) this.placed(k, c.target.path);
      return;
    }
    // writeFiles removed the temp name already.
    const err = Object.assign(new Error(`${r.syscall} failed: ${r.errno}`), { code: r.errno, syscall: r.syscall });
    this.report(err, c.entry.path, `${BATCH_STEPS[r.syscall] ?? r.syscall} (deferred write)`);
  }

  private async write(k: string, c: Collected): Promise<void> {
    const { entry, target } = c;
    const tmp = this.target.tempPath(target);
    let fd = -1;
    let step = 'creating the file';
    try {
      fd = await open(tmp, CREATE_FLAGS, c.createMode);
      step = 'writing';
      await writeAll(fd, c.buf.subarray(0, c.len), 0);
      step = 'setting attributes';
      if (c.chown) await fcall((cb) => fs.fchown(fd, entry.stat.uid, entry.stat.gid, cb));
      // chmod after chown: chown clears setuid/setgid.
      if (c.chmod) await fcall((cb) => fs.fchmod(fd, entry.stat.mode & 0o7777, cb));
      await this.xattrs?.apply(tmp, entry);
      const closing = fd;
      fd = -1;
      await fcall((cb) => fs.close(closing, cb));
      // Times on the temp name: rename keeps them, and the file appears complete.
      await this.ctx.platform.setTimes(tmp, entry.stat.atimeNs, entry.stat.mtimeNs, false);
      step = 'renaming into place';
      await fsp.rename(tmp, target.path);
      if (entry.stat.nlink > 1) this.placed(k, target.path);
    } catch (err) {
      if (fd >= 0) await close(fd);
      if (step !== 'creating the file') await fsp.unlink(tmp).catch(() => undefined);
      this.report(err, entry.path, `${step} (deferred write)`);
    }
  }
}
