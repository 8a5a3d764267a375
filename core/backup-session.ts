/**
 * Drives the agents of one backup job and turns what they report into
 * records, in session order: per agent line an AGENT record; per file its
 * ATTRIBUTES, its XATTRS record(s) when the entry carries extended attributes
 * (API 1.4, core/xattrs-record.ts), then per stream its data records (zstd or plain, one frame per
 * chunk) and DIGEST_SHA256 (digest and length) — except a file whose one
 * stream is small, whose bytes join a pack (core/pack.ts) written before the
 * next other data record; per agent line an AGENT_STATE record.
 * Every agent call goes through the plugin-api HookRunner.
 * An encrypted job (a JobSealer) seals every data record on the pool after
 * compression (DATA_SEALED, PACK_SEALED), ends each stream with a
 * DIGEST_SEALED record, and ends the session with its signed MANIFEST.
 */
import { Buffer } from 'node:buffer';
import type { Logger } from 'pino';
import {
  CairnError,
  HookRunner,
  StreamType,
  displayPath,
  isSparseChunk,
  type Agent,
  type AgentState,
  type BaseJob,
  type DataChunk,
  type FileEntry,
  type Level,
  type PlatformFileServices,
  type RestoreKind,
  effectiveRestoreKind,
  type StreamDesc,
} from '../plugin-api/index.js';
import { PACK_MEMBER_MAX_BYTES, packableStream } from './pack.js';
import { PackBuilder } from './pack-builder.js';
import type { DataRecord } from '../sd/index.js';
import type { JobMessage } from './agent-context.js';
import type { LoadedAgent } from './agent-loader.js';
import type { AgentOptionOverrides } from './agent-options.js';
import { createLineAgent } from './line-agent.js';
import { encodeAttributes } from './attributes.js';
import { encodeXattrs } from './xattrs-record.js';
import type { ZstdPool } from './zstd-pool.js';
import type { AgentLine, FilesetOptions } from './fileset.js';
import { RecordPipe } from './record-pipe.js';
import { StreamDigest, digestPayload } from './stream-digest.js';
import type { ChunkBuffers } from './chunk-buffers.js';
import type { DigestedRecord, JobSealer } from './job-sealer.js';

/** What the Director hands for one agent line: its base job and state (per the level rules). */
export interface AgentBase {
  base?: BaseJob;
  state: AgentState;
}

export interface BackupLine {
  line: AgentLine;
  loaded: LoadedAgent;
  /** Stable key for agent state: `name#n` where n counts lines of the same agent. */
  key: string;
  base: AgentBase;
}

export interface BackupCounters {
  files: number;
  /** Logical bytes read from agents. */
  bytes: number;
  /** Payload bytes handed to the SD. */
  storedBytes: number;
  deleted: number;
}

export interface BackupSessionResult {
  counters: BackupCounters;
  messages: JobMessage[];
  /** Per agent line: its new state, and how its backups restore (API 1.3 restoreKind, as negotiated). */
  states: Array<{ key: string; agent: string; state: AgentState; restoreKind: RestoreKind }>;
  /** Agents kept alive until jobEnded. */
  agents: Array<{ runner: HookRunner; agent: Agent }>;
  /** An encrypted job's signed manifest (also written as its last records). */
  manifest?: Buffer;
}

export interface BackupSessionArgs {
  jobId: number;
  jobName: string;
  level: Level;
  lines: BackupLine[];
  options: FilesetOptions;
  pool: ZstdPool | null;
  /** Recycled memory agents read into (API 1.2); the session gives each yielded chunk back once done with it. */
  chunks: ChunkBuffers;
  sink: (rec: DataRecord) => Promise<void> | void;
  logger: Logger;
  platform: PlatformFileServices;
  controller: AbortController;
  onProgress?: (c: BackupCounters) => void;
  /** Receives each agent as it is created. */
  agents?: BackupSessionResult['agents'];
  /** An encrypted job's sealer (needs `pool`, whatever the compression). */
  sealer?: JobSealer | null;
  /** Receives the job messages as they come (the caller keeps them if the session fails). */
  messages?: JobMessage[];
  /** Per-job option overrides by agent name (job entry, --option), over each line's options. */
  overrides?: AgentOptionOverrides;
  /** Programs agents may run through ctx.commands: the FD's own commands.allow. */
  allowCommands?: readonly string[];
}

export async function runBackupSession(a: BackupSessionArgs): Promise<BackupSessionResult> {
  const counters: BackupCounters = { files: 0, bytes: 0, storedBytes: 0, deleted: 0 };
  const messages: JobMessage[] = a.messages ?? [];
  const states: BackupSessionResult['states'] = [];
  // The caller's list when it passed one: it then still has the agents if this throws, to tell them jobEnded('error').
  const agents: BackupSessionResult['agents'] = a.agents ?? [];
  const sealer = a.sealer ?? null;
  const compress = a.options.compression === 'zstd';
  const pool = compress || sealer ? a.pool : null;
  if (sealer && !pool) throw new CairnError('CAIRN_E_FD_PIPELINE', 'an encrypted job needs the worker pool', { jobId: a.jobId });
  const pipe = new RecordPipe(
    (rec) => {
      counters.storedBytes += rec.payload.byteLength;
      if (sealer && rec.streamType !== StreamType.MANIFEST) {
        sealer.sent(rec as DigestedRecord);
        // The worker's digest has been read: the record goes to the SD without it.
        if ((rec as DigestedRecord).sha256 !== undefined) rec = { fileIndex: rec.fileIndex, streamType: rec.streamType, streamNo: rec.streamNo, payload: rec.payload };
      }
      return a.sink(rec);
    },
    () => pool?.flush(),
  );
  let fileIndex = 0;
  const push = (rec: DataRecord): Promise<void> | undefined => pipe.push(rec, rec.payload.byteLength);
  const packer = new PackBuilder(pool, (rec, bytes) => pipe.push(rec, bytes), { store: !compress, sealer });
  const flushPack = async (): Promise<void> => {
    const wait = packer.flush();
    if (wait) await wait;
  };

  for (const bl of a.lines) {
    const man = bl.loaded.module.manifest;
    const { runner, agent, options, recorded } = await createLineAgent(bl, { ...a, onMessage: (m) => messages.push(m) });
    agents.push({ runner, agent });
    const restoreKind = effectiveRestoreKind(man, bl.loaded.api);
    await push({
      fileIndex: 0,
      streamType: StreamType.AGENT,
      streamNo: 0,
      payload: Buffer.from(JSON.stringify({ key: bl.key, name: man.name, version: man.version, formatMajor: man.formatMajor, api: bl.loaded.api, options: recorded, ...(restoreKind === 'log' ? { restoreKind } : {}) })),
    });
    await runner.call('prepareBackup', () =>
      agent.prepareBackup({
        jobId: a.jobId,
        jobName: a.jobName,
        level: a.level,
        base: bl.base.base,
        state: bl.base.state,
        options,
        include: bl.line.include,
        exclude: bl.line.exclude,
      }),
    );
    for (;;) {
      const entry = await runner.call('nextFile', () => agent.nextFile());
      if (!entry) break;
      fileIndex++;
      await sendFile(entry, fileIndex);
    }
    const end = await runner.call('endBackup', () => agent.endBackup());
    for (const path of end.deletions ?? []) {
      fileIndex++;
      await sendFile(deletedEntry(path), fileIndex);
    }
    await flushPack();
    states.push({ key: bl.key, agent: bl.loaded.identity, state: end.state ?? null, restoreKind });
    await push({ fileIndex: 0, streamType: StreamType.AGENT_STATE, streamNo: 0, payload: Buffer.from(JSON.stringify({ key: bl.key, state: end.state ?? null })) });

    async function sendFile(entry: FileEntry, index: number): Promise<void> {
      // A hard link is made from its first member at restore: that member's pack must come first.
      if (entry.kind === 'hardlink') await flushPack();
      const wait = push({ fileIndex: index, streamType: StreamType.ATTRIBUTES, streamNo: 0, payload: encodeAttributes(entry, bl.loaded.identity) });
      if (wait) await wait;
      if (entry.xattrs !== undefined && entry.xattrs.length > 0 && entry.kind !== 'deleted') await sendXattrs(entry, index);
      if (entry.kind === 'deleted') counters.deleted++;
      else counters.files++;
      const small = packableStream(entry);
      if (small) await sendPackable(entry, small, index);
      else for (const stream of entry.streams) await sendStream(entry, stream, index);
      a.onProgress?.(counters);
    }

    /** The entry's extended attributes as XATTRS records (not a data record: packs may still be filling). */
    async function sendXattrs(entry: FileEntry, index: number): Promise<void> {
      let payloads: Buffer[];
      try {
        payloads = encodeXattrs(entry.xattrs ?? []);
      } catch (err) {
        throw new CairnError('CAIRN_E_AGENT_FAILED', `agent ${man.name} reported extended attributes Cairn cannot store for ${displayPath(entry.path)}: ${(err as Error).message}`, { agent: man.name, hook: 'nextFile', path: displayPath(entry.path) }, { cause: err });
      }
      for (const payload of payloads) {
        const wait = push({ fileIndex: index, streamType: StreamType.XATTRS, streamNo: 0, payload });
        if (wait) await wait;
      }
    }

    /** A stream declared small joins the pack; if it turns out larger (or sparse) it becomes an ordinary stream there and then. */
    async function sendPackable(entry: FileEntry, stream: StreamDesc, index: number): Promise<void> {
      const source = runner.chunks('readData', () => agent.readData(entry, stream), { path: entry.path });
      const it: Iterator<DataChunk> | AsyncIterator<DataChunk> = Array.isArray(source) ? source[Symbol.iterator]() : source[Symbol.asyncIterator]();
      const held: DataChunk[] = [];
      let length = 0;
      for (;;) {
        const step = it.next();
        const r = step instanceof Promise ? await step : (step as IteratorResult<DataChunk>);
        if (r.done) break;
        const chunk = r.value;
        if (isSparseChunk(chunk) || length + chunk.byteLength > PACK_MEMBER_MAX_BYTES) {
          held.push(chunk);
          return sendStream(entry, stream, index, { chunks: held, rest: it });
        }
        if (chunk.byteLength) {
          held.push(chunk);
          length += chunk.byteLength;
        }
      }
      counters.bytes += length;
      checkDeclaredLength(entry, stream, length);
      const wait = packer.add(index, stream.index, held as Uint8Array[], length); // copies the bytes
      for (const c of held) a.chunks.done(c as Uint8Array);
      if (wait) await wait;
    }

    function checkDeclaredLength(entry: FileEntry, stream: StreamDesc, length: number): void {
      if (stream.size === undefined || stream.layout !== 'sequential' || length === stream.size) return;
      // The agent declared a size and delivered another: say so, whatever the agent itself reported.
      messages.push({
        level: 'warning',
        agent: bl.loaded.module.manifest.name,
        path: displayPath(entry.path),
        code: 'CAIRN_E_STREAM_LENGTH',
        text: `stream ${stream.name} delivered ${length} bytes, the agent declared ${stream.size}; the stored copy has ${length}`,
      });
    }

    async function sendStream(entry: FileEntry, stream: StreamDesc, index: number, started?: { chunks: DataChunk[]; rest: Iterator<DataChunk> | AsyncIterator<DataChunk> }): Promise<void> {
      await flushPack(); // a pack always precedes the next other data record (docs/volume-format.md §Packs)
      const digest = new StreamDigest();
      let length = 0;
      const seq = { n: 0 };
      try {
        for (const chunk of started?.chunks ?? []) length = await sendChunk(chunk, digest, index, stream.index, length, seq);
        // for await takes the rest of a started iterator, an array (API 1.1) or an async iterable alike.
        const chunks = started ? { [Symbol.asyncIterator]: () => started.rest as AsyncIterator<DataChunk> } : runner.chunks('readData', () => agent.readData(entry, stream), { path: entry.path });
        for await (const chunk of chunks) {
          length = await sendChunk(chunk, digest, index, stream.index, length, seq);
        }
      } catch (err) {
        digest.discard(); // the hash thread forgets the stream
        throw err;
      }
      checkDeclaredLength(entry, stream, length);
      const d = digest.finish();
      const streamNo = stream.index;
      const chunkCount = seq.n;
      // An encrypted job's stream ends with DIGEST_SEALED: the same digest and length, authenticated as the stream's final record.
      const digestRecord = (x: Buffer): DataRecord =>
        sealer ? sealer.digestRecord(index, streamNo, digestPayload(x, length), chunkCount) : { fileIndex: index, streamType: StreamType.DIGEST_SHA256, streamNo, payload: digestPayload(x, length) };
      const wait = d instanceof Promise ? pipe.push(d.then(digestRecord), 40) : push(digestRecord(d));
      if (wait) await wait;
    }
  }

  async function sendChunk(chunk: DataChunk, digest: StreamDigest, index: number, streamNo: number, length: number, seq: { n: number }): Promise<number> {
    let data: Uint8Array;
    let head: Buffer | null = null;
    if (isSparseChunk(chunk)) {
      data = chunk.data;
      head = Buffer.allocUnsafe(16);
      head.writeBigUInt64BE(BigInt(chunk.offset), 0);
      head.writeBigUInt64BE(BigInt(data.byteLength), 8);
      length = Math.max(length, chunk.offset + data.byteLength);
    } else {
      data = chunk;
      length += data.byteLength;
    }
    if (data.byteLength === 0) return length;
    const onWorker = digest.add(data, head, pool !== null);
    const hashing = digest.pressure(); // the hash thread is far behind: wait, so queued copies stay bounded
    if (hashing) await hashing;
    counters.bytes += data.byteLength;
    const prefix = head ? head.subarray(0, 8) : null;
    if (!pool) {
      // The record goes to the SD by reference: a chunk buffer's memory is not handed out again (left to GC).
      await push({ fileIndex: index, streamType: prefix ? StreamType.SPARSE_DATA : StreamType.DATA, streamNo, payload: prefix ? Buffer.concat([prefix, data]) : data });
      return length;
    }
    const seal = sealer ? sealer.chunkSpec(index, streamNo, seq.n++, prefix) : undefined;
    const piece = pool.compress(data, { digest: onWorker, keep: onWorker, store: !compress, seal });
    // The pool and the digest hold what they still read (a slab in place, or a copy): the agent's hold goes.
    a.chunks.done(data);
    if (onWorker) digest.fromWorker(piece.then((p) => p.digest));
    const rec = piece.then((p): DataRecord => {
      // Sealed: the payload is the sealed inner record (offset included), its SHA-256 made on the worker.
      if (seal) return { fileIndex: index, streamType: StreamType.DATA_SEALED, streamNo, payload: p.data, sha256: p.recordDigest } as DigestedRecord;
      const type = prefix ? (p.compressed ? StreamType.SPARSE_DATA_ZSTD : StreamType.SPARSE_DATA) : p.compressed ? StreamType.DATA_ZSTD : StreamType.DATA;
      return { fileIndex: index, streamType: type, streamNo, payload: prefix ? Buffer.concat([prefix, p.data]) : p.data };
    });
    const wait = pipe.push(rec, data.byteLength);
    if (wait) await wait;
    return length;
  }

  await pipe.finish();
  if (sealer) {
    // Every record has been sent and accounted: the signed manifest closes the session.
    const { manifest, records } = sealer.finish();
    for (const rec of records) {
      const wait = pipe.push(rec, rec.payload.byteLength);
      if (wait) await wait;
    }
    await pipe.finish();
    return { counters, messages, states, agents, manifest };
  }
  return { counters, messages, states, agents };
}

function deletedEntry(path: Uint8Array): FileEntry {
  return {
    path,
    kind: 'deleted',
    stat: { mode: 0, uid: 0, gid: 0, size: 0, mtimeNs: 0n, atimeNs: 0n, ctimeNs: 0n, dev: 0n, ino: 0n, nlink: 0, rdev: 0 },
    streams: [],
  };
}
