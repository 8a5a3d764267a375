/**
 * One backup job of the fs agent: checks the roots, wires walk → entry
 * selection (incremental merge) → read-ahead, and serves nextFile/readData
 * from it. Per-file problems become job warnings; only root problems fail
 * the job. Extended attributes (option `xattrs`, xattr-policy.ts) are read
 * by the walk, in the batched scan when the platform has it.
 */
import fs from 'node:fs';
import { CairnError, GlobSet, type AgentContext, type AgentState, type BackupJob, type DataChunk, type EndBackupResult, type FileEntry, type StreamDesc } from '../../plugin-api/index.js';

import { checkRoots, rootsState, type RootInfo } from './include-roots.js';
import { selectEntries } from './entry-selector.js';
import { streamFile } from './file-reader.js';
import { close, errnoCode } from './fs-calls.js';
import { fsOptions } from './manifest.js';
import { ReadAhead, type Prepared } from './read-ahead.js';
import { walkTree, type XattrRead } from './tree-walker.js';
import { XattrReporter, isUnsupported, xattrSelection, xattrsUnavailable } from './xattr-policy.js';

export interface BackupCounters {
  files: number;
  dirs: number;
  bytes: number;
  deleted: number;
  warnings: number;
}

export class BackupSession {
  private roots: RootInfo[] = [];
  private readAhead: ReadAhead | null = null;
  private current: Prepared | null = null;
  private ended = false;
  readonly counters: BackupCounters = { files: 0, dirs: 0, bytes: 0, deleted: 0, warnings: 0 };

  constructor(
    private readonly ctx: AgentContext,
    private readonly job: BackupJob,
  ) {}

  private readonly warn = (text: string, path: Buffer, code: string): void => {
    this.counters.warnings++;
    this.ctx.jobMessage('warning', text, { path, code });
  };

  async prepare(): Promise<void> {
    const opts = fsOptions(this.job.options);
    this.roots = await checkRoots(this.job.include, this.job.state);
    const exclude = new GlobSet(this.job.exclude);
    // The platform's batched calls (native, off the event loop) when it has them; else node:fs (syncIo or async).
    const platform = this.ctx.platform;
    const batch = platform.available.batch === true && platform.scanDirectory !== undefined && platform.readFiles !== undefined;
    const xattrReport = new XattrReporter(this.ctx, 'backed up', () => this.counters.warnings++);
    const unavailable = opts.xattrs ? xattrsUnavailable(this.ctx) : null;
    if (unavailable !== null) xattrReport.hostCannot(unavailable);
    const select = opts.xattrs && unavailable === null ? xattrSelection() : undefined;
    const readXattrs = (p: Buffer): Promise<XattrRead> =>
      platform.readXattrs!(p, select).then(
        (xattrs) => ({ xattrs }),
        (err: unknown) => ({ xattrErrno: errnoCode(err) ?? String(err) }),
      );
    const walk = walkTree({
      roots: this.roots.map((r) => ({ path: r.path, stat: r.stat })),
      exclude,
      oneFileSystem: opts.oneFileSystem,
      syncIo: opts.syncIo,
      scanDirectory: batch ? (select ? (dir) => platform.scanDirectory!(dir, { xattrs: select }) : (dir) => platform.scanDirectory!(dir)) : undefined,
      xattrs: select ? { scanned: batch, read: readXattrs } : undefined,
      signal: this.ctx.signal,
      warn: this.warn,
    });
    const base = this.job.level !== 'full' && this.job.base ? this.job.base.files() : undefined;
    const readLink = (p: Buffer): Promise<Buffer | null> =>
      new Promise((resolve) =>
        fs.readlink(p, { encoding: 'buffer' }, (err, target) => {
          if (!err) return resolve(target);
          this.warn(`symlink could not be read (${errnoCode(err) ?? String(err)})`, p, errnoCode(err) === 'ENOENT' ? 'CAIRN_E_FS_VANISHED' : 'CAIRN_E_FS_UNREADABLE');
          resolve(null);
        }),
      );
    const xattrProblem = (p: Buffer, errno: string): void => {
      if (isUnsupported(errno)) xattrReport.filesystemCannot(p, errno);
      else if (errno !== 'ENOENT') xattrReport.fileFailed(p, errno, 'extended attributes could not be read; backed up without them');
    };
    const selected = selectEntries(walk, { roots: this.roots.map((r) => r.path), base, sparse: opts.sparse, xattrProblem }, readLink);
    this.readAhead = new ReadAhead(selected, this.warn, {
      syncIo: opts.syncIo,
      readFiles: batch ? (files, o) => platform.readFiles!(files, o) : undefined,
    });
  }

  async nextFile(): Promise<FileEntry | null> {
    await this.release();
    if (this.ended || !this.readAhead) return null;
    const p = await this.readAhead.next();
    if (p === null) {
      this.ended = true;
      return null;
    }
    this.current = p;
    const kind = p.entry.kind;
    if (kind === 'deleted') this.counters.deleted++;
    else if (kind === 'dir') this.counters.dirs++;
    else this.counters.files++;
    this.ctx.progress.file(p.entry.path);
    return p.entry;
  }

  readData(file: FileEntry, stream: StreamDesc): AsyncIterable<DataChunk> | Iterable<DataChunk> {
    const cur = this.current;
    if (!cur || !(cur.entry === file || Buffer.compare(cur.entry.path, file.path) === 0) || stream.index !== 0) {
      throw new CairnError('CAIRN_E_FS_CALL_ORDER', 'readData was called for a file or stream that is not the one nextFile returned last', {
        stream: stream.index,
      });
    }
    const onBytes = (n: number): void => {
      this.counters.bytes += n;
      this.ctx.progress.bytes(n);
    };
    if (cur.fd !== undefined) {
      const fd = cur.fd;
      cur.fd = undefined;
      const path = cur.entry.path;
      // API 1.2 hosts recycle the memory chunks are read into (it saves fresh memory per MiB read).
      const api = this.ctx.api;
      const alloc = api.major === 1 && api.minor >= 2 ? (size: number) => this.ctx.chunkBuffer(size) : undefined;
      return streamFile(
        fd,
        cur.stat!,
        stream.layout === 'sparse',
        this.ctx.platform,
        this.ctx.signal,
        { bytes: onBytes, problem: (code, text) => this.warn(text, path as Buffer, code) },
        alloc,
      );
    }
    const data = cur.data;
    cur.data = undefined;
    // A small file was read ahead: its bytes are in memory, handed over as an array (API 1.1).
    if (!data || data.length === 0) return [];
    onBytes(data.length);
    return [data];
  }

  async end(): Promise<EndBackupResult> {
    await this.release();
    await this.readAhead?.drain();
    this.ended = true;
    const state: AgentState = { format: 1, roots: rootsState(this.roots) as unknown as AgentState, counters: { ...this.counters } };
    return { state };
  }

  /** Closes the previous entry's descriptor when the host did not stream it. */
  private async release(): Promise<void> {
    const cur = this.current;
    this.current = null;
    if (cur?.fd !== undefined) {
      const fd = cur.fd;
      cur.fd = undefined;
      await close(fd);
    }
  }
}
