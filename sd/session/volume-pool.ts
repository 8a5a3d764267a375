/**
 * VolumePool: which volume each pool appends to. Finds an appendable volume
 * through the catalog (mounting it with the checks of volume-mount.ts) or
 * labels a new one; rolls over to the next volume when one is Full; enforces
 * the per-volume job limit (the smaller of the device's and the pool's, which
 * the catalog sends with each volume) and re-asks the catalog before each new
 * job whether the current volume still takes jobs; closes volumes no session
 * holds any more. On a tape device (sequential) the appender is a
 * TapeAppender and only one volume is open at a time: a full tape is closed
 * before the next is mounted, and a tape no session holds is closed (so the
 * drive is free for reading) and mounted again by the next job.
 */
import { isCairnError } from '../../plugin-api/index.js';
import type { VolumeCatalogPort } from '../api.js';
import type { Device, RandomAccessDevice, VolumeHandle } from '../device/device.js';
import type { TapeVolume } from '../device/sequential-device.js';
import { BlockKind } from '../volume/block.js';
import { labelBlock, volumeLabelObject } from '../volume/labels.js';
import type { Appender } from './appender.js';
import type { SdLogger } from './logger.js';
import { TapeAppender } from './tape-appender.js';
import { VolumeAppender } from './volume-appender.js';
import { mountForAppend, mountTapeForAppend } from './volume-mount.js';

export interface VolumePoolOptions {
  device: Device;
  catalog: VolumeCatalogPort;
  blockSize: number;
  maxVolumeBytes: number;
  /** 0 = unlimited */
  maxVolumeJobs: number;
  log: SdLogger;
  /** Tape devices: a filemark ends a tape file once it holds this many bytes. */
  filemarkBytes?: number;
}

/** Default bytes per tape file (docs/volume-format.md §2.1): a read spaces over files of 1 GiB instead of reading them. */
export const DEFAULT_FILEMARK_BYTES = 1024 ** 3;

export class VolumePool {
  private readonly current = new Map<string, Appender>();
  private readonly opening = new Map<string, Promise<Appender>>();
  private readonly rolling = new Map<Appender, Promise<Appender>>();
  /** Volumes open for append anywhere in this SD (never mount one twice). */
  private readonly open = new Map<string, Appender>();

  constructor(private readonly o: VolumePoolOptions) {}

  /** The appender a new session of `pool` starts on; counts the job on it. */
  async acquireForNewSession(pool: string): Promise<Appender> {
    const app = await this.currentFor(pool, true);
    app.refs++;
    app.jobs++;
    await this.o.catalog.updateVolume(app.volume, { jobs: app.jobs });
    return app;
  }

  /** The next volume after `full` (shared by every session that hits the same full volume). */
  rollover(full: Appender, pool: string): Promise<Appender> {
    let p = this.rolling.get(full);
    if (!p) {
      p = (async () => {
        full.closedForAppend = true;
        if (this.current.get(pool) === full) this.current.delete(pool);
        await full.sync({ status: 'full' });
        if (this.sequential) {
          // One tape in the drive at a time: the full one goes before the next is mounted.
          this.open.delete(full.volume);
          await full.close();
        }
        this.o.log.info({ volume: full.volume, blocks: full.blocks }, 'volume full, rolling over');
        return this.currentFor(pool, false);
      })();
      this.rolling.set(full, p);
    }
    return p.then(async (next) => {
      // Sessions that met the same full volume share its successor; one that comes late may find it already
      // closed (every session on it released it: a tape drive is then free). It gets the pool's current volume.
      const app = this.open.get(next.volume) === next ? next : await this.currentFor(pool, false);
      app.refs++;
      return app;
    });
  }

  /** A session no longer appends to `app`. */
  async release(app: Appender): Promise<void> {
    app.refs--;
    if (app.refs <= 0 && (app.closedForAppend || app.retired || this.sequential)) {
      // A tape no session holds is closed (the drive is free for reading); the next job mounts it again.
      if (this.open.get(app.volume) === app) this.open.delete(app.volume);
      for (const [pool, cur] of this.current) if (cur === app) this.current.delete(pool);
      this.rolling.delete(app);
      const closing = app.close();
      // A tape drive holds one volume: the next mount waits for this close.
      if (this.sequential) this.closing = closing.catch(() => undefined);
      await closing;
    }
  }

  async closeAll(): Promise<void> {
    for (const app of this.open.values()) {
      app.closedForAppend = true;
      await app.sync().catch(() => undefined);
      await app.close().catch(() => undefined);
    }
    this.open.clear();
    this.current.clear();
  }

  private async currentFor(pool: string, newJob: boolean): Promise<Appender> {
    let cur = this.current.get(pool);
    if (cur && newJob && !cur.closedForAppend && !cur.retired) {
      // The Director may have closed the volume to new jobs since (its pool's job limit or use duration, pruning): ask.
      const info = await this.o.catalog.getVolume(cur.volume);
      if (info?.maxJobs !== undefined) cur.poolMaxJobs = info.maxJobs;
      if (!info || info.status !== 'append') await this.retire(pool, cur, false);
    }
    cur = this.current.get(pool);
    if (cur && !cur.closedForAppend && !(newJob && this.jobsExhausted(cur))) return cur;
    if (cur && newJob && this.jobsExhausted(cur)) await this.retire(pool, cur, true);
    let p = this.opening.get(pool);
    if (!p) {
      p = this.findOrCreate(pool).finally(() => this.opening.delete(pool));
      this.opening.set(pool, p);
    }
    return p;
  }

  /** No new jobs on `cur`; sessions already on it finish there. */
  private async retire(pool: string, cur: Appender, markUsed: boolean): Promise<void> {
    if (this.current.get(pool) === cur) this.current.delete(pool);
    if (cur.retired) return;
    cur.retired = true;
    if (markUsed) await this.o.catalog.updateVolume(cur.volume, { status: 'used' });
    if (cur.refs <= 0) {
      this.open.delete(cur.volume);
      await cur.close();
    }
  }

  private jobsExhausted(v: { jobs: number; poolMaxJobs?: number }): boolean {
    const limits = [this.o.maxVolumeJobs, v.poolMaxJobs ?? 0].filter((n) => n > 0);
    return limits.length > 0 && v.jobs >= Math.min(...limits);
  }

  /** A tape being closed (the drive is free once it is). */
  private closing: Promise<void> = Promise.resolve();

  private async findOrCreate(pool: string): Promise<Appender> {
    const { device, catalog } = this.o;
    await this.closing;
    const found = await catalog.findAppendableVolume(pool, device.mediaType);
    const limits = { jobs: found?.jobs ?? 0, poolMaxJobs: found?.maxJobs };
    let app: Appender | null = null;
    if (found && !this.open.has(found.name) && !this.jobsExhausted(limits)) {
      const mount: Promise<{ label: { blockSize: number }; blocks: number; handle: VolumeHandle | TapeVolume }> = device.access === 'sequential' ? mountTapeForAppend(device, found, this.o.log) : mountForAppend(device, found, this.o.log);
      const m = await mount.catch(async (err: unknown) => {
        // Refused volumes are marked Error so the next job labels a fresh one; this job still fails, naming the volume.
        if (isCairnError(err) && (err.code === 'CAIRN_E_VOLUME_SHORT' || err.code === 'CAIRN_E_VOLUME_MISMATCH' || err.code === 'CAIRN_E_VOLUME_LABEL')) {
          await catalog.updateVolume(found.name, { status: 'error' }).catch(() => undefined);
          this.o.log.error({ volume: found.name, code: err.code, ...err.fields }, 'volume refused for append');
        }
        throw err;
      });
      const maxBlocks = this.maxBlocks(m.label.blockSize, found.maxBytes);
      app = m.handle.access === 'sequential' ? new TapeAppender(m.handle, maxBlocks, m.blocks, found.jobs, catalog, this.filemarkBytes) : new VolumeAppender(m.handle, m.label.blockSize, maxBlocks, m.blocks, found.jobs, catalog);
      app.poolMaxJobs = found.maxJobs;
    } else if (found && this.jobsExhausted(limits)) {
      await catalog.updateVolume(found.name, { status: 'used' });
    }
    app ??= await this.createVolume(pool);
    this.open.set(app.volume, app);
    this.current.set(pool, app);
    return app;
  }

  /** True while an append session holds `volume` open (truncation must wait). */
  isOpen(volume: string): boolean {
    return this.open.has(volume);
  }

  private get sequential(): boolean {
    return this.o.device.access === 'sequential';
  }

  private get filemarkBytes(): number {
    return this.o.filemarkBytes ?? DEFAULT_FILEMARK_BYTES;
  }

  private maxBlocks(bs: number, poolMaxBytes?: number): number {
    const max = poolMaxBytes !== undefined ? Math.min(this.o.maxVolumeBytes, poolMaxBytes) : this.o.maxVolumeBytes;
    return Math.max(2, Math.floor(max / bs));
  }

  /** Labels a new volume: label block written and fsynced (file and directory) before the catalog hears of it. */
  private async createVolume(pool: string): Promise<Appender> {
    const { device, catalog, blockSize } = this.o;
    const name = await catalog.nextVolumeName(pool);
    const label = volumeLabelObject({ volumeName: name, pool, mediaType: device.mediaType, labelTime: Date.now(), blockSize });
    const block0 = labelBlock(blockSize, BlockKind.VOLUME_LABEL, label, { blockNumber: 0, sessionId: 0, sessionSeq: 0 });
    if (device.access === 'sequential') {
      // A blank tape gets the label in tape file 0 (durable) before the catalog hears of the volume.
      const tape = await device.create(name, block0, { wait: true, pool });
      try {
        const info = await catalog.createVolume({ name, pool, mediaType: device.mediaType });
        await catalog.updateVolume(name, { committedBytes: blockSize, committedBlocks: 1 });
        this.o.log.info({ volume: name, pool, device: device.type }, 'labelled new tape volume');
        const app = new TapeAppender(tape, this.maxBlocks(blockSize, info.maxBytes), 1, 0, catalog, this.filemarkBytes);
        app.poolMaxJobs = info.maxJobs;
        return app;
      } catch (err) {
        await tape.close();
        throw err;
      }
    }
    const handle = await device.create(name);
    let info: Awaited<ReturnType<VolumeCatalogPort['createVolume']>>;
    try {
      await handle.writev([block0], 0);
      await handle.sync();
      info = await catalog.createVolume({ name, pool, mediaType: device.mediaType });
      await catalog.updateVolume(name, { committedBytes: blockSize, committedBlocks: 1 });
    } catch (err) {
      await handle.close();
      throw err;
    }
    this.o.log.info({ volume: name, pool }, 'labelled new volume');
    const app = new VolumeAppender(handle, blockSize, this.maxBlocks(blockSize, info.maxBytes), 1, 0, catalog);
    app.poolMaxJobs = info.maxJobs;
    return app;
  }
}
