/**
 * The SD's contract with its two kinds of peer, as TypeScript types.
 * docs/protocol.md is the normative wire text; these are the in-process
 * shapes the clients in sd/ expose. Owned by sd/; core/ (the FD side) and
 * director/ use them through sd/index.ts.
 */

/** One record: what the FD sends and a read session hands back. */
export interface DataRecord {
  /** 1-based index of the file within the session; 0 for session-level records (agent, agent state). */
  fileIndex: number;
  /** A StreamType number from plugin-api. */
  streamType: number;
  /** Index of the stream within the file (agents may have several). */
  streamNo: number;
  payload: Uint8Array;
}

/** Where a record (its first byte) landed. */
export interface RecordLocation {
  volume: string;
  /** File number on the volume (tape files; always 0 on disk volumes in v1 unless the device sets filemarks). */
  file: number;
  /** Block number within the volume. */
  block: number;
}

/** Job metadata the Director gives when it opens an append session; written into the session start label. */
export interface SessionJobInfo {
  jobId: number;
  jobName: string;
  client: string;
  level: 'full' | 'incremental' | 'differential';
  pool: string;
  fileset: string;
  /** ms since epoch */
  startedAt: number;
  /** Free-form extensible label fields (key fingerprints, manifests… later issues). */
  extra?: Record<string, unknown>;
  /** The SD device to write (its config's devices[].name); absent: the SD's first device. */
  device?: string;
  /** A mirrored copy: the job is written to this device too, at the same time (its volumes need their own media type). */
  mirror?: { device: string };
}

/**
 * Members an FD adds to its session's start labels at `append open session` (docs/protocol.md). The SD
 * does not interpret them: it writes them into every SESSION_START label of the session.
 */
export interface StartLabelExtension {
  /** The job's encryption header (docs/encryption.md): cipher, data-key wraps, signer. */
  encryption?: object;
}

/**
 * The job's outcome as the FD knows it when it closes its append session
 * (body of `append close session`); written into the session end label as
 * `job`, so a catalog rebuilt from volumes (bscan) has the job's status and
 * counters. The Director may still fail the job after the close (catalog,
 * run-after scripts): volumes cannot say that.
 */
export interface SessionJobSummary {
  status: 'ok' | 'warning';
  files: number;
  bytes: number;
  storedBytes: number;
  deleted: number;
  /** Warning messages the FD reported (their text is in the Director's job log). */
  warnings: number;
}

/** One contiguous stretch of a session on one volume (Bacula's JobMedia). */
export interface JobMediaRange {
  volume: string;
  sessionId: number;
  firstIndex: number;
  lastIndex: number;
  startFile: number;
  startBlock: number;
  endFile: number;
  endBlock: number;
}

/** Answer to `append close session`: sent only after the session's blocks are durable. */
export interface SessionCloseReport {
  sessionId: number;
  ranges: JobMediaRange[];
  records: number;
  /** Payload bytes of all records. */
  bytes: number;
  blocks: number;
  lastFileIndex: number;
  /** A mirrored session's copies (SessionJobInfo.mirror): their device, session id and ranges. */
  copies?: Array<{ device: string; sessionId: number; ranges: JobMediaRange[] }>;
}

/** What a read session should read: per volume, which session's blocks and which files. */
export interface Bootstrap {
  /** The SD device holding the volumes; absent: the device that lists the first volume. */
  device?: string;
  entries: Array<{
    volume: string;
    sessionId: number;
    startFile: number;
    startBlock: number;
    endFile: number;
    endBlock: number;
    /** Inclusive file-index ranges to hand back; absent = all. */
    fileIndexes?: Array<[number, number]>;
  }>;
}

/** What a read session yields: records with their location, or notice of a block that failed its check. */
export type ReadItem =
  | {
      kind: 'record';
      record: DataRecord;
      location: RecordLocation;
      /**
       * Present when the payload lies in reusable memory (sd/wire/buffer-loans.ts): call it once, when the
       * payload is no longer needed (it may then be overwritten). Not calling it is safe: the memory is
       * then not reused.
       */
      release?: () => void;
    }
  | { kind: 'bad-block'; volume: string; file: number; block: number; reason: string; code: string }
  | { kind: 'volume-end'; volume: string; reason: 'end-of-data' | 'truncated'; block: number };

/** Notifications the SD sends the Director about an append session (see protocol.md §Notifications). */
export type SdNotification =
  | {
      type: 'catalog-records';
      jobId: number;
      sessionId: number;
      /** Records whose stream type the Director catalogs (attributes, digests, agent, agent state, stream end), in session order. */
      records: Array<{ record: DataRecord; location: RecordLocation }>;
    }
  | { type: 'session-closed'; jobId: number; report: SessionCloseReport }
  | { type: 'session-aborted'; jobId: number; sessionId: number; reason: string };

/** Volume facts the SD asks the Director's catalog for (Bacula's catalog requests). */
export interface VolumeInfo {
  name: string;
  pool: string;
  mediaType: string;
  status: 'append' | 'full' | 'used' | 'error' | 'recycle' | 'purged';
  /** Bytes on the volume that the catalog counts as committed (end of last closed session's last block). */
  committedBytes: number;
  committedBlocks: number;
  jobs: number;
  /** The pool's maximum volume size, if it sets one: the SD rolls over at the smaller of this and its device's. */
  maxBytes?: number;
  /** The pool's maximum jobs per volume, if it sets one (the smaller of this and the device's applies). */
  maxJobs?: number;
}

/**
 * The catalog requests an SD makes. In local mode the Director implements
 * this directly; over the network it travels on the Director connection.
 */
export interface VolumeCatalogPort {
  /** A volume of the pool with status 'append' and room left, or null. */
  findAppendableVolume(pool: string, mediaType: string): Promise<VolumeInfo | null>;
  /** Registers a new volume the SD just labelled. */
  createVolume(info: { name: string; pool: string; mediaType: string }): Promise<VolumeInfo>;
  /** Records the new committed end (after a close) or a status change (full, error). */
  updateVolume(name: string, change: Partial<Pick<VolumeInfo, 'status' | 'committedBytes' | 'committedBlocks' | 'jobs'>>): Promise<void>;
  /** The volume as it stands for a new job: the Director applies its pool's limits first (status may turn used/full). */
  getVolume(name: string): Promise<VolumeInfo | null>;
  /** Next name for a new volume of the pool (label template applied by the Director). */
  nextVolumeName(pool: string): Promise<string>;
}
