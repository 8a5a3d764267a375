/**
 * StorageDaemon: owns the device, the volume pool, the session-id counter and
 * the ticket book, and serves connections from Directors and File Daemons
 * (handleConnection). Transport (TCP, TLS, stdio) and authentication are the
 * caller's; here every connection is a Duplex already trusted.
 */
import type { Duplex } from 'node:stream';
import { CairnError } from '../../plugin-api/index.js';
import type { Bootstrap, SessionJobInfo, VolumeCatalogPort } from '../api.js';
import { DEFAULT_BLOCK_SIZE, DEFAULT_MAX_VOLUME_BYTES, DEFAULT_MAX_VOLUME_JOBS, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE } from '../defaults.js';
import type { Device } from '../device/device.js';
import { createDevice, type DeviceConfig } from '../device/registry.js';
import { AppendSession } from '../session/append-session.js';
import { silentLogger, type SdLogger } from '../session/logger.js';
import { ReadSession } from '../session/read-session.js';
import { SessionCounter } from '../session/session-counter.js';
import { VolumePool } from '../session/volume-pool.js';
import { SdConnection, type SdPeer, type SdServices } from './sd-connection.js';
import { DirectorCatalogLink } from './director-catalog-link.js';
import { TicketBook } from './tickets.js';
import { verifySession } from '../volume/volume-verifier.js';

export interface StorageDaemonOptions {
  /** A device configuration, a Device, or just a directory (= file device). */
  device: DeviceConfig | Device | string;
  /** The volume catalog: a port (local mode), or 'director' to ask the Director connection (protocol.md §4.1). */
  catalog: VolumeCatalogPort | 'director';
  /** Block size of new volumes (bytes, multiple of 512). Default 256 KiB. */
  blockSize?: number;
  /** A volume is Full when the next block would pass this size. */
  maxVolumeBytes?: number;
  /** Sessions (jobs) per volume; 0 = unlimited. */
  maxVolumeJobs?: number;
  logger?: SdLogger;
  /** Heartbeat interval on authenticated (network) connections, ms; default none. */
  heartbeatMs?: number;
}

export class StorageDaemon {
  readonly device: Device;
  private readonly pool: VolumePool;
  private readonly counter: SessionCounter;
  private readonly services: SdServices;
  private readonly connections = new Set<SdConnection>();
  private readonly directorLink: DirectorCatalogLink | null;

  constructor(o: StorageDaemonOptions) {
    this.device = typeof o.device === 'string' ? createDevice({ type: 'file', dir: o.device }) : 'list' in o.device ? o.device : createDevice(o.device);
    const blockSize = o.blockSize ?? DEFAULT_BLOCK_SIZE;
    if (!Number.isInteger(blockSize) || blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE || blockSize % 512 !== 0) {
      throw new CairnError('CAIRN_E_DEVICE_TYPE', `Block size ${blockSize} not allowed: a multiple of 512 from ${MIN_BLOCK_SIZE} to ${MAX_BLOCK_SIZE}.`, { blockSize });
    }
    const log = o.logger ?? silentLogger;
    this.directorLink = o.catalog === 'director' ? new DirectorCatalogLink() : null;
    this.pool = new VolumePool({
      device: this.device,
      catalog: this.directorLink ?? (o.catalog as VolumeCatalogPort),
      blockSize,
      maxVolumeBytes: o.maxVolumeBytes ?? DEFAULT_MAX_VOLUME_BYTES,
      maxVolumeJobs: o.maxVolumeJobs ?? DEFAULT_MAX_VOLUME_JOBS,
      log,
    });
    this.counter = new SessionCounter(this.device.stateDir);
    const tickets = new TicketBook();
    this.services = {
      tickets,
      log,
      heartbeatMs: o.heartbeatMs ?? 0,
      status: () => ({ connections: this.connections.size, device: { type: this.device.type } }),
      openAppend: (job, owner) => this.openAppend(job, owner),
      openRead: (bootstrap, owner) => this.openRead(bootstrap, owner),
      verifySession: (req) => verifySession(this.device, req),
    };
  }

  /**
   * Serves one connection until it ends. Never rejects. `peer` is who authenticated on it (net/): a Director
   * connection also carries the SD's catalog requests when the daemon runs with a DirectorCatalogLink.
   */
  async handleConnection(stream: Duplex, peer: SdPeer | null = null): Promise<void> {
    const conn = new SdConnection(stream, this.services, peer);
    this.connections.add(conn);
    if (peer?.role === 'director') this.directorLink?.attach(conn);
    try {
      await conn.run();
    } finally {
      this.connections.delete(conn);
      this.directorLink?.detach(conn);
    }
  }

  /** The session key for an FD's handshake name (the key id the Director passed it with the ticket). */
  sessionKey(keyId: string): string | undefined {
    return this.services.tickets.keyFor(keyId);
  }

  /** Ends every connection and closes the volumes. */
  async close(): Promise<void> {
    for (const c of this.connections) c.stream.destroy();
    await this.pool.closeAll();
  }

  private async openAppend(job: SessionJobInfo, owner: SdConnection): Promise<{ ticket: string; sessionId: number; keyId: string; key: string }> {
    checkJob(job);
    const app = await this.pool.acquireForNewSession(job.pool);
    const sessionId = await this.counter.allocate();
    const session = new AppendSession(sessionId, job, app, this.pool, (n) => owner.notify(n), this.services.log);
    const e = this.services.tickets.issue((ticket, keyId, key) => ({ kind: 'append' as const, ticket, keyId, key, session, boundTo: null, owner }));
    this.services.log.info({ sessionId, jobId: job.jobId, volume: app.volume }, 'append session opened');
    return { ticket: e.ticket, sessionId, keyId: e.keyId, key: e.key };
  }

  private openRead(bootstrap: Bootstrap, owner: SdConnection): { ticket: string; keyId: string; key: string } {
    if (!bootstrap || !Array.isArray(bootstrap.entries)) {
      throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', 'open read session needs a Bootstrap body with entries.', {});
    }
    const session = new ReadSession(bootstrap, this.device);
    const e = this.services.tickets.issue((ticket, keyId, key) => ({ kind: 'read' as const, ticket, keyId, key, session, boundTo: null, owner }));
    return { ticket: e.ticket, keyId: e.keyId, key: e.key };
  }
}

function checkJob(job: SessionJobInfo): void {
  if (!job || typeof job !== 'object' || !Number.isInteger(job.jobId) || typeof job.pool !== 'string' || job.pool === '') {
    throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', 'open append session needs a SessionJobInfo body with jobId and pool.', {});
  }
}
