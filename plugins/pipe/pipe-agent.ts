/**
 * The pipe agent's hooks. Backup: one entry per configured virtual file;
 * readData runs its reader and streams the reader's stdout in chunks of up
 * to 1 MiB (chunk buffers of the host), so a program that writes a terabyte
 * is never held in memory; a non-zero exit fails the job
 * (CAIRN_E_PIPE_EXIT, with the program, the status and its last stderr
 * lines). Restore: createFile starts the file's writer (the one given at
 * restore for that path, else the one recorded at backup) and writeData feeds
 * it; endFile closes its stdin and checks its exit. Without a writer (or with
 * toFiles) the data goes into a file under the restore target.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { Buffer } from 'node:buffer';
import {
  CairnError,
  displayPath,
  isSparseChunk,
  pathBytes,
  type Agent,
  type AgentContext,
  type BackupJob,
  type CommandExit,
  type CreateResult,
  type DataChunk,
  type FileEntry,
  type RestoreJob,
  type RunningCommand,
  type StreamDesc,
} from '../../plugin-api/index.js';
import type { PipeFile } from './manifest.js';

/** Chunk size: the host's slab size; fewer, larger records than the pipe's 64 KiB reads. */
const CHUNK_BYTES = 1 << 20;

/** What a restored file is being written to. */
type Sink = { kind: 'writer'; cmd: RunningCommand; argv: string[] } | { kind: 'file'; fh: fs.FileHandle; tmp: string; target: string };

function checkFiles(files: unknown): PipeFile[] {
  const list = (files ?? []) as PipeFile[];
  const seen = new Set<string>();
  for (const f of list) {
    if (!path.posix.isAbsolute(f.path) || f.path.split('/').includes('..')) throw new CairnError('CAIRN_E_PIPE_OPTIONS', `pipe file path "${f.path}" must be absolute and without ".."`, { path: f.path });
    if (seen.has(f.path)) throw new CairnError('CAIRN_E_PIPE_OPTIONS', `pipe file path "${f.path}" is given twice`, { path: f.path });
    seen.add(f.path);
  }
  return list;
}

export function exitError(what: 'reader' | 'writer', file: string, program: string, exit: CommandExit): CairnError {
  const status = exit.exitCode !== null ? `exited with status ${exit.exitCode}` : `was killed by ${exit.signal}`;
  const tail = exit.stderrTail.length ? `; its last stderr lines: ${exit.stderrTail.slice(-5).join(' | ')}` : '';
  return new CairnError('CAIRN_E_PIPE_EXIT', `${what} ${program} for ${file} ${status}${tail}`, { program, exitCode: exit.exitCode, signal: exit.signal, path: file });
}

export function createPipeAgent(ctx: AgentContext): Agent {
  let files: PipeFile[] = [];
  let next = 0;
  let restore: RestoreJob | null = null;
  let writers = new Map<string, string[]>();
  const sinks = new Map<string, Sink>();
  const now = BigInt(Date.now()) * 1_000_000n;

  const entryOf = (f: PipeFile, i: number): FileEntry => ({
    path: pathBytes(f.path),
    kind: 'file',
    stat: { mode: 0o100600, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, size: 0, mtimeNs: now, atimeNs: now, ctimeNs: now, dev: 0n, ino: BigInt(i + 1), nlink: 1, rdev: 0 },
    streams: [{ index: 0, name: 'data', layout: 'sequential' }],
    meta: f.writer ? { writer: f.writer } : undefined,
  });

  async function* read(file: FileEntry): AsyncGenerator<Uint8Array> {
    const f = files.find((x) => x.path === displayPath(file.path));
    if (!f?.reader) throw new CairnError('CAIRN_E_PIPE_OPTIONS', `pipe file ${displayPath(file.path)} has no reader`, { path: displayPath(file.path) });
    const cmd = ctx.commands.spawn(f.reader, { stdout: 'pipe', label: `${path.basename(f.reader[0])} (${f.path})` });
    let finished = false;
    try {
      let buf = ctx.chunkBuffer(CHUNK_BYTES);
      let fill = 0;
      let total = 0;
      for await (const piece of cmd.stdout) {
        let at = 0;
        while (at < piece.byteLength) {
          const n = Math.min(buf.length - fill, piece.byteLength - at);
          buf.set(piece.subarray(at, at + n), fill);
          fill += n;
          at += n;
          if (fill === buf.length) {
            total += fill;
            ctx.progress.bytes(fill);
            yield buf;
            buf = ctx.chunkBuffer(CHUNK_BYTES);
            fill = 0;
          }
        }
      }
      if (fill > 0) {
        total += fill;
        ctx.progress.bytes(fill);
        yield buf.subarray(0, fill);
      }
      const exit = await cmd.wait();
      finished = true;
      if (exit.exitCode !== 0) throw exitError('reader', f.path, f.reader[0], exit);
      ctx.log.debug('pipe reader done', { path: f.path, bytes: total });
    } finally {
      // Stopped early (the host returned the iterator, or a failure): the reader must not run on.
      if (!finished) cmd.kill();
    }
  }

  async function openSink(entry: FileEntry): Promise<Sink | null> {
    const p = displayPath(entry.path);
    const argv = restore!.options.toFiles === true ? undefined : (writers.get(p) ?? (entry.meta?.writer as string[] | undefined));
    if (argv) return { kind: 'writer', argv, cmd: ctx.commands.spawn(argv, { stdin: 'pipe', label: `${path.basename(argv[0])} (${p})` }) };
    if (!restore!.where) {
      ctx.jobMessage('warning', 'not restored: it has no writer program and the restore has no target folder', { path: entry.path, code: 'CAIRN_E_PIPE_NO_WRITER' });
      return null;
    }
    const rel = p.replace(/^\/+/, '');
    if (rel.split('/').includes('..') || rel === '') throw new CairnError('CAIRN_E_PIPE_OPTIONS', `refusing to restore ${p} outside the target`, { path: p });
    const target = path.join(restore!.where, rel);
    await fs.mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.cairn-tmp-${process.pid}`;
    // O_EXCL and no symlink following on the last component (a planted link is not written through).
    const fh = await fs.open(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    return { kind: 'file', fh, tmp, target };
  }

  async function closeSink(entry: FileEntry, sink: Sink, ok: boolean): Promise<void> {
    const p = displayPath(entry.path);
    if (sink.kind === 'writer') {
      if (!ok) sink.cmd.kill();
      else await sink.cmd.end();
      const exit = await sink.cmd.wait();
      if (ok && exit.exitCode !== 0) throw exitError('writer', p, sink.argv[0], exit);
      return;
    }
    await sink.fh.close();
    if (ok) await fs.rename(sink.tmp, sink.target);
    else await fs.unlink(sink.tmp).catch(() => undefined);
  }

  return {
    async prepareBackup(job: BackupJob): Promise<void> {
      files = checkFiles(job.options.files);
      for (const f of files) if (!f.reader) throw new CairnError('CAIRN_E_PIPE_OPTIONS', `pipe file ${f.path} has no reader program`, { path: f.path });
      next = 0;
    },
    async nextFile(): Promise<FileEntry | null> {
      if (next >= files.length) return null;
      const f = files[next];
      return entryOf(f, next++);
    },
    readData(file: FileEntry, _stream: StreamDesc): AsyncIterable<DataChunk> {
      return read(file);
    },
    async endBackup() {
      return { state: null };
    },
    async prepareRestore(job: RestoreJob): Promise<void> {
      restore = job;
      writers = new Map(checkFiles(job.options.files).filter((f) => f.writer).map((f) => [f.path, f.writer!]));
    },
    async createFile(entry: FileEntry): Promise<CreateResult> {
      if (entry.kind !== 'file') {
        ctx.jobMessage('info', `not restored: the pipe agent restores files only, not a ${entry.kind}`, { path: entry.path });
        return 'skip';
      }
      const sink = await openSink(entry);
      if (!sink) return 'skip';
      sinks.set(Buffer.from(entry.path).toString('latin1'), sink);
      return 'extract';
    },
    async writeData(entry: FileEntry, _stream: StreamDesc, chunk: DataChunk): Promise<void> {
      const sink = sinks.get(Buffer.from(entry.path).toString('latin1'));
      if (!sink) return;
      const data = isSparseChunk(chunk) ? chunk.data : chunk;
      if (sink.kind === 'writer') await sink.cmd.write(data);
      else await sink.fh.write(data, 0, data.byteLength, isSparseChunk(chunk) ? chunk.offset : null);
    },
    async endFile(entry: FileEntry, ok: boolean): Promise<void> {
      const key = Buffer.from(entry.path).toString('latin1');
      const sink = sinks.get(key);
      if (!sink) return;
      sinks.delete(key);
      await closeSink(entry, sink, ok);
    },
    async endRestore(): Promise<void> {
      for (const [key, sink] of sinks) {
        sinks.delete(key);
        await closeSink({ path: Buffer.from(key, 'latin1') } as unknown as FileEntry, sink, false).catch(() => undefined);
      }
    },
  };
}
