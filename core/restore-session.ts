/**
 * Restore (and verify) of the records of one or more sessions. Each file's
 * records are routed to the agent that wrote it (by the identity in its
 * attributes): createFile → writeData per chunk → endFile. Data is checked
 * against the stream's recorded SHA-256 and length; a file whose records are
 * damaged or missing is ended with ok=false and listed, never left half
 * written under its real name (the agent writes to a temporary name).
 * A file's XATTRS records (right after its attributes) are decoded onto its
 * entry (`entry.xattrs`), so the agent has them from createFile on.
 * createFile is called when a file's first data arrives (or when it is
 * closed, for files without data): a small file whose bytes are in a pack
 * (core/pack.ts) waits, attributes decoded, until its pack comes, and is
 * created only when its member checked good.
 * In verify mode no agent is called: only digests and structure are checked.
 * An encrypted session's records are opened as they are read (a
 * RecordOpener, core/record-opener.ts): a record that fails its seal, or
 * attributes that differ from the signed manifest, fail their file — its
 * temporary is removed, nothing of it stays under its name.
 */
import { createHash } from 'node:crypto';
import { Buffer } from 'node:buffer';
import type { Logger } from 'pino';
import {
  CairnError,
  HookRunner,
  StreamType,
  displayPath,
  isPackRecord,
  type Agent,
  type CreateResult,
  type FileEntry,
  type PlatformFileServices,
  type ReplacePolicy,
  type RestoreJob,
  effectiveRestoreKind,
  type StreamDesc,
  type DataChunk,
} from '../plugin-api/index.js';
import type { ReadItem } from '../sd/index.js';
import { makeAgentContext, type JobMessage } from './agent-context.js';
import { loadAgent, type AgentPolicy } from './agent-loader.js';
import { decodeAttributes } from './attributes.js';
import { decodeXattrs } from './xattrs-record.js';
import { StreamDecoder, isDataStream, unzstd } from './stream-decoder.js';
import { contentSize, type PackPiece, type PendingPiece, type ZstdPiece, type ZstdPool } from './zstd-pool.js';
import { decodePackIndex, packableStream, type PackMember } from './pack.js';
import { hookTimeouts } from './hook-timeouts.js';
import type { ChunkBuffers } from './chunk-buffers.js';
import type { OpenProblem, RecordOpener } from './record-opener.js';
import { prepareAgentOptions, type AgentOptionOverrides } from './agent-options.js';
import { closeAgent, createAgentGuarded } from './agent-process.js';

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
  /** Handed to log-type agents only (RestoreJob.recoveryTarget, API 1.3). */
  recoveryTarget?: Date;
  policy: AgentPolicy;
  platform: PlatformFileServices;
  logger: Logger;
  controller: AbortController;
  /** Digest the catalog holds for a file's stream 0, to check the volume against the catalog. */
  catalogDigest?: (jobId: number, fileIndex: number) => Buffer | undefined;
  onFile?: (path: string, bytes: number) => void;
  /** Decompresses frames off the main thread; without it they are decompressed inline. */
  pool?: ZstdPool;
  /** Backs AgentContext.chunkBuffer (a restore agent has no use for it, but the context is the same). */
  chunks: ChunkBuffers;
  /** Per-restore option overrides by agent name (--option), handed to prepareRestore. */
  overrides?: AgentOptionOverrides;
  /** Programs agents may run through ctx.commands: the FD's own commands.allow. */
  allowCommands?: readonly string[];
}

/** Read-ahead of the restore: records whose frames are being decompressed while earlier ones are written. */
export const DECODE_WINDOW_BYTES = 4 << 20;
export const DECODE_WINDOW_ITEMS = 2048;

interface OpenFile {
  jobId: number;
  fileIndex: number;
  entry: FileEntry;
  agentName: string;
  action: CreateResult;
  /** createFile has been called (or decided without the agent). */
  created: boolean;
  /** Some record of the file beyond its attributes has been seen. */
  touched: boolean;
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

/** An item read ahead: its frame already sent to the pool, its pack index decoded. */
interface WindowItem {
  item: ReadItem;
  piece: PendingPiece | null;
  pack: Promise<PackPiece> | null;
  index: PackMember[] | CairnError | null;
  bytes: number;
  /** The record failed its seal (or the manifest): its file fails. */
  problem?: OpenProblem;
}

/** One side of the read-ahead waits here until the other fires (a fire with no waiter is kept for the next wait). */
class Wake {
  private waiter: (() => void) | null = null;
  private fired = false;

  wait(): Promise<void> {
    if (this.fired) {
      this.fired = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => (this.waiter = resolve));
  }

  fire(): void {
    const w = this.waiter;
    this.waiter = null;
    if (w) w();
    else this.fired = true;
  }
}

export class RestoreRun {
  readonly problems: RestoreProblem[] = [];
  readonly messages: JobMessage[] = [];
  /** `jobId:fileIndex` of every file restored (or verified) whole. */
  readonly completed = new Set<string>();
  files = 0;
  bytes = 0;
  private readonly agents = new Map<string, Promise<AgentSlot>>();
  /** Every agent created (closed by close()). */
  private readonly created: Agent[] = [];
  private current: OpenFile | null = null;
  /** Small files whose data is expected in a pack, by file index (ascending). */
  private readonly waiting = new Map<number, OpenFile>();
  /** The PACK_INDEX just read, for the PACK_DATA record that follows it. */
  private pack: { jobId: number; first: number; last: number; members: PackMember[] } | null = null;
  /** Member lengths of the last PACK_INDEX seen by predecode, to unpack the next record on the pool. */
  private predecodePack: { first: number; lengths: number[] } | null = null;
  /** `fileIndex:streamNo` of the last data record sent to the pool: the next one of another stream starts a stream. */
  private predecodeStream: string | null = null;

  constructor(private readonly a: RestoreRunArgs) {}

  /**
   * Consumes one session's read items (one job of the chain). Reading runs ahead of handling: a reader
   * pulls items from the SD and sends their frames to the zstd pool while the handler, in order, waits on
   * the agent's writes — so the SD's block checks and the wire decoding overlap the disk, not follow it.
   * The reader stops when the window is full; an error of the reader ends the run once what it read
   * before the error has been handled.
   */
  async consume(jobId: number, items: AsyncIterable<ReadItem>, opener: RecordOpener | null = null): Promise<void> {
    const window: WindowItem[] = [];
    let windowBytes = 0;
    let readDone = false;
    let readError: { err: unknown } | null = null;
    let stop = false;
    const handlerWake = new Wake();
    const readerWake = new Wake();
    const full = (): boolean => windowBytes > DECODE_WINDOW_BYTES || window.length > DECODE_WINDOW_ITEMS;
    const reader = (async () => {
      try {
        for await (const read of items) {
          if (this.a.controller.signal.aborted) throw this.a.controller.signal.reason;
          let item = read;
          let problem: OpenProblem | undefined;
          if (opener && item.kind === 'record') {
            // Opened here, before the pool sees it: what follows handles the plain record (its release stays the sealed one's).
            const o = opener.open(item.record);
            problem = o.problem;
            if (o.record !== item.record) item = { ...item, record: o.record };
          }
          const bytes = item.kind === 'record' ? windowCost(item.record.streamType, item.record.payload) : 0;
          const index = problem ? null : this.readPackIndex(item);
          window.push({ item, piece: problem ? null : this.predecode(item), pack: problem ? null : this.predecodePackData(item), index, bytes, problem });
          windowBytes += bytes;
          handlerWake.fire();
          while (full() && !stop) await readerWake.wait();
          if (stop) break;
        }
      } catch (err) {
        readError = { err };
      } finally {
        readDone = true;
        handlerWake.fire();
      }
    })();
    const next = async (w: WindowItem): Promise<void> => {
      let piece: ZstdPiece | null = null;
      if (w.piece) {
        // Send the batch being filled only when this piece is still in it: flushing on every await would
        // turn 256-piece batches into one task per small file.
        if (!w.piece.sent) this.a.pool?.flush();
        piece = await w.piece;
      }
      try {
        const packPiece = w.pack ? await w.pack : null;
        if (w.problem && w.item.kind === 'record') await this.sealProblem(jobId, w.item, w.problem);
        else await this.handle(jobId, w.item, piece, { piece: packPiece, index: w.index });
      } finally {
        // The agent's writeData has settled (it may keep a chunk only until then, docs/plugin-api.md): the slab may be reused.
        piece?.release?.();
        // So may the record's: the pool has its own copy or hold, and what is kept of a record (attributes, a pack's digests) is copied.
        if (w.item.kind === 'record') w.item.release?.();
      }
    };
    try {
      for (;;) {
        if (this.a.controller.signal.aborted) throw this.a.controller.signal.reason;
        const w = window.shift();
        if (!w) {
          if (readDone) break;
          // Nothing read yet: the pool may hold the only queued frames in a batch still being filled.
          this.a.pool?.flush();
          await handlerWake.wait();
          continue;
        }
        windowBytes -= w.bytes;
        if (!full()) readerWake.fire();
        await next(w);
      }
    } finally {
      stop = true;
      readerWake.fire();
      // After a failure the reader may still wait on the SD: it stops at its next item (or when the connection
      // closes) without being waited for; what it reads then is never released (safe: it is just not reused).
      if (readDone) await reader;
      for (const w of window.splice(0)) {
        // The pool may still read a frame queued for it: the record goes only once its piece settled.
        const release = w.item.kind === 'record' ? w.item.release : undefined;
        if (w.piece) w.piece.then((p) => p.release?.(), () => undefined).finally(() => release?.());
        else if (w.pack) w.pack.catch(() => undefined).finally(() => release?.());
        else release?.();
      }
    }
    if (readError) throw (readError as { err: unknown }).err;
    if (this.current) {
      const cur = this.current;
      this.current = null;
      await this.closeFile(cur, cur.ok && cur.streamsDone === cur.entry.streams.length, 'its records end early');
    }
    await this.failWaiting(Infinity, 'its pack was not found on the volumes');
  }

  /**
   * A record that failed its seal or the signed manifest: its file (or, for a pack, every file waiting
   * for it) is not restored, and is named with the reason.
   */
  private async sealProblem(jobId: number, item: Extract<ReadItem, { kind: 'record' }>, problem: OpenProblem): Promise<void> {
    const { record, location } = item;
    if (record.streamType === StreamType.ATTRIBUTES) {
      if (this.current) await this.settle(this.current);
      await this.openFile(jobId, record.fileIndex, record.payload, location);
      const cur = this.current as OpenFile | null;
      if (cur && cur.fileIndex === record.fileIndex) {
        cur.ok = false;
        cur.touched = true; // never waits for a pack: it is not restored whatever comes
        this.fileProblem(cur, problem.code, problem.text);
      } else {
        this.problems.push({ jobId, fileIndex: record.fileIndex, code: problem.code, text: problem.text, volume: location.volume, block: location.block });
      }
      return;
    }
    if (isPackRecord(record.streamType)) {
      const last = record.fileIndex + record.streamNo;
      if (this.current && this.current.fileIndex <= last) await this.settle(this.current);
      this.pack = null;
      for (const [fileIndex, file] of this.waiting) {
        if (fileIndex > last) break;
        file.ok = false;
        file.lastLocation = { volume: location.volume, block: location.block };
        this.fileProblem(file, problem.code, problem.text);
      }
      await this.failWaiting(last, problem.text);
      return;
    }
    const cur = this.current;
    if (cur && cur.fileIndex === record.fileIndex && cur.jobId === jobId) {
      cur.touched = true;
      cur.lastLocation = { volume: location.volume, block: location.block };
      if (cur.ok) this.fileProblem(cur, problem.code, problem.text);
      cur.ok = false;
      return;
    }
    this.problems.push({ jobId, fileIndex: record.fileIndex, code: problem.code, text: problem.text, volume: location.volume, block: location.block });
  }

  /** Decodes a PACK_INDEX record as it is read (predecode needs its lengths), or null for other items. */
  private readPackIndex(item: ReadItem): PackMember[] | CairnError | null {
    if (item.kind !== 'record' || item.record.streamType !== StreamType.PACK_INDEX) return null;
    const r = item.record;
    try {
      const members = decodePackIndex(r.payload, r.fileIndex, r.fileIndex + r.streamNo);
      this.predecodePack = { first: r.fileIndex, lengths: members.map((m) => m.length) };
      return members;
    } catch (err) {
      this.predecodePack = null;
      return err as CairnError;
    }
  }

  /** Sends a pack's bytes to the pool (decompressed there, each member digested), or null. */
  private predecodePackData(item: ReadItem): Promise<PackPiece> | null {
    if (item.kind !== 'record') return null;
    const r = item.record;
    if (r.streamType !== StreamType.PACK_DATA && r.streamType !== StreamType.PACK_DATA_ZSTD) return null;
    const index = this.predecodePack;
    this.predecodePack = null;
    if (!this.a.pool || !index || index.first !== r.fileIndex) return null;
    const p = this.a.pool.unpack(r.payload, index.lengths, r.streamType === StreamType.PACK_DATA_ZSTD);
    p.catch(() => undefined);
    return p;
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

  private async handle(jobId: number, item: ReadItem, piece: ZstdPiece | null, pack: { piece: PackPiece | null; index: PackMember[] | CairnError | null }): Promise<void> {
    if (item.kind === 'bad-block') {
      this.problems.push({ jobId, fileIndex: this.current?.fileIndex ?? 0, path: this.current ? displayPath(this.current.entry.path) : undefined, code: item.code, text: `damaged block: ${item.reason}`, volume: item.volume, block: item.block });
      await this.closeCurrent(false, `its data was in damaged block ${item.block} of volume ${item.volume}`);
      return;
    }
    if (item.kind === 'volume-end') {
      if (item.reason === 'truncated') {
        this.problems.push({ jobId, fileIndex: this.current?.fileIndex ?? 0, code: 'CAIRN_E_VOLUME_TRUNCATED', text: `volume ${item.volume} ends early at block ${item.block}`, volume: item.volume, block: item.block });
        await this.closeCurrent(false, `volume ${item.volume} is truncated at block ${item.block}`);
      }
      return;
    }
    const { record, location } = item;
    if (record.fileIndex === 0) return; // session-level records (agent, agent state)
    const cur = this.current;
    if (record.streamType === StreamType.ATTRIBUTES) {
      if (cur) await this.settle(cur);
      await this.openFile(jobId, record.fileIndex, record.payload, location);
      return;
    }
    if (record.streamType === StreamType.PACK_INDEX) {
      const last = record.fileIndex + record.streamNo;
      if (cur && cur.fileIndex <= last) await this.settle(cur);
      if (pack.index instanceof CairnError || pack.index === null) {
        this.pack = null;
        this.problems.push({ jobId, fileIndex: record.fileIndex, code: 'CAIRN_E_RECORD_CORRUPT', text: pack.index?.message ?? 'unreadable pack index', volume: location.volume, block: location.block });
        await this.failWaiting(last, `its pack's index in block ${location.block} of volume ${location.volume} is unreadable`);
      } else {
        this.pack = { jobId, first: record.fileIndex, last, members: pack.index };
      }
      return;
    }
    if (record.streamType === StreamType.PACK_DATA || record.streamType === StreamType.PACK_DATA_ZSTD) {
      await this.unpack(jobId, record.streamType, record.fileIndex, record.payload, pack.piece, location);
      return;
    }
    if (record.streamType === StreamType.XATTRS) {
      // Not data: it neither touches the file (which may still wait for its pack) nor ends waiting ones.
      if (cur && cur.fileIndex === record.fileIndex && cur.jobId === jobId) this.addXattrs(cur, record.payload, location);
      return;
    }
    // Packs come before any other data record: small files still waiting for one lost theirs.
    if (this.waiting.size) await this.failWaiting(record.fileIndex - 1, 'its pack was not found before the next data record');
    if (!cur || cur.fileIndex !== record.fileIndex || cur.jobId !== jobId) return; // the rest of a file whose start was lost
    cur.lastLocation = { volume: location.volume, block: location.block };
    cur.touched = true;
    await this.create(cur);
    if (cur.action !== 'extract' && this.a.mode === 'restore') {
      // A file the agent skipped (replace policy) still ends each stream at its digest: it is not "incomplete".
      if (record.streamType === StreamType.DIGEST_SHA256) cur.streamsDone++;
      return;
    }
    if (isDataStream(record.streamType)) {
      if (!cur.decoder || cur.streamNo !== record.streamNo) {
        cur.decoder?.discard();
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
        await this.writeToAgent(cur, stream, chunk);
      }
      this.bytes += chunk instanceof Uint8Array ? chunk.byteLength : chunk.data.byteLength;
      const hashing = cur.decoder.pressure();
      if (hashing) await hashing;
    } else if (record.streamType === StreamType.DIGEST_SHA256) {
      const dec = cur.decoder && cur.streamNo === record.streamNo ? cur.decoder : new StreamDecoder();
      if (cur.decoder && cur.decoder !== dec) cur.decoder.discard();
      cur.decoder = null;
      // May wait for the hash thread: the file is ended (renamed into place) only after this check.
      let got: Buffer;
      try {
        got = await dec.digest();
      } catch (err) {
        cur.ok = false;
        this.fileProblem(cur, (err as CairnError).code ?? 'CAIRN_E_FD_PIPELINE', (err as Error).message);
        cur.streamsDone++;
        return;
      }
      const payload = Buffer.from(record.payload);
      const wantLength = payload.length >= 40 ? Number(payload.readBigUInt64BE(32)) : dec.length;
      this.checkDigest(cur, record.streamNo, got, payload.subarray(0, 32), dec.length, wantLength);
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
    this.current = { jobId, fileIndex, entry: attrs.entry, agentName, action: 'skip', created: false, touched: false, ok: true, decoder: null, streamNo: -1, streamsDone: 0, lastLocation: { volume: location.volume, block: location.block } };
  }

  /** Decodes one XATTRS record onto the open file's entry; a bad one fails the file. */
  private addXattrs(cur: OpenFile, payload: Uint8Array, location: { volume: string; block: number }): void {
    cur.lastLocation = { volume: location.volume, block: location.block };
    if (cur.created) {
      cur.ok = false;
      this.fileProblem(cur, 'CAIRN_E_RECORD_CORRUPT', 'extended attributes after its data');
      return;
    }
    try {
      const list = decodeXattrs(payload);
      cur.entry.xattrs = cur.entry.xattrs ? [...cur.entry.xattrs, ...list] : list;
    } catch (err) {
      cur.ok = false;
      this.fileProblem(cur, (err as CairnError).code ?? 'CAIRN_E_RECORD_CORRUPT', (err as Error).message);
    }
  }

  /** Asks the agent to create the file (once); verify and deleted entries need no agent. */
  private async create(file: OpenFile): Promise<void> {
    if (file.created) return;
    file.created = true;
    if (file.entry.kind === 'deleted') return;
    if (this.a.mode === 'verify') {
      file.action = 'extract';
      return;
    }
    try {
      const slot = await this.slot(file.agentName);
      file.action = await slot.runner.call('createFile', () => slot.agent.createFile(file.entry), { path: file.entry.path });
    } catch (err) {
      file.ok = false;
      file.action = 'skip';
      this.fileProblem(file, (err as CairnError).code ?? 'CAIRN_E_AGENT_FAILED', (err as Error).message);
    }
  }

  /** The next file's attributes (or a pack index) came: the current file waits for its pack if it may be in one, else it is closed. */
  private async settle(cur: OpenFile): Promise<void> {
    this.current = null;
    if (!cur.touched && cur.entry.kind !== 'deleted' && packableStream(cur.entry)) {
      this.waiting.set(cur.fileIndex, cur);
      return;
    }
    await this.closeFile(cur, cur.ok && cur.streamsDone === cur.entry.streams.length, 'some of its data records are missing');
  }

  private async closeCurrent(ok: boolean, whyNot: string): Promise<void> {
    const cur = this.current;
    if (!cur) return;
    this.current = null;
    await this.closeFile(cur, ok, whyNot);
  }

  /** Closes, as not restored, every waiting file up to `last`. */
  private async failWaiting(last: number, whyNot: string): Promise<void> {
    for (const [fileIndex, file] of this.waiting) {
      if (fileIndex > last) break;
      this.waiting.delete(fileIndex);
      await this.closeFile(file, false, whyNot);
    }
  }

  /** A pack's bytes: each member that a waiting file expects is checked, then created, written and ended in one go. */
  private async unpack(jobId: number, type: number, fileIndex: number, payload: Uint8Array, piece: PackPiece | null, location: { volume: string; block: number }): Promise<void> {
    const pack = this.pack;
    this.pack = null;
    if (!pack || pack.jobId !== jobId || pack.first !== fileIndex) {
      this.problems.push({ jobId, fileIndex, code: 'CAIRN_E_RECORD_CORRUPT', text: 'pack data without its index', volume: location.volume, block: location.block });
      return;
    }
    const total = pack.members.reduce((a, m) => a + m.length, 0);
    let plain: Buffer | null = null;
    let digests: Buffer[] | null = null;
    let why = '';
    if (piece) {
      if (piece.compressed) ({ data: plain, digests } = piece);
      else why = 'it does not decode to its members';
    } else {
      try {
        plain = type === StreamType.PACK_DATA_ZSTD ? unzstd(payload) : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
        if (plain.length !== total) {
          why = `it holds ${plain.length} bytes, its index ${total}`;
          plain = null;
        }
      } catch (err) {
        why = (err as Error).message;
      }
    }
    let offset = 0;
    for (let i = 0; i < pack.members.length; i++) {
      const m = pack.members[i];
      const bytes = plain?.subarray(offset, offset + m.length);
      offset += m.length;
      const file = this.waiting.get(m.fileIndex);
      if (!file) continue; // not selected, or not a file that waits (then the index is wrong: it fails below)
      this.waiting.delete(m.fileIndex);
      file.lastLocation = { volume: location.volume, block: location.block };
      file.touched = true;
      const stream = file.entry.streams[0];
      if (!bytes) {
        await this.closeFile(file, false, `its pack in block ${location.block} of volume ${location.volume} is damaged: ${why}`);
        continue;
      }
      const got = digests ? digests[i] : createHash('sha256').update(bytes).digest();
      if (stream.index !== m.streamNo) {
        file.ok = false;
        this.fileProblem(file, 'CAIRN_E_RECORD_CORRUPT', `its pack member is stream ${m.streamNo}, which the file does not declare`);
      } else {
        this.checkDigest(file, m.streamNo, got, m.digest, bytes.length, m.length);
      }
      if (file.ok) {
        await this.create(file);
        if (this.a.mode === 'restore' && file.action === 'extract' && file.ok && bytes.length) await this.writeToAgent(file, stream, bytes);
        this.bytes += bytes.length;
      }
      file.streamsDone = 1;
      await this.closeFile(file, true, '');
    }
    await this.failWaiting(pack.last, `its pack (files ${pack.first}–${pack.last}) does not hold it`);
  }

  /** One writeData through the runner; a failure marks the file failed and lists it. */
  private async writeToAgent(file: OpenFile, stream: StreamDesc, chunk: DataChunk): Promise<void> {
    const slot = await this.slot(file.agentName);
    try {
      await slot.runner.call('writeData', () => slot.agent.writeData(file.entry, stream, chunk), { path: file.entry.path });
    } catch (err) {
      file.ok = false;
      this.fileProblem(file, (err as CairnError).code ?? 'CAIRN_E_AGENT_FAILED', (err as Error).message);
    }
  }

  /** Compares a stream's digest and length with the volume's record and the catalog; a mismatch is a problem of the file. */
  private checkDigest(file: OpenFile, streamNo: number, got: Buffer, want: Buffer, length: number, wantLength: number): void {
    if (!file.ok) return; // already failed and named (a broken seal, a failed write): its digest cannot add anything
    const fromCatalog = streamNo === 0 ? this.a.catalogDigest?.(file.jobId, file.fileIndex) : undefined;
    if (!got.equals(want)) {
      file.ok = false;
      this.fileProblem(file, 'CAIRN_E_DIGEST_MISMATCH', `stream ${streamNo} has SHA-256 ${got.toString('hex')}, backup recorded ${want.toString('hex')}`);
    } else if (fromCatalog && !fromCatalog.equals(want)) {
      file.ok = false;
      this.fileProblem(file, 'CAIRN_E_DIGEST_MISMATCH', `stream ${streamNo} on the volume has SHA-256 ${want.toString('hex')}, the catalog says ${fromCatalog.toString('hex')}`);
    } else if (length !== wantLength) {
      file.ok = false;
      this.fileProblem(file, 'CAIRN_E_FILE_INCOMPLETE', `stream ${streamNo} has ${length} bytes, backup recorded ${wantLength}`);
    }
  }

  private async closeFile(cur: OpenFile, ok: boolean, whyNot: string): Promise<void> {
    cur.decoder?.discard(); // a stream whose digest record never came
    cur.decoder = null;
    if (cur.entry.kind === 'deleted') return;
    if (!ok && cur.ok) this.fileProblem(cur, 'CAIRN_E_FILE_INCOMPLETE', `not restored whole: ${whyNot}`);
    // A file without data records is created here; one that failed before its data came never reaches the agent.
    if (ok && cur.ok) await this.create(cur);
    const good = ok && cur.ok;
    if (this.a.mode === 'restore' && cur.created && cur.action !== 'skip') {
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
          chunks: this.a.chunks,
          allowCommands: this.a.allowCommands,
          sinks: { message: (m) => this.messages.push(m), bytes: () => undefined, file: () => undefined },
        });
        const { options } = prepareAgentOptions(loaded.module, this.a.overrides?.[man.name] ?? {}, 'restore');
        const agent = await createAgentGuarded(loaded.module, ctx, runner, 'prepareRestore');
        this.created.push(agent);
        const log = effectiveRestoreKind(man, loaded.api) === 'log';
        const job: RestoreJob = { jobId: 0, where: this.a.where, replace: this.a.replace, options, ...(log && this.a.recoveryTarget ? { recoveryTarget: this.a.recoveryTarget } : {}) };
        await runner.call('prepareRestore', () => agent.prepareRestore(job));
        return { runner, agent };
      })();
      this.agents.set(agentName, p);
    }
    return p;
  }

  /** Ends the agents' processes (process isolation); call once the restore is over, whatever its outcome. */
  async close(): Promise<void> {
    for (const a of this.created.splice(0)) await closeAgent(a).catch(() => undefined);
    for (const p of this.agents.values()) {
      const slot = await p.catch(() => null);
      slot?.runner.stopWatchdog();
    }
  }

  /** Ends every agent's restore (directory times are set here by the fs agent). */
  async finish(): Promise<void> {
    for (const p of this.agents.values()) {
      const slot = await p;
      await slot.runner.call('endRestore', () => slot.agent.endRestore());
    }
  }
}

/**
 * What a read-ahead record costs the window: its decompressed size when it is a zstd frame (the pool
 * decompresses it into a slab held until it is handled), else its payload. Counting compressed bytes
 * let 1 GiB of zeros (frames of ~100 bytes) hold ~2,000 decompressed MiB at once.
 */
function windowCost(streamType: number, payload: Uint8Array): number {
  if (streamType !== StreamType.DATA_ZSTD && streamType !== StreamType.SPARSE_DATA_ZSTD && streamType !== StreamType.PACK_DATA_ZSTD) return payload.byteLength;
  const frame = streamType === StreamType.SPARSE_DATA_ZSTD ? payload.subarray(8) : payload;
  return Math.max(payload.byteLength, contentSize(frame) ?? 0);
}
