/**
 * Restore (and verify) of the records of one or more sessions. Each file's
 * records are routed to the agent that wrote it (by the identity in its
 * attributes): createFile → writeData per chunk → endFile. Data is checked
 * against the stream's recorded SHA-256 and length; a file whose records are
 * damaged or missing is ended with ok=false and listed, never left half
 * written under its real name (the agent writes to a temporary name).
 * In verify mode no agent is called: only digests and structure are checked.
 */
import { Buffer } from 'node:buffer';
import type { Logger } from 'pino';
import {
  CairnError,
  HookRunner,
  StreamType,
  displayPath,
  type Agent,
  type CreateResult,
  type FileEntry,
  type PlatformFileServices,
  type ReplacePolicy,
} from '../plugin-api/index.js';
import type { ReadItem } from '../sd/index.js';
import { makeAgentContext, type JobMessage } from './agent-context.js';
import { loadAgent, type AgentPolicy } from './agent-loader.js';
import { decodeAttributes } from './attributes.js';
import { StreamDecoder, isDataStream } from './stream-decoder.js';
import type { PendingPiece, ZstdPiece, ZstdPool } from './zstd-pool.js';
import { hookTimeouts } from './hook-timeouts.js';

export interface RestoreProblem {
  jobId: number;
  fileIndex: number;
  path?: string;
  code: string;
  text: string;
  volume?: string;
  block?: number;
}

export interface RestoreRunArgs {
  mode: 'restore' | 'verify';
  where?: string;
  replace: ReplacePolicy;
  policy: AgentPolicy;
  platform: PlatformFileServices;
  logger: Logger;
  controller: AbortController;
  /** Digest the catalog holds for a file's stream 0, to check the volume against the catalog. */
  catalogDigest?: (jobId: number, fileIndex: number) => Buffer | undefined;
  onFile?: (path: string, bytes: number) => void;
  /** Decompresses frames off the main thread; without it they are decompressed inline. */
  pool?: ZstdPool;
}

/** Read-ahead of the restore: records whose frames are being decompressed while earlier ones are written. */
export const DECODE_WINDOW_BYTES = 16 << 20;
export const DECODE_WINDOW_ITEMS = 2048;

interface OpenFile {
  jobId: number;
  fileIndex: number;
  entry: FileEntry;
  agentName: string;
  action: CreateResult;
  ok: boolean;
  decoder: StreamDecoder | null;
  streamNo: number;
  streamsDone: number;
  lastLocation?: { volume: string; block: number };
}

interface AgentSlot {
  runner: HookRunner;
  agent: Agent;
}

export class RestoreRun {
  readonly problems: RestoreProblem[] = [];
  readonly messages: JobMessage[] = [];
  /** `jobId:fileIndex` of every file restored (or verified) whole. */
  readonly completed = new Set<string>();
  files = 0;
  bytes = 0;
  private readonly agents = new Map<string, Promise<AgentSlot>>();
  private current: OpenFile | null = null;
  /** `fileIndex:streamNo` of the last data record sent to the pool: the next one of another stream starts a stream. */
  private predecodeStream: string | null = null;

  constructor(private readonly a: RestoreRunArgs) {}

  /** Consumes one session's read items (one job of the chain). */
  async consume(jobId: number, items: AsyncIterable<ReadItem>): Promise<void> {
    // Frames are decompressed on the zstd pool a window ahead of the agent's writes, in order.
    const window: Array<{ item: ReadItem; piece: PendingPiece | null; bytes: number }> = [];
    let windowBytes = 0;
    const next = async (): Promise<void> => {
      const w = window.shift()!;
      windowBytes -= w.bytes;
      let piece: ZstdPiece | null = null;
      if (w.piece) {
        // Send the batch being filled only when this piece is still in it: flushing on every await would
        // turn 256-piece batches into one task per small file.
        if (!w.piece.sent) this.a.pool?.flush();
        piece = await w.piece;
      }
      await this.handle(jobId, w.item, piece);
    };
    for await (const item of items) {
      if (this.a.controller.signal.aborted) throw this.a.controller.signal.reason;
      const bytes = item.kind === 'record' ? item.record.payload.byteLength : 0;
      window.push({ item, piece: this.predecode(item), bytes });
      windowBytes += bytes;
      while (windowBytes > DECODE_WINDOW_BYTES || window.length > DECODE_WINDOW_ITEMS) await next();
    }
    while (window.length) await next();
    if (this.current) {
      const cur = this.current;
      await this.closeFile(cur.ok && cur.streamsDone === cur.entry.streams.length, 'its records end early');
    }
  }

  /** Sends a compressed data record to the pool (asking for its digest when it starts a stream), or null. */
  private predecode(item: ReadItem): PendingPiece | null {
    if (item.kind !== 'record') return null;
    const r = item.record;
    if (r.streamType === StreamType.ATTRIBUTES) this.predecodeStream = null;
    const pool = this.a.pool;
    if (!pool || (r.streamType !== StreamType.DATA_ZSTD && r.streamType !== StreamType.SPARSE_DATA_ZSTD)) return null;
    const key = `${r.fileIndex}:${r.streamNo}`;
    const first = this.predecodeStream !== key;
    this.predecodeStream = key;
    const frame = r.streamType === StreamType.SPARSE_DATA_ZSTD ? r.payload.subarray(8) : r.payload;
    const piece = pool.decompress(frame, { digest: first && r.streamType === StreamType.DATA_ZSTD });
    piece.catch(() => undefined);
    return piece;
  }

  private async handle(jobId: number, item: ReadItem, piece: ZstdPiece | null): Promise<void> {
    if (item.kind === 'bad-block') {
      this.problems.push({ jobId, fileIndex: this.current?.fileIndex ?? 0, path: this.current ? displayPath(this.current.entry.path) : undefined, code: item.code, text: `damaged block: ${item.reason}`, volume: item.volume, block: item.block });
      if (this.current) await this.closeFile(false, `its data was in damaged block ${item.block} of volume ${item.volume}`);
      return;
    }
    if (item.kind === 'volume-end') {
      if (item.reason === 'truncated') {
        this.problems.push({ jobId, fileIndex: this.current?.fileIndex ?? 0, code: 'CAIRN_E_VOLUME_TRUNCATED', text: `volume ${item.volume} ends early at block ${item.block}`, volume: item.volume, block: item.block });
        if (this.current) await this.closeFile(false, `volume ${item.volume} is truncated at block ${item.block}`);
      }
      return;
    }
    const { record, location } = item;
    if (record.fileIndex === 0) return; // session-level records (agent, agent state)
    const cur = this.current;
    if (record.streamType === StreamType.ATTRIBUTES) {
      if (cur) await this.closeFile(cur.ok && cur.streamsDone === cur.entry.streams.length, 'some of its data records are missing');
      await this.openFile(jobId, record.fileIndex, record.payload, location);
      return;
    }
    if (!cur || cur.fileIndex !== record.fileIndex || cur.jobId !== jobId) return; // the rest of a file whose start was lost
    cur.lastLocation = { volume: location.volume, block: location.block };
    if (cur.action !== 'extract' && this.a.mode === 'restore') return;
    if (isDataStream(record.streamType)) {
      if (!cur.decoder || cur.streamNo !== record.streamNo) {
        cur.decoder = new StreamDecoder();
        cur.streamNo = record.streamNo;
      }
      let chunk;
      try {
        chunk = cur.decoder.decode(record.streamType, record.payload, piece);
      } catch (err) {
        cur.ok = false;
        this.fileProblem(cur, (err as CairnError).code ?? 'CAIRN_E_RECORD_CORRUPT', (err as Error).message);
        return;
      }
      if (this.a.mode === 'restore' && cur.ok) {
        const stream = cur.entry.streams.find((s) => s.index === record.streamNo);
        if (!stream) {
          cur.ok = false;
          this.fileProblem(cur, 'CAIRN_E_RECORD_CORRUPT', `data for stream ${record.streamNo}, which the file does not declare`);
          return;
        }
        const slot = await this.slot(cur.agentName);
        try {
          await slot.runner.call('writeData', () => slot.agent.writeData(cur.entry, stream, chunk), { path: cur.entry.path });
        } catch (err) {
          cur.ok = false;
          this.fileProblem(cur, (err as CairnError).code ?? 'CAIRN_E_AGENT_FAILED', (err as Error).message);
        }
      }
      this.bytes += chunk instanceof Uint8Array ? chunk.byteLength : chunk.data.byteLength;
    } else if (record.streamType === StreamType.DIGEST_SHA256) {
      const dec = cur.decoder && cur.streamNo === record.streamNo ? cur.decoder : new StreamDecoder();
      cur.decoder = null;
      const got = dec.digest();
      const payload = Buffer.from(record.payload);
      const want = payload.subarray(0, 32);
      const wantLength = payload.length >= 40 ? Number(payload.readBigUInt64BE(32)) : dec.length;
      const fromCatalog = record.streamNo === 0 ? this.a.catalogDigest?.(cur.jobId, cur.fileIndex) : undefined;
      if (!got.equals(want)) {
        cur.ok = false;
        this.fileProblem(cur, 'CAIRN_E_DIGEST_MISMATCH', `stream ${record.streamNo} has SHA-256 ${got.toString('hex')}, backup recorded ${want.toString('hex')}`);
      } else if (fromCatalog && !fromCatalog.equals(want)) {
        cur.ok = false;
        this.fileProblem(cur, 'CAIRN_E_DIGEST_MISMATCH', `stream ${record.streamNo} on the volume has SHA-256 ${want.toString('hex')}, the catalog says ${fromCatalog.toString('hex')}`);
      } else if (dec.length !== wantLength) {
        cur.ok = false;
        this.fileProblem(cur, 'CAIRN_E_FILE_INCOMPLETE', `stream ${record.streamNo} has ${dec.length} bytes, backup recorded ${wantLength}`);
      }
      cur.streamsDone++;
    }
  }

  private async openFile(jobId: number, fileIndex: number, payload: Uint8Array, location: { volume: string; block: number }): Promise<void> {
    let attrs;
    try {
      attrs = decodeAttributes(payload);
    } catch (err) {
      this.problems.push({ jobId, fileIndex, code: 'CAIRN_E_RECORD_CORRUPT', text: (err as Error).message, volume: location.volume, block: location.block });
      return;
    }
    const agentName = attrs.agent.split('/')[0];
    const file: OpenFile = { jobId, fileIndex, entry: attrs.entry, agentName, action: 'skip', ok: true, decoder: null, streamNo: -1, streamsDone: 0 };
    this.current = file;
    if (attrs.entry.kind === 'deleted') {
      file.action = 'skip';
      return;
    }
    if (this.a.mode === 'verify') {
      file.action = 'extract';
      return;
    }
    try {
      const slot = await this.slot(agentName);
      file.action = await slot.runner.call('createFile', () => slot.agent.createFile(attrs.entry), { path: attrs.entry.path });
    } catch (err) {
      file.ok = false;
      file.action = 'skip';
      this.fileProblem(file, (err as CairnError).code ?? 'CAIRN_E_AGENT_FAILED', (err as Error).message);
    }
  }

  private async closeFile(ok: boolean, whyNot: string): Promise<void> {
    const cur = this.current!;
    this.current = null;
    if (cur.entry.kind === 'deleted') return;
    if (!ok && cur.ok) this.fileProblem(cur, 'CAIRN_E_FILE_INCOMPLETE', `not restored whole: ${whyNot}`);
    const good = ok && cur.ok;
    if (this.a.mode === 'restore' && cur.action !== 'skip') {
      const slot = await this.slot(cur.agentName);
      try {
        await slot.runner.call('endFile', () => slot.agent.endFile(cur.entry, good), { path: cur.entry.path });
      } catch (err) {
        if (good) this.fileProblem(cur, (err as CairnError).code ?? 'CAIRN_E_AGENT_FAILED', (err as Error).message);
        return;
      }
    }
    if (good) {
      this.completed.add(`${cur.jobId}:${cur.fileIndex}`);
      this.files++;
      this.a.onFile?.(displayPath(cur.entry.path), this.bytes);
    }
  }

  private fileProblem(cur: OpenFile, code: string, text: string): void {
    this.problems.push({ jobId: cur.jobId, fileIndex: cur.fileIndex, path: displayPath(cur.entry.path), code, text, volume: cur.lastLocation?.volume, block: cur.lastLocation?.block });
  }

  private slot(agentName: string): Promise<AgentSlot> {
    let p = this.agents.get(agentName);
    if (!p) {
      p = (async () => {
        const loaded = await loadAgent(agentName, this.a.policy);
        const man = loaded.module.manifest;
        const runner = new HookRunner(man.name, man.version, { controller: this.a.controller, timeouts: hookTimeouts() });
        const ctx = makeAgentContext({
          manifest: man,
          api: loaded.api,
          jobId: 0,
          logger: this.a.logger,
          signal: this.a.controller.signal,
          platform: this.a.platform,
          include: [],
          exclude: [],
          sinks: { message: (m) => this.messages.push(m), bytes: () => undefined, file: () => undefined },
        });
        const agent = await runner.call('prepareRestore', () => loaded.module.createAgent(ctx));
        await runner.call('prepareRestore', () => agent.prepareRestore({ jobId: 0, where: this.a.where, replace: this.a.replace, options: {} }));
        return { runner, agent };
      })();
      this.agents.set(agentName, p);
    }
    return p;
  }

  /** Ends every agent's restore (directory times are set here by the fs agent). */
  async finish(): Promise<void> {
    for (const p of this.agents.values()) {
      const slot = await p;
      await slot.runner.call('endRestore', () => slot.agent.endRestore());
    }
  }
}
