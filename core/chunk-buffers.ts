/**
 * Chunk buffers (plugin API 1.2, AgentContext.chunkBuffer): memory an agent
 * reads a stream's data into and yields from readData. Each buffer lies in
 * a slab of shared memory (core/slab-ring.ts); yielding it hands the agent's
 * hold to the host, which lets go once the chunk is compressed and hashed,
 * so the next chunkBuffer() call gets the same memory back. Fresh memory is
 * what a backup of large files otherwise pays for per chunk: on the 2-core
 * development VM, first touching a fresh MiB costs ≈ 2.5 ms of page faults
 * (docs/benchmarks.md), more than reading and compressing it. The zstd
 * workers and the hash thread read a slab in place: no transfer, no copy.
 */
import { Buffer } from 'node:buffer';
import { SlabRing, slabOf } from './slab-ring.js';

/** Slab size: the fs agent's largest chunk (plugins/fs CHUNK_SIZE); bigger requests get one-off slabs. */
export const CHUNK_SLAB_BYTES = 1 << 20;
/**
 * Free slabs kept: the chunks a backup can have between read and compressed+hashed (record pipe window
 * 24 MiB + 4 read ahead + hash backlog 4 MiB, core/record-pipe.ts, plugins/fs, core/stream-digest.ts)
 * and some slack; beyond that they are left to GC.
 */
export const CHUNK_SLABS_KEPT = 40;

export class ChunkBuffers {
  private readonly ring = new SlabRing(CHUNK_SLAB_BYTES, CHUNK_SLABS_KEPT);

  /** A buffer of `size` bytes for an agent, held once; the hold passes to the host when the agent yields it. */
  take(size: number): Buffer {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`chunkBuffer size must be a non-negative integer, not ${size}`);
    return Buffer.from(this.ring.acquire(size).sab, 0, size);
  }

  /**
   * The host is done with a chunk an agent yielded: a chunk buffer's hold is let go (its memory may be
   * handed out again at once); any other memory is left alone. Call once per yielded chunk.
   */
  done(chunk: Uint8Array): void {
    const slab = slabOf(chunk);
    if (slab && slab.ring === this.ring) slab.release();
  }

  /** Slabs made so far (tests, benchmarks: with reuse it stays near the chunks in flight). */
  get created(): number {
    return this.ring.created;
  }
}
