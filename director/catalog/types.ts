/**
 * Row types the catalog hands out and takes in. These are the shapes the rest
 * of the Director works with; column names and encodings are private to
 * row-codec.ts and schema.ts.
 */
import type { AgentState, FileKind, FileStat, JobMessageLevel, Level } from '../../plugin-api/index.js';

export type CatalogJobType = 'backup' | 'restore' | 'verify';
export type CatalogJobStatus = 'running' | 'ok' | 'warning' | 'error' | 'cancelled';
/** Statuses that make a job count as a base or chain member. */
export const SUCCESSFUL_STATUSES: readonly CatalogJobStatus[] = ['ok', 'warning'];

export interface CatalogClient {
  id: number;
  name: string;
}

export interface CatalogFileset {
  id: number;
  name: string;
  /** sha-256 hex of the fileset text. */
  hash: string;
  text: string;
}

export interface CatalogJob {
  id: number;
  name: string;
  type: CatalogJobType;
  /** null for jobs without a level (restore). */
  level: Level | null;
  client: string;
  fileset: string | null;
  filesetHash: string | null;
  pool: string | null;
  status: CatalogJobStatus;
  startedAt: Date;
  endedAt: Date | null;
  files: number;
  bytes: number;
  readBytes: number;
  errors: number;
  /** SD append session id, once known. */
  sessionId: number | null;
  report: Record<string, unknown> | null;
  /** Never pruned (`cairn protect JOB`). */
  protected: boolean;
  /** File retention removed its file rows: listed, but not restorable by selection. */
  filesPruned: boolean;
  /** Holds data of a log agent (restoreKind `log`): its restores need every job back to the Full. */
  logChain: boolean;
}

export interface NewJob {
  name: string;
  type: CatalogJobType;
  level: Level | null;
  client: string;
  fileset?: string | null;
  filesetHash?: string | null;
  pool?: string | null;
  startedAt: Date;
}

export interface JobOutcome {
  status: Exclude<CatalogJobStatus, 'running'>;
  endedAt: Date;
  files: number;
  bytes: number;
  readBytes?: number;
  errors: number;
  report?: Record<string, unknown> | null;
  /** Agent states to save in the same durable commit (only honoured for ok/warning). */
  agentStates?: Record<string, AgentState>;
  /** The job holds data of a log agent (see CatalogJob.logChain). */
  logChain?: boolean;
}

/** Counters and session id a running job may update. */
export interface JobProgressPatch {
  files?: number;
  bytes?: number;
  readBytes?: number;
  errors?: number;
  sessionId?: number;
}

export interface JobFilter {
  client?: string;
  name?: string;
  type?: CatalogJobType;
  status?: CatalogJobStatus;
  /** Newest first; default 100. */
  limit?: number;
}

/** One file version as the catalog stores it. */
export interface CatalogFileRow {
  /** 1-based index within the job's SD session. */
  fileIndex: number;
  /** Raw path bytes (never assumed UTF-8). */
  path: Uint8Array;
  /** Agent identity `name/formatMajor`, e.g. `fs/1`. */
  agent: string;
  /** `deleted` marks a path gone since the base job. */
  kind: FileKind;
  stat: FileStat;
  linkTarget?: Uint8Array | null;
  hardlinkTarget?: Uint8Array | null;
  meta?: Record<string, unknown> | null;
  /** sha-256 of stream 0, when the file had one. */
  digest?: Uint8Array | null;
}

/** A file row together with the job that holds that version. */
export type CatalogTreeRow = CatalogFileRow & { jobId: number };

export interface TreeOptions {
  /** Only rows of this agent identity (`fs/1`). */
  agent?: string;
  /** Only paths whose bytes start with this prefix. */
  prefix?: Uint8Array;
}

export interface JobLogEntry {
  id: number;
  jobId: number;
  time: Date;
  level: JobMessageLevel;
  code: string | null;
  path: Uint8Array | null;
  text: string;
}

export interface NewJobLogEntry {
  level: JobMessageLevel;
  code?: string;
  path?: Uint8Array;
  text: string;
  /** Default: now. */
  time?: Date;
}

export type VolumeStatus = 'append' | 'full' | 'used' | 'error' | 'recycle' | 'purged';

export interface CatalogVolume {
  name: string;
  pool: string;
  mediaType: string;
  status: VolumeStatus;
  committedBytes: number;
  committedBlocks: number;
  jobs: number;
  firstWritten: Date | null;
  lastWritten: Date | null;
  label: Record<string, unknown> | null;
  /** Never recycled (`cairn protect VOLUME`). */
  protected: boolean;
  /** Times the volume was purged, truncated and written again. */
  recycleCount: number;
  /** When its last job was pruned (status purged or recycle), else null. */
  purgedAt: Date | null;
}

export interface NewVolume {
  name: string;
  pool: string;
  mediaType: string;
  status?: VolumeStatus;
  label?: Record<string, unknown> | null;
}

export type VolumeChange = Partial<Pick<CatalogVolume, 'status' | 'committedBytes' | 'committedBlocks' | 'jobs' | 'label'>>;

export interface VolumeFilter {
  pool?: string;
  status?: VolumeStatus;
}
