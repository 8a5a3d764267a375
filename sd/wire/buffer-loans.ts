/**
 * Loaned buffers: reusable memory for the read path (volume scanner → SD
 * connection → in-memory pair → FD), so that restoring a GiB does not touch a
 * GiB of fresh memory. Fresh memory is what costs here: first touching a page
 * costs a fault (≈ 2.5 ms per MiB on the development VM, docs/benchmarks.md),
 * and a restore that churns anonymous memory also slows the page-cache writes
 * of the files it restores.
 *
 * A Loan is a buffer with a reference count. Whoever holds a view that must
 * stay valid holds the loan and releases it exactly once; the last release
 * gives the buffer back to its ring for the next read. Not releasing is always
 * safe (the buffer is then left to GC and the ring makes a new one); releasing
 * early is not, so each hand-over below says who releases:
 *   - the scanner holds one per record it yields (ReadItem.release);
 *   - the SD connection releases a record's hold once the frame carrying it
 *     has been written (the write callback: a socket has copied it by then);
 *   - an in-memory pair (duplexPair) hands the very chunk object to its peer,
 *     so it takes a hold of its own for the reader (passOn) before it calls
 *     the writer back;
 *   - the reader finds that hold by the chunk object (takePassed) and puts it
 *     on the ReadItem it decodes, for the FD to release once it is done.
 */

export class Loan {
  private refs = 0;

  constructor(
    /** The whole buffer; views of it are what travel. */
    readonly bytes: Buffer,
    /** The ring to give it back to on the last release, or null for a one-off. */
    private readonly ring: LoanRing | null,
  ) {
    owners.set(bytes.buffer, this);
  }

  /** One more holder; it must call release() once. */
  hold(): this {
    this.refs++;
    return this;
  }

  release(): void {
    if (this.refs <= 0) throw new Error('loaned buffer released more often than held');
    if (--this.refs === 0) this.ring?.giveBack(this);
  }

  /** A one-shot release (calling it again does nothing): what a ReadItem carries. */
  releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.release();
    };
  }

  get holders(): number {
    return this.refs;
  }
}

/** The loan whose buffer a view lies in. */
const owners = new WeakMap<ArrayBufferLike, Loan>();

export function loanOf(view: Uint8Array): Loan | undefined {
  return owners.get(view.buffer);
}

/** Buffers of one size, reused once their last holder lets go. */
export class LoanRing {
  private readonly free: Loan[] = [];
  /** Buffers made (tests: with reuse it stays near the number in flight). */
  created = 0;

  constructor(
    readonly size: number,
    /** Free buffers kept for reuse; beyond, they are left to GC. */
    private readonly keep: number,
  ) {}

  /** A buffer of `size` bytes, held once by the caller. */
  acquire(): Loan {
    const loan = this.free.pop();
    if (loan) return loan.hold();
    this.created++;
    // Shared memory: the FD's zstd pool reads a frame lying in it in place, on its worker, instead of copying
    // it into an input slab first (the FD keeps the record until its frame is decompressed, core/restore-session.ts).
    return new Loan(Buffer.from(new SharedArrayBuffer(this.size)), this).hold();
  }

  get freeCount(): number {
    return this.free.length;
  }

  /** @internal the loan's last holder let go. */
  giveBack(loan: Loan): void {
    if (this.free.length < this.keep) this.free.push(loan);
  }
}

/** Chunks an in-memory pair handed to its reader, each with the one hold the reader owns. */
const passed = new WeakMap<Uint8Array, Loan>();

/** An in-memory stream hands `chunk` itself to its reader: a loaned chunk gets a hold for the reader. */
export function passOn(chunk: Uint8Array): void {
  if (passed.has(chunk)) return; // the same object twice: the reader can release it once only
  const loan = loanOf(chunk);
  if (loan) passed.set(chunk, loan.hold());
}

/** The reader's release for a chunk that came through an in-memory pair (that exact object), or undefined. */
export function takePassed(chunk: Uint8Array): (() => void) | undefined {
  const loan = passed.get(chunk);
  if (!loan) return undefined;
  passed.delete(chunk);
  return loan.releaser();
}
