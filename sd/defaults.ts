/**
 * Every tunable number of the SD in one place, with the reason for it.
 */

/** Block size of new file volumes: big enough for one sequential write per block to be cheap, small enough that a bad block loses little. */
export const DEFAULT_BLOCK_SIZE = 256 * 1024;
/** Smallest and largest block size accepted (the header must fit with room for fragments; a block must stay well under a frame). */
export const MIN_BLOCK_SIZE = 4096;
export const MAX_BLOCK_SIZE = 64 * 1024 * 1024;
/** A file volume is closed as Full when the next block would pass this size (session end labels may pass it by one block each). */
export const DEFAULT_MAX_VOLUME_BYTES = 50 * 1024 * 1024 * 1024;
/** 0 = no limit on the number of sessions (jobs) started on one volume. */
export const DEFAULT_MAX_VOLUME_JOBS = 0;
/** Largest frame payload either side accepts; a record travels whole in one frame, so this bounds a record's payload too. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** The session client sends a data frame once this many bytes of records are batched (amortises frame and syscall cost). */
export const DATA_FRAME_TARGET_BYTES = 256 * 1024;
/** Blocks one append session may have queued to the device before it stops reading from the FD (back-pressure; 16 × 256 KiB = 4 MiB: one writev batch in flight while the next fills; measured best of 8/16/32). */
export const SESSION_MAX_INFLIGHT_BLOCKS = 16;
/** Blocks written to the device in one writev at most. */
export const DEVICE_WRITE_BATCH_BLOCKS = 16;
/** Blocks read from the device in one read by scanners. */
export const READ_CHUNK_BLOCKS = 16;
/** Size of the reused buffers records spanning blocks are reassembled in (one bigger than this gets its own). */
export const REASSEMBLY_BUFFER_BYTES = 4 * 1024 * 1024;
/** Free read and reassembly buffers a reader keeps for reuse, per size (beyond, they are left to GC). */
export const SCAN_BUFFERS_KEPT = 8;
/** catalog-records notifications carry at most this many records (bounds one JSON message). */
export const CATALOG_BATCH_RECORDS = 512;
/** High-water mark of each side of duplexPair(): enough for a few data frames in flight. */
export const DUPLEX_PAIR_HIGH_WATER_MARK = 1024 * 1024;
