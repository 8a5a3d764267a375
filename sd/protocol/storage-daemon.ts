/**
 * StorageDaemon: owns the devices (each with its volume pool and its limit
 * of concurrent sessions), the session-id counter and the ticket book, and
 * serves connections from Directors and File Daemons (handleConnection).
 * Transport (TCP, TLS, stdio) and authentication are the caller's; here
 * every connection is a Duplex already trusted. A tape device (sequential)
 * also has a DriveReservation (appends of one pool share the drive, a read
 * has it alone; conflicting sessions wait), optional data spooling with one
 * despool at a time, and the media commands (label, mount, unmount, media).
 */
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { CairnError } from '../../plugin-api/index.js';
import type { Bootstrap, SessionJobInfo, VolumeCatalogPort } from '../api.js';
import { DEFAULT_BLOCK_SIZE, DEFAULT_MAX_VOLUME_BYTES, DEFAULT_MAX_VOLUME_JOBS, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE } from '../defaults.js';
import type { Device } from '../device/device.js';
import { createDevice, type DeviceConfig } from '../device/registry.js';
import { AppendSession } from '../session/append-session.js';
import { JobSpool } from '../session/job-spool.js';
import { MediaCommands } from './media-commands.js';
import type { MediaStatus } from '../device/sequential-device.js';
import { DriveReservation } from './drive-reservation.js';
import { truncateVolume } from '../session/volume-truncate.js';
import { silentLogger, type SdLogger } from '../session/logger.js';
import { ReadSession } from '../session/read-session.js';
import { SessionCounter } from '../session/session-counter.js';
import { VolumePool } from '../session/volume-pool.js';
import { SdConnection, type SdPeer, type SdServices } from './sd-connection.js';
import { DirectorCatalogLink } from './director-catalog-link.js';
import { TicketBook } from './tickets.js';
import { DeviceSlots } from './device-slots.js';
import { NotificationSpool } from './notification-spool.js';
import { verifySession, type VolumeVerifyRequest, type VolumeVerifyResult } from '../volume/volume-verifier.js';
import { scanVolume, type ScanItem, type ScanOptions } from '../volume/volume-scanner.js';

/** In the spool folder: volume updates kept while no Director is connected (director-catalog-link.ts). */
const VOLUME_UPDATES_FILE = 'volume-updates.json';

/** One device of the SD and its settings. */
export interface SdDeviceOptions {
  /** The name Directors ask for (SessionJobInfo.device, Bootstrap.device). */
  name: string;
  /** A device configuration, a Device, or just a directory (= file device). */
  device: DeviceConfig | Device | string;
  /** Block size of new volumes (bytes, multiple of 512). Default 256 KiB. */
  blockSize?: number;
  /** A volume is Full when the next block would pass this size. */
  maxVolumeBytes?: number;
  /** Sessions (jobs) per volume; 0 = unlimited. */
  maxVolumeJobs?: number;
  /** Sessions (append and read) on this device at once; more wait their turn in order. 0 = unlimited (default). */
  maxConcurrentJobs?: number;
  /** Tape devices: a filemark ends a tape file once it holds this many bytes (default 1 GiB). */
  filemarkBytes?: number;
  /**
   * Data spooling: each append session writes its data blocks to a file in `dir` first and despools them to the
   * device in one run (one session at a time) when it has `maxJobBytes` spooled (default 1 GiB) and at close.
   */
  spool?: { dir: string; maxJobBytes?: number };
}

/** Default spool share of one job before it despools (docs/config.md): big runs, bounded disk. */
export const DEFAULT_SPOOL_JOB_BYTES = 1024 ** 3;

export interface StorageDaemonOptions extends Partial<Omit<SdDeviceOptions, 'name' | 'device'>> {
  /** The SD's devices; the first is used when a session names none. */
  devices?: SdDeviceOptions[];
  /** One device (named "default"), for local mode: a device configuration, a Device, or a directory. */
  device?: DeviceConfig | Device | string;
  /** The volume catalog: a port (local mode), or 'director' to ask the Director connection (protocol.md §4.1). */
  catalog: VolumeCatalogPort | 'director';
  logger?: SdLogger;
  /**
   * Where each job's notifications are kept until its Director releases it, so a Director that restarts can
   * claim the job (protocol.md §4.2). A daemon's working directory; absent (local mode): nothing is kept.
   */
  spoolDir?: string;
  /** Heartbeat interval on authenticated (network) connections, ms; default none. */
  heartbeatMs?: number;
}

/** The Storage Daemon's state as `status` reports it. */
export interface StorageDaemonStatus {
  connections: number;
  device: { type: string };
  devices: Array<{
    name: string;
    type: string;
    mediaType: string;
    sessions: number;
    waiting: number;
    maxConcurrentJobs: number;
    drive?: DriveReservation['state'];
    media?: MediaStatus;
    spool?: { dir: string; maxJobBytes: number };
  }>;
}

/** A device with its volume pool and its session slots. */
export interface SdDevice {
  name: string;
  device: Device;
  pool: VolumePool;
  slots: DeviceSlots;
  /** Tape devices: who uses the drive. */
  reservation: DriveReservation | null;
  spool: { dir: string; maxJobBytes: number } | null;
  blockSize: number;
  /** One despool at a time on this device. */
  despoolGate: <T>(fn: () => Promise<T>) => Promise<T>;
}

export class StorageDaemon {
  /** The first (in local mode the only) device. */
  readonly device: Device;
  private readonly devices: SdDevice[];
  private readonly counter: SessionCounter;
  private readonly services: SdServices;
  private readonly connections = new Set<SdConnection>();
  private readonly directorLink: DirectorCatalogLink | null;
  private readonly spool: NotificationSpool;
  /** label, mount, unmount, media (tape devices). */
  readonly media: MediaCommands;

  constructor(o: StorageDaemonOptions) {
    const log = o.logger ?? silentLogger;
    this.directorLink = o.catalog === 'director' ? new DirectorCatalogLink(undefined, o.spoolDir ? path.join(o.spoolDir, VOLUME_UPDATES_FILE) : null) : null;
    const catalog = this.directorLink ?? (o.catalog as VolumeCatalogPort);
    const list = o.devices ?? (o.device !== undefined ? [{ ...o, name: 'default', device: o.device }] : []);
    if (list.length === 0) throw new CairnError('CAIRN_E_DEVICE_TYPE', 'A Storage Daemon needs at least one device.', {});
    this.devices = list.map((d) => {
      const device = typeof d.device === 'string' ? createDevice({ type: 'file', dir: d.device }) : 'list' in d.device ? d.device : createDevice({ ...d.device, ...(d.device.type !== 'file' ? { name: d.device.name ?? d.name, blockSize: d.device.blockSize ?? d.blockSize, log: d.device.log ?? log } : {}) });
      const blockSize = d.blockSize ?? DEFAULT_BLOCK_SIZE;
      if (!Number.isInteger(blockSize) || blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE || blockSize % 512 !== 0) {
        throw new CairnError('CAIRN_E_DEVICE_TYPE', `Block size ${blockSize} of device ${d.name} not allowed: a multiple of 512 from ${MIN_BLOCK_SIZE} to ${MAX_BLOCK_SIZE}.`, { blockSize, device: d.name });
      }
      const pool = new VolumePool({
        device,
        catalog,
        blockSize,
        maxVolumeBytes: d.maxVolumeBytes ?? DEFAULT_MAX_VOLUME_BYTES,
        maxVolumeJobs: d.maxVolumeJobs ?? DEFAULT_MAX_VOLUME_JOBS,
        log,
        filemarkBytes: d.filemarkBytes,
      });
      let gate: Promise<unknown> = Promise.resolve();
      const despoolGate = <T>(fn: () => Promise<T>): Promise<T> => {
        const p = gate.then(fn, fn);
        gate = p.catch(() => undefined);
        return p;
      };
      return {
        name: d.name,
        device,
        pool,
        slots: new DeviceSlots(d.name, d.maxConcurrentJobs ?? 0),
        reservation: device.access === 'sequential' ? new DriveReservation(d.name) : null,
        spool: d.spool ? { dir: path.resolve(d.spool.dir), maxJobBytes: d.spool.maxJobBytes ?? DEFAULT_SPOOL_JOB_BYTES } : null,
        blockSize,
        despoolGate,
      };
    });
    this.media = new MediaCommands(this.devices, catalog, log);
    this.device = this.devices[0].device;
    this.counter = new SessionCounter(this.device.stateDir);
    const tickets = new TicketBook();
    this.services = {
      tickets,
      log,
      heartbeatMs: o.heartbeatMs ?? 0,
      status: () => ({ ...this.status() }),
      openAppend: (job, owner) => this.openAppend(job, owner),
      openRead: (bootstrap, owner) => this.openRead(bootstrap, owner),
      // A claiming Director hears the volume updates kept while it was away before the job's notifications.
      claim: async (jobId, owner, answer) => {
        await this.directorLink?.delivered();
        return this.spool.claim(jobId, owner, answer);
      },
      release: (jobId) => this.spool.release(jobId),
      truncateVolume: (volume, opts) => this.truncateVolume(volume, opts),
      verifySession: (req) => this.verify(req),
      media: this.media,
    };
    this.spool = new NotificationSpool(o.spoolDir ?? null, log);
  }

  /**
   * Serves one connection until it ends. Never rejects. `peer` is who authenticated on it (net/): a Director
   * connection also carries the SD's catalog requests when the daemon runs with a DirectorCatalogLink.
   */
  /** What `status` answers (protocol.md §3) and the metrics endpoint shows: connections and each device's sessions, drive and media. */
  status(): StorageDaemonStatus {
    return {
      connections: this.connections.size,
      device: { type: this.device.type },
      devices: this.devices.map((d) => ({
        name: d.name,
        type: d.device.type,
        mediaType: d.device.mediaType,
        sessions: d.slots.inUse,
        waiting: d.slots.waiting,
        maxConcurrentJobs: d.slots.max,
        ...(d.reservation ? { drive: d.reservation.state } : {}),
        ...(d.device.access === 'sequential' ? { media: d.device.mediaStatus() } : {}),
        ...(d.spool ? { spool: d.spool } : {}),
      })),
    };
  }

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
    for (const d of this.devices) {
      await d.pool.closeAll();
      await d.device.close?.();
    }
    await this.spool.closeAll();
  }

  private async openAppend(job: SessionJobInfo, owner: SdConnection): Promise<{ ticket: string; sessionId: number; keyId: string; key: string }> {
    checkJob(job);
    const dev = this.deviceNamed(job.device);
    const releaseSlot = await this.waitForSlot(dev, job.jobId);
    let releaseDrive: (() => void) | null = null;
    const release = (): void => {
      releaseDrive?.();
      releaseSlot();
    };
    const takeDrive = async (): Promise<void> => {
      if (dev.reservation && !releaseDrive) releaseDrive = await this.waitForDrive(dev, { mode: 'append', pool: job.pool }, job.jobId);
    };
    try {
      let app = null;
      if (!dev.spool) {
        await takeDrive();
        app = await dev.pool.acquireForNewSession(job.pool);
      }
      const sessionId = await this.counter.allocate();
      const notify = await this.spool.open(job.jobId, owner);
      const session = new AppendSession(
        sessionId,
        job,
        app,
        dev.pool,
        notify,
        this.services.log,
        release,
        dev.spool
          ? {
              spool: new JobSpool(dev.spool.dir, sessionId, dev.blockSize, dev.spool.maxJobBytes),
              blockSize: dev.blockSize,
              despoolGate: dev.despoolGate,
              mount: async () => {
                await takeDrive();
                return dev.pool.acquireForNewSession(job.pool);
              },
            }
          : {},
      );
      if (job.mirror) {
        const copy = await this.openMirror(job, dev, sessionId).catch(async (err: unknown) => {
          await session.abort(`its mirror could not be opened: ${(err as Error).message}`); // gives back the volume and the slot
          throw err;
        });
        session.mirror = { device: job.mirror.device, session: copy };
      }
      const e = this.services.tickets.issue((ticket, keyId, key) => ({ kind: 'append' as const, ticket, keyId, key, session, boundTo: null, owner }));
      this.services.log.info({ sessionId, jobId: job.jobId, device: dev.name, volume: app?.volume, spooled: dev.spool !== null }, 'append session opened');
      return { ticket: e.ticket, sessionId, keyId: e.keyId, key: e.key };
    } catch (err) {
      release();
      throw err;
    }
  }

  /**
   * The copy session of a mirrored job on another device: its own slot, volume and session id; its notifications
   * are not the catalog's (the primary's are), only its close report travels, inside the primary's.
   */
  private async openMirror(job: SessionJobInfo, primary: SdDevice, primarySessionId: number): Promise<AppendSession> {
    const dev = this.deviceNamed(job.mirror!.device);
    if (dev === primary || dev.device.mediaType === primary.device.mediaType) {
      throw new CairnError('CAIRN_E_DEVICE_NOT_FOUND', `A mirrored copy needs another device with its own media type: ${dev.name} is ${dev === primary ? 'the primary device itself' : `of media type ${dev.device.mediaType} like ${primary.name}`}.`, { device: dev.name, primary: primary.name });
    }
    const releaseSlot = await this.waitForSlot(dev, job.jobId);
    let releaseDrive: (() => void) | null = null;
    const release = (): void => {
      releaseDrive?.();
      releaseSlot();
    };
    try {
      // A copy on a tape drive holds the drive for the job like any append session (it is written directly, not spooled).
      if (dev.reservation) releaseDrive = await this.waitForDrive(dev, { mode: 'append', pool: job.pool }, job.jobId);
      const app = await dev.pool.acquireForNewSession(job.pool);
      const sessionId = await this.counter.allocate();
      const info: SessionJobInfo = { ...job, device: dev.name, mirror: undefined, extra: { ...job.extra, copyOf: primarySessionId } };
      this.services.log.info({ sessionId, jobId: job.jobId, device: dev.name, volume: app.volume, copyOf: primarySessionId }, 'mirror session opened');
      return new AppendSession(sessionId, info, app, dev.pool, async () => undefined, this.services.log, release);
    } catch (err) {
      release();
      throw err;
    }
  }

  /** Volumes a live read session (ticketed or reading) names, or a volume verify or scan is reading. */
  volumesInUse(): Set<string> {
    return new Set([...this.services.tickets.readVolumes(), ...this.reading.keys()]);
  }

  /**
   * Recycling a purged volume: refused with CAIRN_E_VOLUME_BUSY (3502) while a read session names it or an
   * append session has it open; otherwise a new label (pool as given) and the file cut to that one block.
   */
  private async truncateVolume(volume: string, opts: { pool?: string }): Promise<Record<string, unknown>> {
    const busy = (why: string) => new CairnError('CAIRN_E_VOLUME_BUSY', `Volume ${volume} is ${why}; it is not truncated now (the Director retries at its next prune).`, { volume, why });
    if (this.truncating.has(volume)) throw busy('being truncated already');
    const dev = await this.deviceHolding(volume);
    if (dev.pool.isOpen(volume)) throw busy('open for appending');
    if (this.volumesInUse().has(volume)) throw busy('being read (a read session, a verify or a scan)');
    if (dev.reservation && dev.reservation.state.holders + dev.reservation.state.waiting > 0) throw busy('on a tape drive in use');
    this.truncating.add(volume);
    const releaseDrive = dev.reservation ? await dev.reservation.acquire({ mode: 'read' }) : () => undefined;
    try {
      return { ...(await truncateVolume(dev.device, volume, opts)) };
    } finally {
      releaseDrive();
      this.truncating.delete(volume);
    }
  }

  private readonly truncating = new Set<string>();

  private async openRead(bootstrap: Bootstrap, owner: SdConnection): Promise<{ ticket: string; keyId: string; key: string }> {
    if (!bootstrap || !Array.isArray(bootstrap.entries)) {
      throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', 'open read session needs a Bootstrap body with entries.', {});
    }
    const dev = bootstrap.device !== undefined ? this.deviceNamed(bootstrap.device) : await this.deviceHolding(bootstrap.entries[0]?.volume);
    const session = new ReadSession(bootstrap, dev.device, await this.holdForRead(dev, null, bootstrap.entries.map((e) => e.volume)));
    const e = this.services.tickets.issue((ticket, keyId, key) => ({ kind: 'read' as const, ticket, keyId, key, session, boundTo: null, owner }));
    return { ticket: e.ticket, keyId: e.keyId, key: e.key };
  }

  /**
   * `verify session` (protocol.md §3.1): like a read session it takes a slot of the volume's device and, on a
   * tape device, the drive (waiting its turn), so it never moves a tape under another session.
   */
  private async verify(req: VolumeVerifyRequest): Promise<VolumeVerifyResult> {
    const dev = await this.deviceHolding(req.entries?.[0]?.volume);
    const release = await this.holdForRead(dev, req.jobId ?? null, (req.entries ?? []).map((e) => e.volume));
    try {
      return await verifySession(dev.device, req);
    } finally {
      release();
    }
  }

  /**
   * Reads one volume directly, as a read session would (a slot of its device and, on tape, the drive, waiting
   * their turn; a tape loaded and spaced to `opts.startFile`/`startBlock`): its labels and records, for tools
   * that need what no read session hands out (a session's start label, its MANIFEST records).
   */
  async *scanVolume(volume: string, opts: ScanOptions = {}): AsyncGenerator<ScanItem> {
    const dev = await this.deviceHolding(volume);
    const release = await this.holdForRead(dev, null, [volume]);
    try {
      const d = dev.device;
      const handle = d.access === 'sequential' ? await d.open(volume, 'read', { wait: true }) : await d.open(volume, 'read');
      try {
        yield* scanVolume(handle, opts);
      } finally {
        await handle.close();
      }
    } finally {
      release();
    }
  }

  private deviceNamed(name: string | undefined): SdDevice {
    if (name === undefined) return this.devices[0];
    const d = this.devices.find((x) => x.name === name);
    if (!d) throw new CairnError('CAIRN_E_DEVICE_NOT_FOUND', `This Storage Daemon has no device "${name}" (devices: ${this.devices.map((x) => x.name).join(', ')}).`, { device: name, devices: this.devices.map((x) => x.name) });
    return d;
  }

  /** The device a volume is on (a read session that names no device); the first device when none lists it. */
  private async deviceHolding(volume: string | undefined): Promise<SdDevice> {
    if (volume === undefined || this.devices.length === 1) return this.devices[0];
    for (const d of this.devices) if ((await d.device.list()).includes(volume)) return d;
    return this.devices[0];
  }

  /**
   * What every read of volumes (a read session, a volume verify, a direct scan) holds: its volumes, which are
   * then not truncated for recycling (and are refused while one is being truncated), a device slot and, on a
   * tape device, the drive (each waiting its turn). The returned function frees them all.
   */
  private async holdForRead(dev: SdDevice, jobId: number | null, volumes: readonly string[]): Promise<() => void> {
    for (const v of volumes) {
      if (this.truncating.has(v)) throw new CairnError('CAIRN_E_VOLUME_BUSY', `Volume ${v} is being truncated for recycling.`, { volume: v });
    }
    for (const v of volumes) this.reading.set(v, (this.reading.get(v) ?? 0) + 1);
    const unread = () => {
      for (const v of volumes) {
        const n = (this.reading.get(v) ?? 1) - 1;
        if (n > 0) this.reading.set(v, n);
        else this.reading.delete(v);
      }
    };
    let releaseSlot: () => void = () => undefined;
    try {
      releaseSlot = await this.waitForSlot(dev, jobId);
      const releaseDrive = dev.reservation ? await this.waitForDrive(dev, { mode: 'read' }, jobId) : () => undefined;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        releaseDrive();
        releaseSlot();
        unread();
      };
    } catch (err) {
      releaseSlot();
      unread();
      throw err;
    }
  }

  /** Volumes being read (read sessions, verifies, scans), with how many reads hold each. */
  private readonly reading = new Map<string, number>();

  private async waitForDrive(dev: SdDevice, use: { mode: 'read' } | { mode: 'append'; pool: string }, jobId: number | null): Promise<() => void> {
    const r = dev.reservation as DriveReservation;
    if (r.state.holders > 0 || r.state.waiting > 0) this.services.log.info({ device: dev.name, jobId, use, drive: r.state }, 'tape drive in use: the session waits for it');
    return r.acquire(use);
  }

  private async waitForSlot(dev: SdDevice, jobId: number | null): Promise<() => void> {
    if (dev.slots.max > 0 && dev.slots.inUse >= dev.slots.max) {
      this.services.log.info({ device: dev.name, jobId, inUse: dev.slots.inUse, max: dev.slots.max }, 'device busy: the session waits for its turn');
    }
    return dev.slots.acquire();
  }
}

function checkJob(job: SessionJobInfo): void {
  if (!job || typeof job !== 'object' || !Number.isInteger(job.jobId) || typeof job.pool !== 'string' || job.pool === '') {
    throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', 'open append session needs a SessionJobInfo body with jobId and pool.', {});
  }
}
