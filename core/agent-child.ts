/**
 * The agent's own process under process isolation: started by
 * core/agent-process.ts as `node agent-child.js SOCKET`, it loads one agent
 * module and serves the host's calls over the Unix socket it listens on (the FD connects; frames of
 * core/ipc-frames.ts), one call at a time, in order. The context the agent
 * gets is built here (agent-child-context.ts): log, job messages and
 * progress go back as events; the signal aborts when the host says so;
 * isIncluded, chunk buffers, platform services and the command service run
 * here, with the host's include/exclude rules and commands.allow.
 * readData streams chunks as raw frames under the host's credit (at most
 * CHUNK_WINDOW_BYTES unconsumed), so memory stays bounded on both sides.
 * When the host closes the socket (or dies) this process exits.
 */
import { createServer, type Socket } from 'node:net';
import { Buffer } from 'node:buffer';
import { pathToFileURL } from 'node:url';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  isCairnError,
  isSparseChunk,
  type Agent,
  type AgentModule,
  type BackupJob,
  type DataChunk,
  type FileEntry,
  type HookName,
  type StreamDesc,
} from '../plugin-api/index.js';
import { admitModule } from './agent-loader.js';
import { FrameReader, Kind, MAX_FRAME_PAYLOAD, decodeControl, sendControl, sendFrame, type FrameHeader } from './ipc-frames.js';
import { childContext, remoteBaseJob, type ChildContext, type CreateArgs, type WireJob } from './agent-child-context.js';

/** A hook call as the host sends it. */
interface CallMessage {
  hook: HookName | 'load' | 'create';
  args: Record<string, unknown>;
}

/** An error as plain data (what crosses the channel). */
export interface WireError {
  message: string;
  name: string;
  code?: string;
  cairn: boolean;
  fields?: Record<string, unknown>;
  retryable?: boolean;
  stack?: string;
}

export function errorToWire(err: unknown): WireError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const out: WireError = { message: err.message, name: err.name, code: typeof code === 'string' ? code : undefined, cairn: isCairnError(err), stack: err.stack };
    if (isCairnError(err)) {
      out.fields = cloneable(err.fields);
      out.retryable = err.retryable;
    }
    return out;
  }
  return { message: `a non-Error value was thrown: ${String(err)}`, name: 'NonError', cairn: false };
}

/** Facts that survive structured cloning (functions and the like become strings). */
export function cloneable(v: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!v) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    out[k] = x === null || ['string', 'number', 'boolean', 'bigint', 'undefined'].includes(typeof x) || x instanceof Uint8Array ? x : safeString(x);
  }
  return out;
}

function safeString(x: unknown): string {
  try {
    return x instanceof Error ? x.message : JSON.stringify(x) ?? String(x);
  } catch {
    return String(x);
  }
}

/** Largest readData frame: a bigger chunk is cut (the host's reader refuses frames over MAX_FRAME_PAYLOAD). */
const MAX_CHUNK_FRAME = MAX_FRAME_PAYLOAD / 4;

interface StreamState {
  sent: number;
  credited: number;
  window: number;
  stopped: boolean;
  wake: (() => void) | null;
}

class AgentServer {
  private mod: AgentModule | null = null;
  private agent: Agent | null = null;
  private cx: ChildContext | null = null;
  /** The entry nextFile returned last (readData names it by ref). */
  private lastEntry: { ref: number; entry: FileEntry } | null = null;
  private nextRef = 1;
  /** Restore: entries from createFile until endFile, by the host's ref. */
  private readonly restoring = new Map<number, FileEntry>();
  private readonly streams = new Map<number, StreamState>();
  /** Calls run one at a time, in arrival order. */
  private queue: Promise<void> = Promise.resolve();
  private drainWaiters: Array<() => void> = [];

  constructor(private readonly sock: Socket) {
    const reader = new FrameReader((h, p) => this.onFrame(h, p));
    sock.on('data', (d: Buffer) => reader.push(d));
    sock.on('drain', () => {
      const w = this.drainWaiters;
      this.drainWaiters = [];
      for (const f of w) f();
    });
    // The host closed the channel or died: nothing more will be asked of this process.
    const bye = (): void => process.exit(0);
    sock.on('end', bye);
    sock.on('close', bye);
    sock.on('error', bye);
  }

  private onFrame(h: FrameHeader, payload: Buffer): void {
    switch (h.kind) {
      case Kind.CALL: {
        const msg = decodeControl<CallMessage>(payload);
        this.enqueue(() => this.call(h.id, msg));
        return;
      }
      case Kind.WRITE: {
        // The payload may be a view of the socket's read buffer: the agent may keep it until its promise settles, which is fine.
        this.enqueue(() => this.write(h, payload));
        return;
      }
      case Kind.CREDIT: {
        const s = this.streams.get(h.id);
        if (s) {
          s.credited += h.aux;
          s.wake?.();
        }
        return;
      }
      case Kind.STOP: {
        const s = this.streams.get(h.id);
        if (s) {
          s.stopped = true;
          s.wake?.();
        }
        return;
      }
      case Kind.ABORT: {
        const r = decodeControl<{ code: string; message: string }>(payload);
        this.cx?.abort(r);
        return;
      }
      case Kind.BASE_PAGE:
        this.cx?.basePage(h.id, decodeControl(payload));
        return;
      default:
        throw new Error(`agent process: unknown frame kind ${h.kind}`);
    }
  }

  private enqueue(fn: () => Promise<void>): void {
    this.queue = this.queue.then(fn, fn);
  }

  private reply(id: number, value: unknown): void {
    this.cx?.flushProgress();
    sendControl(this.sock, Kind.REPLY, id, value);
  }

  private fail(id: number, err: unknown): void {
    this.cx?.flushProgress();
    sendControl(this.sock, Kind.FAIL, id, errorToWire(err));
  }

  private async call(id: number, msg: CallMessage): Promise<void> {
    try {
      const a = msg.args;
      switch (msg.hook) {
        case 'load': {
          const url = String(a.url);
          const mod = await import(url.startsWith('file:') ? url : pathToFileURL(url).href);
          this.mod = admitModule(String(a.spec), mod);
          return this.reply(id, { manifest: this.mod.manifest });
        }
        case 'create': {
          if (!this.mod) throw new Error('create before load');
          this.cx = childContext(this.mod.manifest, a as unknown as CreateArgs, this.sock);
          this.agent = await this.mod.createAgent(this.cx.ctx);
          const hooks = Object.keys(HOOK_NAMES).filter((h) => typeof (this.agent as unknown as Record<string, unknown>)[h] === 'function');
          return this.reply(id, { hooks });
        }
        case 'readData':
          return await this.readData(id, a);
        default:
          return this.reply(id, await this.hook(msg.hook, a));
      }
    } catch (err) {
      this.fail(id, err);
    }
  }

  private job(j: WireJob): BackupJob {
    this.cx!.setRules(j.include, j.exclude);
    return { ...(j as unknown as BackupJob), base: j.base ? remoteBaseJob(j.base, this.cx!) : undefined };
  }

  private async hook(hook: HookName, a: Record<string, unknown>): Promise<unknown> {
    const agent = this.agent;
    if (!agent) throw new Error(`${hook} before createAgent`);
    switch (hook) {
      case 'prepareBackup':
        return agent.prepareBackup(this.job(a.job as WireJob));
      case 'estimate':
        return agent.estimate!(this.job(a.job as WireJob));
      case 'nextFile': {
        const entry = await agent.nextFile();
        if (entry === null || entry === undefined) {
          this.lastEntry = null;
          return null;
        }
        const ref = this.nextRef++;
        this.lastEntry = { ref, entry };
        return { ref, entry };
      }
      case 'endBackup':
        return agent.endBackup();
      case 'jobEnded':
        return agent.jobEnded!(a.status as never);
      case 'checkFile':
        return agent.checkFile!(a.file as never);
      case 'prepareRestore':
        return agent.prepareRestore(a.job as never);
      case 'createFile': {
        const entry = a.entry as FileEntry;
        const ref = a.ref as number;
        this.restoring.set(ref, entry);
        try {
          const r = await agent.createFile(entry);
          if (r === 'skip') this.restoring.delete(ref);
          return r;
        } catch (err) {
          this.restoring.delete(ref);
          throw err;
        }
      }
      case 'endFile': {
        const ref = a.ref as number;
        const entry = this.restoring.get(ref) ?? (a.entry as FileEntry | undefined);
        this.restoring.delete(ref);
        if (!entry) throw new Error('endFile for a file createFile did not see');
        return agent.endFile(entry, a.ok === true);
      }
      case 'endRestore':
        return agent.endRestore();
      default:
        throw new Error(`the host called ${hook}, which is not a hook this process serves`);
    }
  }

  private async write(h: FrameHeader, payload: Buffer): Promise<void> {
    try {
      const entry = this.restoring.get(h.ref);
      if (!entry) throw new Error('writeData for a file createFile did not see');
      const stream: StreamDesc = entry.streams.find((s) => s.index === h.aux) ?? { index: h.aux, name: 'data', layout: h.offset >= 0 ? 'sparse' : 'sequential' };
      const chunk: DataChunk = h.offset >= 0 ? { offset: h.offset, data: payload } : payload;
      await this.agent!.writeData(entry, stream, chunk);
      this.reply(h.id, undefined);
    } catch (err) {
      this.fail(h.id, err);
    }
  }

  private async readData(id: number, a: Record<string, unknown>): Promise<void> {
    const agent = this.agent;
    if (!agent) throw new Error('readData before createAgent');
    const ref = a.ref as number | undefined;
    const file = ref !== undefined && this.lastEntry?.ref === ref ? this.lastEntry.entry : (a.entry as FileEntry | undefined);
    if (!file) throw new Error('readData for an entry nextFile did not return last');
    const stream = a.stream as StreamDesc;
    const s: StreamState = { sent: 0, credited: 0, window: a.window as number, stopped: false, wake: null };
    this.streams.set(id, s);
    let it: Iterator<DataChunk> | AsyncIterator<DataChunk> | null = null;
    let done = false;
    try {
      const source = agent.readData(file, stream);
      if (source === null || typeof source !== 'object' || ArrayBuffer.isView(source)) {
        throw new TypeError(`readData returned ${source === null ? 'null' : ArrayBuffer.isView(source) ? 'a byte array' : typeof source}, not an iterable of chunks`);
      }
      it = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : (source as Iterable<DataChunk>)[Symbol.iterator]();
      while (!s.stopped) {
        const step = await it.next();
        if (step.done) {
          done = true;
          break;
        }
        const chunk = step.value;
        const data = isSparseChunk(chunk) ? chunk.data : chunk;
        if (!(data instanceof Uint8Array)) throw new TypeError('readData yielded a chunk that is not a Uint8Array or { offset, data }');
        // Credit: the host has consumed all but `window` bytes of what was sent (one chunk may exceed it alone).
        while (!s.stopped && s.sent - s.credited > 0 && s.sent - s.credited + data.byteLength > s.window) {
          await new Promise<void>((r) => (s.wake = r));
          s.wake = null;
        }
        if (s.stopped) break;
        // A chunk larger than a frame may carry goes in pieces (agents SHOULD yield ≤ 1 MiB); its buffer is given back after the last.
        const base = isSparseChunk(chunk) ? chunk.offset : -1;
        let ok = true;
        for (let at = 0; at < data.byteLength || at === 0; at += MAX_CHUNK_FRAME) {
          const piece = data.subarray(at, Math.min(data.byteLength, at + MAX_CHUNK_FRAME));
          const last = at + MAX_CHUNK_FRAME >= data.byteLength;
          ok = sendFrame(this.sock, Kind.CHUNK, id, { offset: base >= 0 ? base + at : -1, payload: piece }, last ? () => this.cx?.chunkDone(data) : undefined);
          if (last) break;
        }
        s.sent += data.byteLength;
        if (!ok) await new Promise<void>((r) => this.drainWaiters.push(r));
      }
      if (!done && it.return) await it.return();
      this.cx?.flushProgress();
      sendFrame(this.sock, Kind.END, id);
    } catch (err) {
      if (!done && it?.return) await Promise.resolve(it.return()).catch(() => undefined);
      this.fail(id, err);
    } finally {
      this.streams.delete(id);
    }
  }
}

const HOOK_NAMES: Record<HookName, true> = {
  prepareBackup: true, nextFile: true, readData: true, endBackup: true, jobEnded: true, prepareRestore: true,
  createFile: true, writeData: true, endFile: true, endRestore: true, estimate: true, checkFile: true,
};

/** How long the child waits for the FD to connect before it gives up (the FD died meanwhile). */
const CONNECT_WAIT_MS = 60_000;

/** Listens on `path` (a folder only the FD's user can enter), serves the first connection — the FD's — and no other. */
export function serveAgent(path: string): void {
  // The FD died before it connected: remove the socket's folder (the FD removes it once connected) and go.
  const giveUp = setTimeout(() => {
    rmSync(dirname(path), { recursive: true, force: true });
    process.exit(0);
  }, CONNECT_WAIT_MS);
  const server = createServer((sock: Socket) => {
    clearTimeout(giveUp);
    server.close();
    new AgentServer(sock);
  });
  server.maxConnections = 1;
  server.listen(path);
}

// Run as the child's entry point (not when imported for its helpers).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) serveAgent(process.argv[2]);
