/**
 * A dedicated thread (node:worker_threads, core/hash-worker.ts) that keeps
 * the running SHA-256 of large streams off the main thread, for backup and
 * restore alike. Chunks are posted in order; a chunk that lies in a slab
 * (core/slab-ring.ts) is shared as is and its slab held until the thread
 * acknowledges it, any other chunk is first copied into a slab of the
 * thread's own ring. backlog() lets a producer wait while too many bytes are
 * queued (bounds memory when hashing is the slower side). If the thread
 * dies, every stream it was hashing fails with CAIRN_E_FD_PIPELINE; the
 * next stream starts a new thread.
 */
import { Buffer } from 'node:buffer';
import { Worker } from 'node:worker_threads';
import { CairnError } from '../plugin-api/index.js';
import { SlabRing, slabOf, type Slab } from './slab-ring.js';
import type { HashReply, HashRequest } from './hash-worker.js';

/** A stream's handle on the thread: the generation tells a stream begun on a thread that has since died. */
export interface HashStream {
  id: number;
  generation: number;
}

export class HashThread {
  private worker: Worker | null = null;
  private generation = 0;
  private nextId = 1;
  private nextSeq = 1;
  private readonly held = new Map<number, { slab: Slab; bytes: number }>();
  private readonly finals = new Map<number, { resolve: (d: Buffer) => void; reject: (e: unknown) => void }>();
  private pendingBytes = 0;
  private drainWaiters: Array<{ limit: number; resolve: () => void }> = [];
  // Room for the whole backlog (core/stream-digest.ts HASH_BACKLOG_BYTES) and then some: a slab dropped and
  // replaced would stay alive until both threads' GCs ran, which the hash thread, allocating little, seldom does.
  private readonly ring = new SlabRing(1 << 20, 8);
  private failure: CairnError | null = null;

  constructor(private readonly script: URL = new URL('./hash-worker.js', import.meta.url)) {}

  /** Starts the thread now rather than at the first stream (it takes ≈ 100 ms to boot on a busy machine). */
  start(): void {
    this.ensure();
  }

  /** Starts a stream. */
  open(): HashStream {
    this.ensure();
    return { id: this.nextId++, generation: this.generation };
  }

  /** Adds the next chunk of a stream. */
  update(s: HashStream, data: Uint8Array): void {
    if (s.generation !== this.generation || !this.worker) return; // its thread died: finish() says so
    let slab = slabOf(data)?.hold();
    let view = data;
    if (!slab) {
      slab = this.ring.acquire(data.byteLength);
      view = new Uint8Array(slab.sab, 0, data.byteLength);
      view.set(data);
    }
    const seq = this.nextSeq++;
    this.held.set(seq, { slab, bytes: data.byteLength });
    this.pendingBytes += data.byteLength;
    this.post({ op: 'update', id: s.id, seq, buffer: view.buffer as SharedArrayBuffer, offset: view.byteOffset, length: view.byteLength });
  }

  /** The stream's digest, once every chunk posted before is hashed. */
  finish(s: HashStream): Promise<Buffer> {
    if (s.generation !== this.generation || !this.worker) return Promise.reject(this.failure ?? dead());
    return new Promise<Buffer>((resolve, reject) => {
      this.finals.set(s.id, { resolve, reject });
      this.post({ op: 'finish', id: s.id });
    });
  }

  /** Forgets a stream that will not be finished. */
  drop(s: HashStream): void {
    // No answer comes for a drop: posted without holding a reference, or an idle thread would keep the process alive.
    if (s.generation === this.generation && this.worker) this.worker.postMessage({ op: 'drop', id: s.id } satisfies HashRequest);
  }

  /** Null when at most `limit` bytes wait to be hashed, else a promise of that. */
  backlog(limit: number): Promise<void> | null {
    if (this.pendingBytes <= limit || !this.worker) return null;
    return new Promise((resolve) => this.drainWaiters.push({ limit, resolve }));
  }

  /** Stops the thread (tests; the process-wide thread is left unref'd instead). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  private ensure(): void {
    if (this.worker) return;
    this.generation++;
    this.failure = null;
    // A small heap: the thread holds a few hashes and message wrappers; a small young generation also collects those wrappers (and frees dropped slabs) sooner.
    const w = new Worker(this.script, { resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32 } });
    w.on('message', (m: HashReply) => this.onReply(m));
    w.on('error', (err) => this.fail(w, err));
    w.on('exit', (code) => this.fail(w, new Error(`hash thread exited with code ${code}`)));
    // After the listeners: adding a 'message' listener references the thread again.
    w.unref();
    this.worker = w;
  }

  private post(m: HashRequest): void {
    // Referenced only while it owes an answer: an idle hash thread must not keep the process alive.
    this.worker!.ref();
    this.worker!.postMessage(m);
  }

  private onReply(m: HashReply): void {
    if (m.op === 'ack') {
      const h = this.held.get(m.seq);
      if (!h) return;
      this.held.delete(m.seq);
      this.pendingBytes -= h.bytes;
      h.slab.release();
      if (this.drainWaiters.length) {
        const still = this.drainWaiters.filter((w) => this.pendingBytes > w.limit);
        for (const w of this.drainWaiters) if (this.pendingBytes <= w.limit) w.resolve();
        this.drainWaiters = still;
      }
    } else {
      const f = this.finals.get(m.id);
      this.finals.delete(m.id);
      f?.resolve(Buffer.from(m.digest.buffer, m.digest.byteOffset, m.digest.byteLength));
    }
    if (this.held.size === 0 && this.finals.size === 0) this.worker?.unref();
  }

  private fail(w: Worker, err: unknown): void {
    if (this.worker !== w) return; // closed on purpose, or already failed
    this.worker = null;
    this.failure = new CairnError('CAIRN_E_FD_PIPELINE', `the hash thread failed: ${(err as Error)?.message ?? String(err)}`, {}, { cause: err });
    for (const h of this.held.values()) h.slab.release();
    this.held.clear();
    this.pendingBytes = 0;
    for (const f of this.finals.values()) f.reject(this.failure);
    this.finals.clear();
    for (const d of this.drainWaiters) d.resolve();
    this.drainWaiters = [];
    void w.terminate();
  }
}

function dead(): CairnError {
  return new CairnError('CAIRN_E_FD_PIPELINE', 'the hash thread stopped before the stream was finished', {});
}

let shared: HashThread | null = null;

/** The process-wide hash thread (started on first use). */
export function hashThread(): HashThread {
  return (shared ??= new HashThread());
}
