/**
 * Stream types: the numbered, append-only list of what a record's payload is.
 * docs/volume-format.md §Records is the normative table. A number, once
 * published, is never reused or redefined; retired numbers stay listed.
 */
export const StreamType = {
  /** File attributes (kind, stat, path bytes, link target, agent identity). One per file, first. */
  ATTRIBUTES: 1,
  /** File data, stored plain. Payload is the bytes. */
  DATA: 2,
  /** File data, one zstd frame per record; decompresses to the next bytes of the stream. */
  DATA_ZSTD: 3,
  /** Reserved, never written: encrypted data is DATA_SEALED (16), PACK_SEALED (17) and DIGEST_SEALED (18). */
  DATA_ENCRYPTED: 4,
  /** Sparse data, plain: u64 BE offset then the bytes to write at that offset. */
  SPARSE_DATA: 5,
  /** Sparse data, zstd: u64 BE offset then one zstd frame. */
  SPARSE_DATA_ZSTD: 6,
  /**
   * A file's extended attributes and ACLs (FileEntry.xattrs, API 1.4): name/value pairs,
   * right after its ATTRIBUTES record; not a data record (docs/volume-format.md §5.3.4).
   */
  XATTRS: 7,
  /** End of one stream: its SHA-256 (32 bytes) then its logical length (u64 BE), after its last data record. */
  DIGEST_SHA256: 8,
  /** Agent identity, version and options (JSON), once per agent per session, file index 0. */
  AGENT: 9,
  /** Agent state returned by endBackup (JSON), file index 0. */
  AGENT_STATE: 10,
  /** An object an agent asks to have handed back before restore (reserved). */
  RESTORE_OBJECT: 11,
  /** Retired before v1 was released, never written: the length travels in DIGEST_SHA256. Not to be reused. */
  RETIRED_STREAM_END: 12,
  /**
   * A pack's member table: the small streams whose bytes the next record (PACK_DATA or
   * PACK_DATA_ZSTD) holds end to end, each with its file index, stream number, length and
   * SHA-256. Pack records are session-level: their fileIndex is the first member's and
   * their streamNo the span to the last member's (docs/volume-format.md §Packs).
   */
  PACK_INDEX: 13,
  /** A pack's bytes, plain: the members' streams end to end, in the order of the PACK_INDEX before it. */
  PACK_DATA: 14,
  /** A pack's bytes as one zstd frame. */
  PACK_DATA_ZSTD: 15,
  /**
   * A sealed record of an encrypted job's stream (docs/encryption.md): AEAD ciphertext ‖ 16-byte tag of
   * one byte naming the inner record type (DATA, DATA_ZSTD, SPARSE_DATA, SPARSE_DATA_ZSTD) followed by
   * that record's payload. Chunk n of (fileIndex, streamNo) opens only as chunk n of that stream.
   */
  DATA_SEALED: 16,
  /** A pack's bytes, sealed (inner type PACK_DATA or PACK_DATA_ZSTD); a pack record (its streamNo is the span), bound to its PACK_INDEX. */
  PACK_SEALED: 17,
  /**
   * End of one stream of an encrypted job: SHA-256 (32) and logical length (u64) as in DIGEST_SHA256,
   * the stream's chunk count (u32), then a 16-byte tag authenticating them as the stream's final record. 60 bytes.
   */
  DIGEST_SEALED: 18,
  /** One part of the job's signed manifest (file index 0, streamNo = part number), after every other record of the session. */
  MANIFEST: 19,
} as const;

export type StreamTypeName = keyof typeof StreamType;
export type StreamTypeNumber = (typeof StreamType)[StreamTypeName];

/** True for the four pack record types, whose streamNo is a span of file indexes, not a stream number. */
export function isPackRecord(streamType: number): boolean {
  return streamType === StreamType.PACK_INDEX || streamType === StreamType.PACK_DATA || streamType === StreamType.PACK_DATA_ZSTD || streamType === StreamType.PACK_SEALED;
}

/**
 * The last file index a record carries data for: its own fileIndex, or for a pack record
 * fileIndex + streamNo (the span). A reader filtering by file index keeps a record when
 * any wanted index lies in [fileIndex, lastFileIndexOf(...)].
 */
export function lastFileIndexOf(streamType: number, fileIndex: number, streamNo: number): number {
  return isPackRecord(streamType) ? fileIndex + streamNo : fileIndex;
}

export function streamTypeName(n: number): string {
  for (const [k, v] of Object.entries(StreamType)) if (v === n) return k;
  return `UNKNOWN(${n})`;
}
