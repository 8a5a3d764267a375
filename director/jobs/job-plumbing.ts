/**
 * What job control needs to run a job, whatever runs where: the catalog, the
 * Director's connection to the SD (sessions and their notifications) and a
 * File Daemon. Local mode provides all three in one process
 * (director/local/repository.ts); the Director daemon builds one per job
 * from its config, with the FD and SD reached over the network.
 */
import type { FdPort } from '../../core/index.js';
import type { SdNotification, SessionGrant } from '../../sd/index.js';
import type { Bootstrap, SessionJobInfo, VolumeVerifyRequest, VolumeVerifyResult } from '../../sd/index.js';

export type { FdPort, FdBackupOrder, FdRestoreOrder } from '../../core/index.js';
import type { Catalog } from '../catalog/index.js';

/** The Director's side of the SD: sessions opened here, notifications routed per job. */
export interface SdPort {
  openAppendSession(job: SessionJobInfo): Promise<SessionGrant & { sessionId: number }>;
  openReadSession(bootstrap: Bootstrap): Promise<SessionGrant>;
  /** The job is committed: the SD may forget its spooled notifications (protocol.md §4.2). */
  release?(jobId: number): Promise<void>;
  /** A restarted Director takes a job over: its notifications come again, every spooled one first. */
  claim?(jobId: number): Promise<{ state: 'running' | 'closed' | 'aborted' | 'lost'; notifications: number }>;
  /** Volume-level verify on the SD: block checks and record structure of one session, no data sent back. */
  verifySession(req: VolumeVerifyRequest): Promise<VolumeVerifyResult>;
}

export interface JobPlumbing {
  readonly catalog: Catalog;
  /** Where the SD's notifications for a job go (set by job control for the job's lifetime). */
  readonly notifications: Map<number, (n: SdNotification) => void>;
  readonly director: SdPort;
  readonly files: FdPort;
  /** The client's name in the catalog. */
  readonly clientName: string;
  /** The pool new volumes and sessions belong to. */
  readonly pool: string;
  /** The SD device sessions use (the storage's device); absent: the SD's first. */
  readonly device?: string;
  /** A backup also writes a mirrored copy to this device of the same SD (the job's mirrorDevice). */
  readonly mirrorDevice?: string;
  /** True when the FD runs elsewhere: restore targets are its to create and check. */
  readonly targetOnClient?: boolean;
  /** Prunes by the pools' rules after a backup (autoprune, director/retention); absent = no autoprune. */
  autoPrune?(now: Date): Promise<unknown>;
  /** Where a bootstrap file is written after each backup job (docs/bootstrap.md); none when absent. */
  readonly bootstrapDir?: string;
}
