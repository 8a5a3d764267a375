/**
 * Reusable shared memory for the restore and hashing pipelines. A slab is a
 * SharedArrayBuffer that a zstd worker decompresses into and the hash thread
 * reads, with no copy between threads. Each user of a slab holds it and
 * releases it when done; the last release puts it back on its ring's free
 * list for the next batch (so restoring a large file does not churn
 * external memory). A request bigger than the ring's slab size gets a
 * one-off slab that is dropped (left to GC) on its last release.
 */

export class Slab {
  private refs = 0;
  constructor(
    readonly sab: SharedArrayBuffer,
    /** The ring that made it; a one-off slab (bigger than the ring's size) is never given back. */
    readonly ring: SlabRing,
    private readonly reusable: boolean,
  ) {}

  /** One more user; it must call release() once. */
  hold(): this {
    this.refs++;
    return this;
  }

  release(): void {
    if (this.refs <= 0) throw new Error('slab released more often than held');
    if (--this.refs === 0 && this.reusable) this.ring.giveBack(this);
  }

  get holders(): number {
    return this.refs;
  }
}

/** Slab that backs a view, when the view lies in one (for holding it beyond the call that got it). */
const owners = new WeakMap<SharedArrayBuffer, Slab>();

export function slabOf(view: Uint8Array): Slab | undefined {
  return view.buffer instanceof SharedArrayBuffer ? owners.get(view.buffer) : undefined;
}

export class SlabRing {
  private readonly free: Slab[] = [];
  /** Slabs created (for tests and benchmarks): with reuse it stays near the number in flight. */
  created = 0;

  constructor(
    readonly slabBytes: number,
    private readonly maxFree: number,
  ) {}

  /** A slab of at least `bytes`, held once by the caller. */
  acquire(bytes: number): Slab {
    let slab: Slab;
    if (bytes > this.slabBytes) slab = new Slab(new SharedArrayBuffer(bytes), this, false);
    else slab = this.free.pop() ?? new Slab(new SharedArrayBuffer(this.slabBytes), this, true);
    if (!owners.has(slab.sab)) {
      owners.set(slab.sab, slab);
      this.created++;
    }
    return slab.hold();
  }

  /** Slabs waiting for reuse. */
  get freeCount(): number {
    return this.free.length;
  }

  /** @internal the slab's last holder let go. */
  giveBack(slab: Slab): void {
    if (this.free.length < this.maxFree) this.free.push(slab);
  }
}
