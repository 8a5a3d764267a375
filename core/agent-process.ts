/**
 * The host side of process isolation: an agent running in a child process
 * of its own (core/agent-child.ts), driven through an object that is an
 * ordinary Agent to the sessions and the HookRunner — backup and restore do
 * not know where the agent runs.
 *
 * AgentProcess owns the child: it spawns `node agent-child.js SOCKET`,
 * connects to the Unix socket the child listens on (reading with net
 * `onread`, so a chunk's bytes land straight in the host's chunk buffers),
 * matches replies to calls, feeds readData chunks to an iterator that grants the
 * child credit as they are consumed, answers the child's base-file page
 * requests, and relays context events. When the child dies — it exited,
 * crashed, aborted or was killed — every call in flight and every later call
 * rejects with CAIRN_E_AGENT_EXITED (the HookRunner turns that into
 * CAIRN_E_AGENT_FAILED naming agent, hook and file). A hook that times out
 * gets the child killed at once (SIGKILL: a busy loop answers nothing
 * else); a cancelled job gets an ABORT and, if its call is still running
 * 2 s later, the same. The child is always reaped (its exit is awaited).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Buffer } from 'node:buffer';
import { createConnection, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CairnError,
  isCairnError,
  isSparseChunk,
  type Agent,
  type AgentContext,
  type AgentLogger,
  type AgentManifest,
  type AgentModule,
  type BackupJob,
  type BaseFile,
  type BaseJob,
  type DataChunk,
  type FileEntry,
  type HookName,
  type HookRunner,
  type StreamDesc,
} from '../plugin-api/index.js';
import { FrameReader, Kind, decodeControl, sendControl, sendFrame, type FrameHeader } from './ipc-frames.js';
import type { WireError } from './agent-child.js';
import type { BasePage, ChildEvent, CreateArgs, WireJob } from './agent-child-context.js';

const CHILD_ENTRY = fileURLToPath(new URL('./agent-child.js', import.meta.url));

/**
 * Bytes of readData the child may send ahead of what the host has taken: enough that the agent's reads
 * overlap the host's compression (a chunk is ≤ 1 MiB), small enough that a host that stalls holds little.
 */
export const CHUNK_WINDOW_BYTES = 8 << 20;
/**
 * Restore: bytes of writeData sent to the child and not yet written by the agent. A few chunks, so the
 * child writes one while the next crosses the socket (a round trip per chunk halved restore speed).
 */
export const WRITE_WINDOW_BYTES = 4 << 20;
/** The host grants credit back in steps of at least this (one CREDIT frame per MiB consumed). */
const CREDIT_STEP_BYTES = 1 << 20;
/** A cancelled job's call in flight may run this long after the ABORT before the child is killed. */
export const ABORT_GRACE_MS = 2000;
/** How long a child may take to exit once its channel is closed, before SIGKILL. */
const CLOSE_GRACE_MS = 2000;
/** Base files per page sent to the child. */
const BASE_PAGE_ROWS = 1000;
/** Lines of the child's stderr kept for the message when it dies (an uncaught exception's report). */
const STDERR_TAIL_LINES = 8;

/** Closes an agent's process (a no-op for an in-process agent). */
export const CLOSE_AGENT = Symbol.for('cairn.closeAgent');

export async function closeAgent(agent: Agent | null | undefined): Promise<void> {
  const close = (agent as unknown as Record<symbol, (() => Promise<void>) | undefined> | null)?.[CLOSE_AGENT];
  if (close) await close();
}

const live = new Set<AgentProcess>();
let exitHook = false;

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

export class AgentProcess {
  readonly child: ChildProcess;
  /** The channel, once connected (frames sent before that wait in `queued`). */
  private sock: Socket | null = null;
  private queued: Array<(s: Socket) => void> = [];
  private readonly dir: string;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly streams = new Map<number, ChunkQueue>();
  private readonly bases = new Map<number, BaseJob>();
  private readonly cursors = new Map<number, AsyncIterator<BaseFile>>();
  private nextBase = 1;
  private died: CairnError | null = null;
  private exit: { code: number | null; signal: string | null } | null = null;
  private readonly stderrTail: string[] = [];
  private refd = false;
  /** Resolves once the child has exited and been reaped. */
  readonly exited: Promise<void>;
  onEvent: (e: ChildEvent) => void = () => undefined;
  /** Allocates the buffer a readData chunk is copied into (the host's chunk buffers). */
  alloc: (size: number) => Buffer = (size) => Buffer.allocUnsafe(size);
  killedFor: string | null = null;

  constructor(
    readonly agent: string,
    private readonly log?: AgentLogger,
  ) {
    // The channel is a Unix socket the child listens on, in a folder only this user can enter; the FD
    // connects as the client so that its reads can land straight in the chunk buffers (net `onread`).
    this.dir = mkdtempSync(join(tmpdir(), 'cairn-agent-'));
    const path = join(this.dir, 'ipc.sock');
    this.child = spawn(process.execPath, [CHILD_ENTRY, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    const reader = new FrameReader(
      (h, p) => this.onFrame(h, p),
      (h) => (h.kind === Kind.CHUNK && this.streams.has(h.id) ? this.alloc(h.length) : null),
    );
    void this.connect(path, reader);
    lines(this.child.stdout!, (l) => this.log?.info(`agent process stdout: ${l}`));
    lines(this.child.stderr!, (l) => {
      this.stderrTail.push(l);
      if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
      this.log?.warn(`agent process stderr: ${l}`);
    });
    let onExit!: () => void;
    this.exited = new Promise<void>((r) => (onExit = r));
    this.child.on('error', (err) => {
      this.exit ??= { code: null, signal: null };
      this.fail(new CairnError('CAIRN_E_AGENT_EXITED', `its process could not be started: ${err.message}`, { agent, pid: this.child.pid }, { cause: err }));
      onExit();
    });
    this.child.on('exit', (code, signal) => {
      this.exit = { code, signal };
      live.delete(this);
      this.removeDir();
      // Replies written just before the exit may still be in the socket: reject what is left once it closed (or soon).
      const sock = this.sock;
      if (!sock || sock.destroyed) this.fail(this.deathError());
      else {
        const t = setTimeout(() => this.fail(this.deathError()), 500);
        sock.once('close', () => {
          clearTimeout(t);
          this.fail(this.deathError());
        });
      }
      onExit();
    });
    live.add(this);
    if (!exitHook) {
      exitHook = true;
      // The FD is going away: take the agents' processes with it.
      process.on('exit', () => {
        for (const p of live) p.child.kill('SIGKILL');
      });
    }
    this.idle();
  }

  /** Connects to the child's socket (retrying while it starts), then sends what was queued. */
  private async connect(path: string, reader: FrameReader): Promise<void> {
    const deadline = Date.now() + PROCESS_START_TIMEOUT_MS;
    for (let wait = 5; this.alive; wait = Math.min(wait * 2, 100)) {
      try {
        const sock = await new Promise<Socket>((resolve, reject) => {
          const s = createConnection({
            path,
            onread: {
              buffer: () => reader.readTarget(),
              callback: (n: number, buf: Uint8Array) => {
                try {
                  reader.onRead(n, buf);
                } catch (err) {
                  this.kill(`it sent a malformed frame (${(err as Error).message})`);
                  return false;
                }
                return true;
              },
            },
          });
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        sock.on('error', () => undefined);
        this.removeDir();
        if (!this.alive) {
          sock.destroy();
          return;
        }
        this.sock = sock;
        for (const f of this.queued.splice(0)) f(sock);
        if (!this.busy) this.idle();
        return;
      } catch {
        if (Date.now() > deadline) {
          this.kill(`its channel did not open within ${PROCESS_START_TIMEOUT_MS} ms`);
          return;
        }
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  private removeDir(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Sends now, or once connected. */
  private send(f: (s: Socket) => void): void {
    if (this.sock) f(this.sock);
    else this.queued.push(f);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.died === null && this.exit === null;
  }

  get busy(): boolean {
    return this.pending.size > 0 || this.streams.size > 0;
  }

  /** One call; resolves with the child's reply. */
  call<T>(hook: HookName | 'load' | 'create', args: Record<string, unknown> = {}): Promise<T> {
    if (this.died) return Promise.reject(this.died);
    const id = this.nextId++;
    const p = new Promise<T>((resolve, reject) => this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject }));
    this.busyNow();
    this.send((s) => sendControl(s, Kind.CALL, id, { hook, args }));
    return p;
  }

  /** writeData: the chunk goes as raw bytes; resolves once the agent's writeData settled in the child. */
  /**
   * writeData: the chunk goes as raw bytes. `written` resolves once the socket handed them to the kernel
   * (the chunk's memory may be reused then), `settled` once the agent's writeData settled in the child.
   */
  write(ref: number, stream: number, chunk: DataChunk): { written: Promise<void>; settled: Promise<void> } {
    if (this.died) return { written: Promise.reject(this.died), settled: Promise.reject(this.died) };
    const id = this.nextId++;
    const settled = new Promise<void>((resolve, reject) => this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject }));
    this.busyNow();
    const sparse = isSparseChunk(chunk);
    let onWritten!: () => void;
    const written = new Promise<void>((resolve) => (onWritten = resolve));
    this.send((s) => sendFrame(s, Kind.WRITE, id, { ref, aux: stream, offset: sparse ? chunk.offset : -1, payload: sparse ? chunk.data : chunk }, () => onWritten()));
    // A child that dies before the write completes: the write callback may never come.
    return { written: Promise.race([written, settled]), settled };
  }

  /** readData: the chunks as an async iterator; the call starts now, so the child reads while the host works. */
  stream(args: Record<string, unknown>): ChunkQueue {
    const id = this.nextId++;
    const q = new ChunkQueue(this, id);
    if (this.died) q.fail(this.died);
    else {
      this.streams.set(id, q);
      this.busyNow();
      this.send((s) => sendControl(s, Kind.CALL, id, { hook: 'readData', args: { ...args, window: CHUNK_WINDOW_BYTES } }));
    }
    return q;
  }

  credit(id: number, bytes: number): void {
    if (this.alive) this.send((s) => sendFrame(s, Kind.CREDIT, id, { aux: bytes }));
  }

  stop(id: number): void {
    if (this.streams.delete(id) && this.alive) this.send((s) => sendFrame(s, Kind.STOP, id));
    this.idle();
  }

  /** Registers a base job whose files() the child will read in pages; returns its reference. */
  base(b: BaseJob): number {
    const ref = this.nextBase++;
    this.bases.set(ref, b);
    return ref;
  }

  abort(reason: unknown): void {
    if (!this.alive) return;
    const r = isCairnError(reason) ? { code: reason.code, message: reason.message } : { code: 'CAIRN_E_AGENT_ABORTED', message: 'job cancelled' };
    this.send((s) => sendControl(s, Kind.ABORT, 0, r));
  }

  /** Kills the child now (SIGKILL), saying why in the error calls get. */
  kill(why: string): void {
    if (this.exit) return;
    this.killedFor ??= why;
    this.child.kill('SIGKILL');
  }

  /** Ends the child: closes its channel, waits for it to exit (SIGKILL after 2 s) and reaps it. */
  async close(): Promise<void> {
    if (!this.exit) {
      if (this.sock) this.sock.end();
      else this.kill('it was closed before its channel opened');
      const t = setTimeout(() => this.kill('it did not exit when its channel closed'), CLOSE_GRACE_MS);
      await this.exited;
      clearTimeout(t);
    }
    this.fail(this.deathError());
  }

  private deathError(): CairnError {
    const e = this.exit;
    const how = !e ? 'is gone' : e.code !== null ? `exited with code ${e.code}` : `was killed by ${e.signal}${e.signal === 'SIGABRT' ? ' (it aborted)' : e.signal === 'SIGSEGV' ? ' (it crashed)' : ''}`;
    const why = this.killedFor ? ` (the host killed it: ${this.killedFor})` : '';
    const tail = this.stderrTail.length && !this.killedFor ? `; its last stderr lines: ${this.stderrTail.join(' | ')}` : '';
    return new CairnError('CAIRN_E_AGENT_EXITED', `its process ${how}${why}${tail}`, { agent: this.agent, pid: this.child.pid, exitCode: e?.code ?? null, signal: e?.signal ?? null });
  }

  private fail(err: CairnError): void {
    this.died ??= err;
    const pending = [...this.pending.values()];
    this.pending.clear();
    const streams = [...this.streams.values()];
    this.streams.clear();
    for (const p of pending) p.reject(this.died);
    for (const s of streams) s.fail(this.died);
    this.idle();
  }

  private onFrame(h: FrameHeader, payload: Buffer): void {
    switch (h.kind) {
      case Kind.REPLY:
      case Kind.FAIL: {
        const s = this.streams.get(h.id);
        if (s) {
          // readData failed (or a stray reply): the stream ends with the error.
          this.streams.delete(h.id);
          if (h.kind === Kind.FAIL) s.fail(wireToError(decodeControl<WireError>(payload)));
          else s.end();
          this.idle();
          return;
        }
        const p = this.pending.get(h.id);
        if (!p) return;
        this.pending.delete(h.id);
        this.idle();
        if (h.kind === Kind.REPLY) p.resolve(payload.length ? decodeControl(payload) : undefined);
        else p.reject(wireToError(decodeControl<WireError>(payload)));
        return;
      }
      case Kind.CHUNK: {
        const s = this.streams.get(h.id);
        if (!s) return; // stopped: dropped
        s.push(h.offset >= 0 ? { offset: h.offset, data: payload } : payload);
        return;
      }
      case Kind.END: {
        const s = this.streams.get(h.id);
        this.streams.delete(h.id);
        s?.end();
        this.idle();
        return;
      }
      case Kind.EVENT:
        this.onEvent(decodeControl<ChildEvent>(payload));
        return;
      case Kind.BASE_NEXT:
        void this.basePage(h.ref, h.id);
        return;
      default:
        this.kill(`it sent an unknown frame kind ${h.kind}`);
    }
  }

  private async basePage(ref: number, cursor: number): Promise<void> {
    let page: BasePage;
    try {
      let it = this.cursors.get(cursor);
      if (!it) {
        const b = this.bases.get(ref);
        if (!b) throw new Error(`no base job ${ref}`);
        it = b.files()[Symbol.asyncIterator]();
        this.cursors.set(cursor, it);
      }
      const rows: BaseFile[] = [];
      let done = false;
      while (rows.length < BASE_PAGE_ROWS) {
        const n = await it.next();
        if (n.done) {
          done = true;
          this.cursors.delete(cursor);
          break;
        }
        rows.push(n.value);
      }
      page = { rows, done };
    } catch (err) {
      this.cursors.delete(cursor);
      page = { error: (err as Error).message };
    }
    if (this.alive) this.send((s) => sendControl(s, Kind.BASE_PAGE, cursor, page));
  }

  /** Keeps the event loop alive while the child works for us; an idle child does not hold the host open. */
  private busyNow(): void {
    if (this.refd) return;
    this.refd = true;
    this.child.ref();
    this.sock?.ref();
  }

  private idle(): void {
    if (this.busy && this.alive) return;
    this.refd = false;
    this.child.unref();
    this.sock?.unref();
    (this.child.stdout as Socket | null)?.unref?.();
    (this.child.stderr as Socket | null)?.unref?.();
  }
}

/** An error from the child as the host sees it: a CairnError keeps its code and fields, others their code. */
function wireToError(w: WireError): Error {
  const err = w.cairn && w.code ? new CairnError(w.code, w.message, w.fields ?? {}, { retryable: w.retryable }) : Object.assign(new Error(w.message), w.code ? { code: w.code } : {});
  if (!w.cairn) err.name = w.name;
  if (w.stack) err.stack = `${w.stack}\n    (in the agent's process)`;
  return err;
}

function lines(stream: NodeJS.ReadableStream, each: (line: string) => void): void {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (s: string) => {
    const parts = (rest + s).split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) if (p) each(p);
  });
  stream.on('end', () => rest && each(rest));
}

/** readData's chunks on the host: filled by CHUNK frames, taken by the session; taking grants the child credit. */
export class ChunkQueue implements AsyncIterableIterator<DataChunk> {
  private readonly items: DataChunk[] = [];
  private ended = false;
  private error: unknown = null;
  private waiter: { resolve(r: IteratorResult<DataChunk>): void; reject(e: unknown): void } | null = null;
  private uncredited = 0;

  constructor(
    private readonly p: AgentProcess,
    private readonly id: number,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Bytes received and not yet taken (bounded by the credit window: CHUNK_WINDOW_BYTES plus one chunk). */
  get buffered(): number {
    let n = 0;
    for (const c of this.items) n += isSparseChunk(c) ? c.data.byteLength : c.byteLength;
    return n;
  }

  push(chunk: DataChunk): void {
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      this.taken(chunk);
      w.resolve({ done: false, value: chunk });
    } else this.items.push(chunk);
  }

  end(): void {
    this.ended = true;
    const w = this.waiter;
    this.waiter = null;
    w?.resolve({ done: true, value: undefined });
  }

  fail(err: unknown): void {
    if (this.ended) return;
    this.error = err;
    this.ended = true;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(err);
  }

  next(): Promise<IteratorResult<DataChunk>> {
    const c = this.items.shift();
    if (c !== undefined) {
      this.taken(c);
      return Promise.resolve({ done: false, value: c });
    }
    if (this.error) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** The host stopped early: the child stops reading (its iterator is returned) and what it still sends is dropped. */
  return(): Promise<IteratorResult<DataChunk>> {
    if (!this.ended) {
      this.ended = true;
      this.p.stop(this.id);
    }
    this.items.length = 0;
    return Promise.resolve({ done: true, value: undefined });
  }

  private taken(c: DataChunk): void {
    this.uncredited += isSparseChunk(c) ? c.data.byteLength : c.byteLength;
    if (this.uncredited >= CREDIT_STEP_BYTES) {
      this.p.credit(this.id, this.uncredited);
      this.uncredited = 0;
    }
  }
}

/** The platform services the child should use: the addon's when the host's are native, else pure Node. */
function platformKind(ctx: AgentContext): CreateArgs['platform'] {
  return ctx.platform.available.batch === true ? 'native' : 'node';
}

/** Reads an agent module's manifest in a child process (the module's code never runs in the host). */
export async function isolatedManifest(url: string, spec: string): Promise<AgentManifest> {
  const p = new AgentProcess(spec);
  try {
    return (await p.call<{ manifest: AgentManifest }>('load', { url, spec })).manifest;
  } finally {
    await p.close();
  }
}

/** What starting an agent's process yields: the agent is created next, under the hook's timeout. */
export interface StartedAgent {
  create(): Promise<Agent>;
  close(): Promise<void>;
}

/** An isolated module's first step: start the process and import the module (the host's work, not a hook). */
export const START_AGENT = Symbol.for('cairn.startAgent');
/**
 * Starting Node and importing the module take ≈ 50–100 ms, seconds on a loaded machine: they are not the
 * agent's doing, so they get this long, not the hook's timeout (a 1.5 s CAIRN_HOOK_TIMEOUT_MS must not
 * fail a job because the machine was busy).
 */
export const PROCESS_START_TIMEOUT_MS = 60_000;

/**
 * Creates an agent through the runner: for an isolated module the process is started first, outside
 * the hook's timeout (its failure is still CAIRN_E_AGENT_FAILED naming agent and hook), then createAgent
 * runs in it under `hook`'s timeout; for an in-process module, createAgent under the timeout.
 */
export async function createAgentGuarded(mod: AgentModule, ctx: AgentContext, runner: HookRunner, hook: HookName): Promise<Agent> {
  const start = (mod as unknown as Record<symbol, ((c: AgentContext) => Promise<StartedAgent>) | undefined>)[START_AGENT];
  if (!start) return runner.call(hook, () => mod.createAgent(ctx));
  let started: StartedAgent;
  try {
    started = await start(ctx);
  } catch (err) {
    const e = err as Error & { code?: string };
    throw new CairnError('CAIRN_E_AGENT_FAILED', `agent ${mod.manifest.name} failed in ${hook}: its process did not start: ${e.message}`, { agent: mod.manifest.name, agentVersion: mod.manifest.version, hook, agentCode: e.code }, { cause: err });
  }
  try {
    return await runner.call(hook, () => started.create());
  } catch (err) {
    await started.close();
    throw err;
  }
}

/**
 * An AgentModule whose agents run in child processes: createAgent(ctx) starts a process, loads the
 * module there and creates the agent with a context served across the channel. `closeAll` ends the
 * live ones (tests and the conformance kit).
 */
export function isolatedAgentModule(url: string, spec: string, manifest: AgentManifest): AgentModule & { closeAll(): Promise<void> } {
  const mine = new Set<AgentProcess>();
  const start = async (ctx: AgentContext): Promise<StartedAgent> => {
    const p = new AgentProcess(manifest.name, ctx.log);
    mine.add(p);
    p.exited.then(() => mine.delete(p));
    p.onEvent = (e) => relay(ctx, e);
    if (typeof ctx.chunkBuffer === 'function') p.alloc = (size) => ctx.chunkBuffer(size);
    const onAbort = (): void => {
      const reason: unknown = ctx.signal.reason;
      if (isCairnError(reason) && reason.code === 'CAIRN_E_AGENT_TIMEOUT') {
        p.kill(`${String(reason.fields.hook)} did not finish within ${String(reason.fields.timeoutMs)} ms`);
        return;
      }
      p.abort(reason);
      if (p.busy) {
        const t = setTimeout(() => p.busy && p.kill(`it was still busy ${ABORT_GRACE_MS} ms after the job was cancelled`), ABORT_GRACE_MS);
        p.exited.then(() => clearTimeout(t));
      }
    };
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener('abort', onAbort, { once: true });
    p.exited.then(() => ctx.signal.removeEventListener('abort', onAbort));
    const slow = setTimeout(() => p.kill(`it did not load the module within ${PROCESS_START_TIMEOUT_MS} ms`), PROCESS_START_TIMEOUT_MS);
    try {
      await p.call('load', { url, spec });
    } catch (err) {
      await p.close();
      throw err;
    } finally {
      clearTimeout(slow);
    }
    return {
      async create() {
        const create: CreateArgs = {
          api: ctx.api,
          host: { name: ctx.host.name, version: ctx.host.version },
          jobId: 0,
          include: [],
          exclude: [],
          allowCommands: [...(ctx.commands?.allowed ?? [])],
          platform: platformKind(ctx),
        };
        const { hooks } = await p.call<{ hooks: string[] }>('create', create as unknown as Record<string, unknown>);
        return isolatedAgent(p, new Set(hooks));
      },
      close: () => p.close(),
    };
  };
  return {
    manifest,
    async createAgent(ctx: AgentContext): Promise<Agent> {
      const s = await start(ctx);
      try {
        return await s.create();
      } catch (err) {
        await s.close();
        throw err;
      }
    },
    [START_AGENT]: start,
    async closeAll() {
      await Promise.all([...mine].map((p) => p.close()));
    },
  } as AgentModule & { closeAll(): Promise<void> };
}

function relay(ctx: AgentContext, e: ChildEvent): void {
  switch (e.t) {
    case 'log':
      ctx.log[e.level]?.(e.msg, e.facts);
      return;
    case 'msg':
      ctx.jobMessage(e.level, e.text, { path: e.path, code: e.code });
      return;
    case 'progress':
      if (e.bytes) ctx.progress.bytes(e.bytes);
      if (e.file) ctx.progress.file(e.file);
      return;
  }
}

/** The Agent the sessions drive: every hook a call to the child. */
function isolatedAgent(p: AgentProcess, hooks: Set<string>): Agent {
  const refs = new WeakMap<FileEntry, number>();
  let nextRef = 1;
  // Restore writes are pipelined: writeData returns once its chunk is in the kernel, while up to
  // WRITE_WINDOW_BYTES wait for the agent; a failure comes back at the file's next writeData or its endFile.
  const writes = new Map<number, { acks: Promise<void>[]; error: unknown }>();
  let unacked = 0;
  const room: Array<() => void> = [];
  const acked = (bytes: number): void => {
    unacked -= bytes;
    if (unacked <= WRITE_WINDOW_BYTES) for (const r of room.splice(0)) r();
  };
  const wireJob = (job: BackupJob): WireJob => {
    const { base, ...rest } = job;
    return { ...rest, include: [...job.include], exclude: [...job.exclude], base: base ? { jobId: base.jobId, level: base.level, startedAt: base.startedAt, ref: p.base(base) } : undefined };
  };
  const fileArg = (file: FileEntry): Record<string, unknown> => {
    const ref = refs.get(file);
    return ref !== undefined ? { ref } : { entry: file };
  };
  const agent: Agent & { [CLOSE_AGENT]: () => Promise<void> } = {
    prepareBackup: (job) => p.call('prepareBackup', { job: wireJob(job) }),
    async nextFile() {
      const r = await p.call<{ ref: number; entry: FileEntry } | null>('nextFile');
      if (!r) return null;
      refs.set(r.entry, r.ref);
      return r.entry;
    },
    readData: (file: FileEntry, stream: StreamDesc) => p.stream({ ...fileArg(file), stream: { ...stream } }),
    endBackup: () => p.call('endBackup'),
    prepareRestore: (job) => p.call('prepareRestore', { job: { ...job } }),
    createFile(file) {
      const ref = nextRef++;
      refs.set(file, ref);
      return p.call('createFile', { ref, entry: file });
    },
    async writeData(file, stream, chunk) {
      const ref = refs.get(file);
      if (ref === undefined) throw new CairnError('CAIRN_E_AGENT_FAILED', 'writeData for a file createFile was not called for', {});
      let w = writes.get(ref);
      if (!w) writes.set(ref, (w = { acks: [], error: null }));
      if (w.error) throw w.error;
      while (unacked > WRITE_WINDOW_BYTES) await new Promise<void>((r) => room.push(r));
      const bytes = isSparseChunk(chunk) ? chunk.data.byteLength : chunk.byteLength;
      unacked += bytes;
      const { written, settled } = p.write(ref, stream.index, chunk);
      const state = w;
      state.acks.push(
        settled.then(
          () => acked(bytes),
          (err) => {
            acked(bytes);
            state.error ??= err;
          },
        ),
      );
      await written;
      if (state.error) throw state.error;
    },
    async endFile(file, ok) {
      const ref = refs.get(file);
      const w = ref !== undefined ? writes.get(ref) : undefined;
      if (ref !== undefined) writes.delete(ref);
      // The agent hears ok only if every write it was sent went well (as in-process: a failed write means endFile(false)).
      if (w) await Promise.all(w.acks);
      const failed = w?.error ?? null;
      await p.call('endFile', ref !== undefined ? { ref, ok: ok && !failed } : { ref: 0, entry: file, ok });
      if (failed && ok) throw failed;
    },
    endRestore: () => p.call('endRestore'),
    [CLOSE_AGENT]: () => p.close(),
  };
  if (hooks.has('jobEnded')) agent.jobEnded = (status) => p.call('jobEnded', { status });
  if (hooks.has('estimate')) agent.estimate = (job) => p.call('estimate', { job: wireJob(job) });
  if (hooks.has('checkFile')) agent.checkFile = (file) => p.call('checkFile', { file: { ...file } });
  return agent;
}
