/**
 * StorageLink: the Director's standing connection to one SD (one per
 * storage resource). Opened on first use and again after it drops; it
 * answers the SD's catalog requests from the Director's catalog and routes
 * the SD's notifications to the job they belong to.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { SdDirectorClient, type Bootstrap, type SdNotification, type SessionGrant, type SessionJobInfo, type VolumeVerifyRequest, type VolumeVerifyResult } from '../../sd/index.js';
import { volumeCatalogPort, type Catalog } from '../catalog/index.js';
import type { SdPort } from '../jobs/job-plumbing.js';

export class StorageLink implements SdPort {
  private client: SdDirectorClient | null = null;
  private connecting: Promise<SdDirectorClient> | null = null;

  constructor(
    readonly storage: string,
    private readonly o: {
      connect(): Promise<Duplex>;
      catalog: Catalog;
      notifications: Map<number, (n: SdNotification) => void>;
      logger: Logger;
      heartbeatMs?: number;
    },
  ) {}

  async openAppendSession(job: SessionJobInfo): Promise<SessionGrant & { sessionId: number }> {
    return (await this.get()).openAppendSession(job);
  }

  async openReadSession(bootstrap: Bootstrap): Promise<SessionGrant> {
    return (await this.get()).openReadSession(bootstrap);
  }

  async claim(jobId: number): Promise<{ state: 'running' | 'closed' | 'aborted' | 'lost'; notifications: number }> {
    return (await this.get()).claim(jobId);
  }

  async release(jobId: number): Promise<void> {
    return (await this.get()).release(jobId);
  }

  /** Recycles a purged volume on this SD (`truncate volume`); CAIRN_E_VOLUME_BUSY while a session uses it. */
  async truncateVolume(volume: string, pool: string): Promise<{ volume: string; bytesBefore: number; bytesAfter: number; blockSize: number; label: Record<string, unknown> }> {
    return (await this.get()).truncateVolume(volume, { pool });
  }

  async verifySession(req: VolumeVerifyRequest): Promise<VolumeVerifyResult> {
    return (await this.get()).verifySession(req);
  }

  async status(): Promise<Record<string, unknown>> {
    return (await this.get()).status();
  }

  /**
   * A tape media command (protocol.md §3.1) on a connection of its own: replies on one connection come in order,
   * and a session open waiting for media on the standing one would hold the operator's mount back.
   */
  async media(op: 'media' | 'mount' | 'unmount' | 'label', a: { device?: string; slot?: number; name?: string; pool?: string; scan?: boolean }): Promise<Record<string, unknown>> {
    const c = new SdDirectorClient(await this.o.connect(), { heartbeatMs: this.o.heartbeatMs });
    c.serveCatalog(volumeCatalogPort(this.o.catalog));
    try {
      if (op === 'media') return await c.media({ device: a.device, scan: a.scan });
      if (op === 'mount') return await c.mount({ device: a.device, slot: a.slot });
      if (op === 'unmount') return await c.unmount({ device: a.device });
      return await c.label({ device: a.device, slot: a.slot, name: a.name, pool: a.pool ?? '' });
    } finally {
      await c.close();
    }
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    await c?.close();
  }

  private get(): Promise<SdDirectorClient> {
    if (this.client && !this.client.endReason) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      try {
        const stream = await this.o.connect();
        const client = new SdDirectorClient(stream, { heartbeatMs: this.o.heartbeatMs });
        client.serveCatalog(volumeCatalogPort(this.o.catalog));
        client.onNotification((n) => this.o.notifications.get(n.jobId)?.(n));
        client.done.then(() => this.o.logger.info({ storage: this.storage, why: client.endReason?.message }, 'SD connection ended'));
        this.client = client;
        return client;
      } finally {
        this.connecting = null;
      }
    })();
    return this.connecting;
  }
}
