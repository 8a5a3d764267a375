/**
 * The conformance kit's mock host: builds agent contexts (messages kept in
 * memory), spools the data an agent yields to a temp file, and keeps a tiny
 * catalog of jobs that follows the host's state rule: an Incremental gets
 * the state (and base tree) of the last successful backup of any level, a
 * Differential that of the last successful Full; failed or cancelled jobs
 * never advance state.
 */
import { createHash } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Buffer } from 'node:buffer';
import type { AgentContext, AgentManifest, AgentState, BaseFile, BaseJob, DataChunk, FileEntry, JobMessageLevel, JobStatus, Level, StreamDesc } from '../types.js';
import type { ApiVersion } from '../version.js';
import type { PlatformFileServices } from '../platform.js';
import { comparePathsTreeOrder, displayPath, pathBytes } from '../paths.js';
import { isSparseChunk } from '../types.js';
import { createCommandService } from '../command-service.js';

export interface KitMessage {
  level: JobMessageLevel;
  text: string;
  path?: string;
  code?: string;
}

export interface KitContext {
  readonly ctx: AgentContext;
  readonly controller: AbortController;
  readonly messages: KitMessage[];
  readonly chunks: KitChunkBuffers;
}

/** Byte the kit overwrites a recycled chunk buffer with, so an agent that still uses it after yielding it corrupts its own backup. */
export const POISON_BYTE = 0xdb;

/**
 * AgentContext.chunkBuffer as the kit offers it (API 1.2): buffers handed out again once the kit has
 * consumed the chunk yielded from them, poisoned first. An agent that reads or writes a chunk buffer after
 * yielding it, or yields one buffer as several chunks, then fails the kit's backup → restore comparison.
 */
export class KitChunkBuffers {
  private readonly free: Buffer[] = [];
  private readonly mine = new WeakMap<ArrayBufferLike, Buffer>();
  /** Buffers handed out again (a test reads it to know recycling happened). */
  recycled = 0;

  take(size: number): Buffer {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`chunkBuffer size must be a non-negative integer, not ${size}`);
    const i = this.free.findIndex((b) => b.length >= size);
    if (i >= 0) {
      this.recycled++;
      return this.free.splice(i, 1)[0].subarray(0, size);
    }
    const whole = Buffer.allocUnsafeSlow(size);
    this.mine.set(whole.buffer, whole);
    return whole;
  }

  /** The kit is done with a chunk: when it lay in one of its chunk buffers, that buffer is poisoned and reused. */
  done(chunk: Uint8Array): void {
    const whole = this.mine.get(chunk.buffer);
    if (!whole || this.free.includes(whole)) return;
    whole.fill(POISON_BYTE);
    this.free.push(whole);
  }
}

/**
 * A context like the host's: stamped logger (silent), messages kept, isIncluded = under an include root,
 * commands = the programs the kit's caller allows (stderr lines kept as info messages).
 */
export function kitContext(manifest: AgentManifest, api: ApiVersion, platform: PlatformFileServices, include: readonly string[], allowCommands: readonly string[] = []): KitContext {
  const controller = new AbortController();
  const messages: KitMessage[] = [];
  const roots = include.map((r) => pathBytes(r.length > 1 ? r.replace(/\/+$/, '') : r));
  const noop = (): void => undefined;
  const chunks = new KitChunkBuffers();
  const ctx: AgentContext = {
    agent: { name: manifest.name, version: manifest.version },
    api,
    host: { name: 'cairn-conformance', version: '1.0.0' },
    log: { debug: noop, info: noop, warn: noop, error: noop },
    jobMessage(level, text, facts) {
      messages.push({ level, text, path: facts?.path ? displayPath(facts.path) : undefined, code: facts?.code });
    },
    progress: { bytes: noop, file: noop },
    signal: controller.signal,
    isIncluded(p) {
      const b = pathBytes(p);
      return roots.some((r) => b.length >= r.length && b.subarray(0, r.length).equals(r) && (b.length === r.length || b[r.length] === 0x2f || (r.length === 1 && r[0] === 0x2f)));
    },
    platform,
    chunkBuffer: (size) => chunks.take(size),
    commands: createCommandService({ allow: allowCommands, signal: controller.signal, onStderr: (label, line) => messages.push({ level: 'info', text: `${label}: ${line}` }) }),
  };
  return { ctx, controller, messages, chunks };
}

/** Where one stream's bytes went in the spool file. */
export interface SpooledChunk {
  readonly at: number;
  readonly length: number;
  /** Sparse offset, for sparse streams. */
  readonly offset?: number;
}

export interface SpooledStream {
  readonly desc: StreamDesc;
  readonly chunks: SpooledChunk[];
  /** SHA-256 of the stream's logical bytes (holes as zeros, up to desc.size for sparse). */
  digest: string;
  logicalSize: number;
}

export interface BackedUpFile {
  readonly entry: FileEntry;
  readonly streams: SpooledStream[];
}

const ZEROS = Buffer.alloc(1024 * 1024);

/** Appends chunks to one spool file and reads them back for restore. */
export class Spool {
  private size = 0;
  private constructor(private readonly fh: fsp.FileHandle) {}

  static async create(dir: string): Promise<Spool> {
    return new Spool(await fsp.open(path.join(dir, 'spool.bin'), 'w+'));
  }

  /** Starts a stream; returns a writer that validates chunk shape and order as it goes. */
  stream(desc: StreamDesc): { add(chunk: DataChunk): Promise<string | null>; finish(): SpooledStream } {
    const hash = createHash('sha256');
    const chunks: SpooledChunk[] = [];
    let logical = 0;
    const out: SpooledStream = { desc, chunks, digest: '', logicalSize: 0 };
    const zeros = (n: number): void => {
      for (let left = n; left > 0; left -= ZEROS.length) hash.update(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
    };
    return {
      add: async (chunk) => {
        const sparse = isSparseChunk(chunk);
        if (desc.layout === 'sparse' && !sparse) return 'a sparse stream yielded a plain Uint8Array (expected {offset, data})';
        if (desc.layout === 'sequential' && sparse) return 'a sequential stream yielded a SparseChunk';
        const data = sparse ? chunk.data : chunk;
        if (!(data instanceof Uint8Array)) return 'a chunk is not a Uint8Array';
        if (sparse) {
          if (!Number.isSafeInteger(chunk.offset) || chunk.offset < logical) return `sparse chunk at offset ${chunk.offset} overlaps or goes backwards (stream is at ${logical})`;
          zeros(chunk.offset - logical);
          logical = chunk.offset;
        }
        hash.update(data);
        logical += data.byteLength;
        await this.fh.write(data, 0, data.byteLength, this.size);
        chunks.push({ at: this.size, length: data.byteLength, offset: sparse ? chunk.offset : undefined });
        this.size += data.byteLength;
        return null;
      },
      finish: () => {
        if (desc.layout === 'sparse' && desc.size !== undefined && desc.size > logical) {
          zeros(desc.size - logical);
          logical = desc.size;
        }
        out.digest = hash.digest('hex');
        out.logicalSize = logical;
        return out;
      },
    };
  }

  /** A fresh copy of one chunk, as the restore side of a host would hand it over. */
  async read(c: SpooledChunk): Promise<DataChunk> {
    const buf = Buffer.allocUnsafeSlow(c.length);
    if (c.length > 0) await this.fh.read(buf, 0, c.length, c.at);
    return c.offset === undefined ? buf : { offset: c.offset, data: buf };
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

export interface KitJob {
  readonly id: number;
  readonly level: Level;
  status: JobStatus;
  state: AgentState;
  readonly files: BackedUpFile[];
  readonly startedAt: Date;
}

function keyOf(p: Uint8Array): string {
  return Buffer.from(p).toString('latin1');
}

/** The kit's catalog: jobs in order, the state rule, chains and base trees. */
export class KitCatalog {
  readonly jobs: KitJob[] = [];
  private nextId = 1;

  add(level: Level, files: BackedUpFile[]): KitJob {
    const job: KitJob = { id: this.nextId++, level, status: 'error', state: null, files, startedAt: new Date() };
    this.jobs.push(job);
    return job;
  }

  /** The base of a new job at `level`: Incremental → last ok job of any level; Differential → last ok Full. */
  baseFor(level: Level): KitJob | undefined {
    if (level === 'full') return undefined;
    const ok = this.jobs.filter((j) => j.status === 'ok' || j.status === 'warning');
    const pick = level === 'incremental' ? ok : ok.filter((j) => j.level === 'full');
    return pick[pick.length - 1];
  }

  /** The chain ending at `job`: its last Full, then (for an Incremental) the jobs it was based on. */
  chain(job: KitJob): KitJob[] {
    const out: KitJob[] = [job];
    let cur = job;
    while (cur.level !== 'full') {
      const idx = this.jobs.indexOf(cur);
      const before = this.jobs.slice(0, idx).filter((j) => j.status === 'ok' || j.status === 'warning');
      const base = cur.level === 'incremental' ? before[before.length - 1] : before.filter((j) => j.level === 'full').pop();
      if (!base) break;
      out.unshift(base);
      cur = base;
    }
    return out;
  }

  /** The merged tree of a chain in tree order: each path's latest version, deletions applied. */
  tree(chain: readonly KitJob[]): BackedUpFile[] {
    const map = new Map<string, BackedUpFile>();
    for (const job of chain) {
      for (const f of job.files) {
        if (f.entry.kind === 'deleted') map.delete(keyOf(f.entry.path));
        else map.set(keyOf(f.entry.path), f);
      }
    }
    return [...map.values()].sort((a, b) => comparePathsTreeOrder(a.entry.path, b.entry.path));
  }

  baseJob(base: KitJob): BaseJob {
    const tree = this.tree(this.chain(base));
    return {
      jobId: base.id,
      level: base.level,
      startedAt: base.startedAt,
      async *files(): AsyncIterable<BaseFile> {
        for (const f of tree) {
          const s = f.entry.stat;
          yield { path: f.entry.path, kind: f.entry.kind, size: s.size, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs, ino: s.ino, dev: s.dev, mode: s.mode };
        }
      },
    };
  }
}
