/**
 * Frame layout shared by every SD connection (docs/protocol.md §Frames):
 * u32 big-endian length, then that many payload bytes. A length word with the
 * top bit set is a signal: the low 31 bits are the signal number, no payload.
 */
export const SIGNAL_FLAG = 0x8000_0000;

/** Signal numbers (append-only). */
export const Signal = {
  /** End of data: closes a stream of data frames (append data, read data). */
  EOD: 1,
  /** Keep-alive; ignored by the receiver wherever it arrives. */
  HEARTBEAT: 2,
  /** The sender is about to close the connection. */
  TERMINATE: 3,
} as const;

export type Frame =
  | { kind: 'signal'; signal: number }
  /** Payload as zero-copy slices of what arrived; `length` is their sum. */
  | { kind: 'payload'; chunks: Buffer[]; length: number };

export function frameHeader(length: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(length, 0);
  return b;
}

export function signalHeader(signal: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE((SIGNAL_FLAG | signal) >>> 0, 0);
  return b;
}

/** One contiguous buffer of a payload frame (copies only if it arrived in pieces). */
export function joinChunks(chunks: Buffer[], length: number): Buffer {
  if (chunks.length === 1) return chunks[0];
  return Buffer.concat(chunks, length);
}
