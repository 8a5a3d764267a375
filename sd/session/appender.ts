/**
 * Appender: one volume mounted for appending, as sessions see it, whatever
 * the device — VolumeAppender (a file volume: positional batched writes) or
 * TapeAppender (a tape: blocks written where it stands, filemarks, end of
 * medium). Sessions reserve block numbers synchronously (so they interleave
 * by block), queue the sealed blocks in reservation order, and learn each
 * block's address (tape file and block) when it is written.
 */

/** Where a block landed. */
export interface WrittenAt {
  file: number;
  block: number;
}

export interface Appender {
  readonly volume: string;
  readonly blockSize: number;
  /** Blocks handed out so far (the next block number). */
  readonly blocks: number;
  /** Set when the volume is Full or retired: no more blocks of any kind. */
  closedForAppend: boolean;
  /** Set when the volume reached its job limit: no new sessions; closed when the last one leaves. */
  retired: boolean;
  /** Sessions currently holding this appender. */
  refs: number;
  /** Sessions started on this volume, as the catalog counts them. */
  jobs: number;
  /** The pool's job limit for this volume, when its pool sets one. */
  poolMaxJobs: number | undefined;
  /** A block number for the next block, or null if the volume takes no more (end labels may pass the size limit). */
  reserve(endLabel?: boolean): number | null;
  /**
   * Queues the block reserved as `blockNo` (in reservation order); resolves with its address once written (not
   * yet durable). A tape at end of medium rejects it — and every block queued after it — with
   * CAIRN_E_DEVICE_END_OF_MEDIUM, written=false (isUnwrittenEndOfMedium): they belong on the next volume.
   */
  write(blockNo: number, block: Buffer): Promise<WrittenAt>;
  /** Waits for the blocks queued so far, makes them durable and records the committed end in the catalog. */
  sync(extra?: { status?: 'full' | 'used' }): Promise<number>;
  /** Closes the volume (a tape: ends its last file with a filemark and frees the drive). Idempotent. */
  close(): Promise<void>;
}

/** What an appender's committed end is recorded in: the volume rows of the catalog. */
interface CommitCatalog {
  updateVolume(name: string, change: { committedBytes?: number; committedBlocks?: number; status?: 'full' | 'used' }): Promise<void>;
}

/**
 * The one rule of a committed end, for every appender: after the blocks are durable, `blocks` (never less than
 * what the catalog already holds) and any status change go to the catalog, and the new count is returned only
 * once the catalog holds it — a failed update is not taken as done, so the next sync sends it again (a session
 * must never report blocks durable that a later mount trims as uncommitted). docs/volume-format.md §7.
 */
export async function recordCommittedEnd(catalog: CommitCatalog, volume: string, blockSize: number, committed: number, written: number, status?: 'full' | 'used'): Promise<number> {
  const blocks = Math.max(written, committed);
  if (blocks > committed || status) await catalog.updateVolume(volume, { committedBytes: blocks * blockSize, committedBlocks: blocks, ...(status ? { status } : {}) });
  return blocks;
}
