/**
 * FdRunner: a File Daemon that runs job orders carrying SD session grants
 * (ticket + session key), connecting to the SD itself for each session. It is
 * the FdPort job control uses in local mode (connecting over in-memory pairs)
 * and what the FD daemon runs for a Director's `backup` / `restore` command
 * (connecting over TCP, TLS or stdio: docs/protocol.md §9).
 */
import type { Buffer } from 'node:buffer';
import type { JobStatus, ReplacePolicy } from '../plugin-api/index.js';
import type { SdSessionClient, SessionGrant } from '../sd/index.js';
import type { BackupOrder, BackupOutcome, EstimateOrder, FileDaemon, RestoreOutcome, SessionCrypto } from './file-daemon.js';
import type { EstimateResult } from './estimate-session.js';
import type { CairnKey } from './key-file.js';
import type { AgentOptionOverrides } from './agent-options.js';
import { checkLiveTree, type ExpectedEntry, type LiveCheckResult } from './live-tree-check.js';

/** A backup order for an FD: the job's orders plus the SD session it writes to. */
export type FdBackupOrder = Omit<BackupOrder, 'ticket'> & { grant: SessionGrant };

export interface FdRestoreOrder {
  mode: 'restore' | 'verify';
  /** The order is a Director's: restore options only the FD's own config may set are refused. */
  fromDirector?: boolean;
  /** The restore (or verify) job's own id in the catalog. */
  restoreJobId?: number;
  where?: string;
  replace: ReplacePolicy;
  /** Restore as at this time: log-type agents recover up to it (RestoreJob.recoveryTarget, API 1.3). */
  recoveryTarget?: Date;
  /** One read session per job of the chain, oldest first; an encrypted job's with its header, later wraps and signed manifest. */
  sessions: Array<{ jobId: number; grant: SessionGrant; crypto?: SessionCrypto }>;
  /** Private keys supplied for this restore (local mode `--key FILE`). */
  keys?: CairnKey[];
  /** Verify: the catalog's digests of one job's files by file index. */
  digests?: { jobId: number; byIndex: Map<number, Buffer> };
  signal?: AbortSignal;
  onFile?: (path: string, bytes: number) => void;
  /** Per-restore agent option overrides (--option), by agent name. */
  agentOptions?: AgentOptionOverrides;
}

/** Verify at level catalog: the expected tree, checked against the FD host's live files (core/live-tree-check.ts). */
export interface LiveVerifyOrder {
  /** The verify job's own id in the catalog. */
  verifyJobId: number;
  /** In tree order, streamed once. */
  rows: AsyncIterable<ExpectedEntry>;
  /** The fileset's exclude globs: entries they match are not reported as new. */
  excludes: string[];
  signal?: AbortSignal;
  onProgress?: (files: number, bytes: number) => void;
}

/** A File Daemon as job control sees it: in this process (local mode) or across the network. */
export interface FdPort {
  /** Boots what a job will need (threads) while the Director still prepares; a no-op for a remote FD. */
  warmUp(zstdLevel?: number | null): void;
  backup(order: FdBackupOrder): Promise<BackupOutcome>;
  /** What a backup would send: files and bytes, nothing read or sent. */
  estimate(order: EstimateOrder): Promise<EstimateResult>;
  restore(order: FdRestoreOrder): Promise<RestoreOutcome>;
  /** The job's final outcome, told to its agents only after the catalog commit. */
  jobEnded(jobId: number, status: JobStatus): Promise<void>;
  /** Verify at level catalog on the FD's host: what changed since the backup. */
  verifyLive(order: LiveVerifyOrder): Promise<LiveCheckResult>;
}

/** Opens a data connection to the SD for one session (authenticated with the grant's session key over the network). */
export type SdConnector = (grant: SessionGrant) => Promise<SdSessionClient>;

export class FdRunner implements FdPort {
  constructor(
    readonly fd: FileDaemon,
    private readonly connect: SdConnector,
  ) {}

  warmUp(zstdLevel?: number | null): void {
    this.fd.warmUp(zstdLevel);
  }

  async backup(order: FdBackupOrder): Promise<BackupOutcome> {
    const { grant, ...rest } = order;
    const sd = await this.connect(grant);
    try {
      return await this.fd.backup({ ...rest, ticket: grant.ticket }, sd);
    } finally {
      await sd.close().catch(() => undefined);
    }
  }

  estimate(order: EstimateOrder): Promise<EstimateResult> {
    return this.fd.estimate(order);
  }

  verifyLive(order: LiveVerifyOrder): Promise<LiveCheckResult> {
    return checkLiveTree(order.rows, order);
  }

  async restore(order: FdRestoreOrder): Promise<RestoreOutcome> {
    const clients: SdSessionClient[] = [];
    try {
      const sessions = [];
      for (const s of order.sessions) {
        const sd = await this.connect(s.grant);
        clients.push(sd);
        sessions.push({ jobId: s.jobId, ticket: s.grant.ticket, sd, ...(s.crypto ? { crypto: s.crypto } : {}) });
      }
      const d = order.digests;
      return await this.fd.restore({
        mode: order.mode,
        where: order.where,
        replace: order.replace,
        recoveryTarget: order.recoveryTarget,
        sessions,
        keys: order.keys,
        catalogDigest: d ? (jobId, fileIndex) => (jobId === d.jobId ? d.byIndex.get(fileIndex) : undefined) : undefined,
        signal: order.signal,
        onFile: order.onFile,
        agentOptions: order.agentOptions,
        fromDirector: order.fromDirector,
      });
    } finally {
      for (const c of clients) await c.close().catch(() => undefined);
    }
  }

  jobEnded(jobId: number, status: JobStatus): Promise<void> {
    return this.fd.jobEnded(jobId, status);
  }
}
