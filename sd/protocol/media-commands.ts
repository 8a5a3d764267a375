/**
 * MediaCommands: the operator's tape commands on the SD (protocol.md §3.2):
 * `media` (what is in the drive and the slots, the mount request, the
 * counters), `mount`, `unmount` and `label`. Labelling asks the catalog: a
 * tape that already carries a label is overwritten only when the catalog
 * says that volume is recyclable (purged or marked recycle); a new name comes
 * from the pool's label template (the catalog's next-volume-name). Each
 * command takes the drive like a read session (DriveReservation), so it never
 * moves a tape under a session: while the drive is in use it is refused with
 * CAIRN_E_VOLUME_BUSY (3502).
 */
import { CairnError } from '../../plugin-api/index.js';
import type { VolumeCatalogPort } from '../api.js';
import type { SequentialDevice } from '../device/sequential-device.js';
import { BlockKind } from '../volume/block.js';
import { labelBlock, volumeLabelObject, type VolumeLabel } from '../volume/labels.js';
import type { SdLogger } from '../session/logger.js';
import type { SdDevice } from './storage-daemon.js';

export interface LabelRequest {
  device?: string;
  /** The volume name; absent: the pool's next name (its label template). */
  name?: string;
  pool: string;
  /** Changer: label the tape in this slot. */
  slot?: number;
}

export class MediaCommands {
  constructor(
    private readonly devices: SdDevice[],
    private readonly catalog: VolumeCatalogPort,
    private readonly log: SdLogger,
  ) {}

  private tapeDevice(name: string | undefined): { dev: SdDevice; tape: SequentialDevice } {
    const dev = name === undefined ? this.devices.find((d) => d.device.access === 'sequential') : this.devices.find((d) => d.name === name);
    if (!dev) throw new CairnError('CAIRN_E_DEVICE_NOT_FOUND', name === undefined ? 'This Storage Daemon has no tape device.' : `This Storage Daemon has no device "${name}" (devices: ${this.devices.map((x) => x.name).join(', ')}).`, { device: name ?? null, devices: this.devices.map((x) => x.name) });
    if (dev.device.access !== 'sequential') throw new CairnError('CAIRN_E_DEVICE_TYPE', `Device ${dev.name} is a ${dev.device.type} device: mount, unmount and label are for tape devices.`, { device: dev.name, type: dev.device.type });
    return { dev, tape: dev.device };
  }

  /** Runs `fn` (the device runs its operations one at a time); refused at once while a volume is open on the drive. */
  private async exclusive<T>(dev: SdDevice, what: string, fn: () => Promise<T>): Promise<T> {
    const tape = dev.device as SequentialDevice;
    if (tape.mediaStatus().state === 'open') {
      throw new CairnError('CAIRN_E_VOLUME_BUSY', `Device ${dev.name} is in use (a volume is open for a session); cannot ${what} now.`, { device: dev.name, why: what, drive: dev.reservation?.state ?? null });
    }
    return fn();
  }

  /** The drive, its slots (with `scan`, every unknown tape is loaded and read), the mount request, and each volume's catalog state. */
  async status(device?: string, opts: { scan?: boolean } = {}): Promise<Record<string, unknown>> {
    const { dev, tape } = this.tapeDevice(device);
    if (opts.scan) await this.exclusive(dev, 'scan the slots', () => tape.scan());
    else if (tape.mediaStatus().state !== 'open') await tape.list(); // what is in the drive, and the changer's slots
    const media = tape.mediaStatus();
    const names = new Set<string>();
    if (media.loaded?.volume) names.add(media.loaded.volume);
    for (const s of media.slots) if (s.volume) names.add(s.volume);
    const volumes = [];
    for (const n of [...names].sort()) {
      const v = await this.catalog.getVolume(n).catch(() => null);
      volumes.push({ name: n, inDrive: media.loaded?.volume === n, slot: media.slots.find((s) => s.volume === n)?.slot ?? media.loaded?.slot ?? null, status: v?.status ?? 'not in catalog', pool: v?.pool ?? null, bytes: v?.committedBytes ?? null, jobs: v?.jobs ?? null });
    }
    return { ...media, drive: dev.reservation?.state ?? null, volumes };
  }

  mount(device: string | undefined, slot?: number): Promise<Record<string, unknown>> {
    const { dev, tape } = this.tapeDevice(device);
    return this.exclusive(dev, 'mount', async () => {
      const loaded = await tape.mount(slot);
      this.log.info({ device: dev.name, slot, loaded }, 'mounted');
      return { device: dev.name, loaded };
    });
  }

  unmount(device: string | undefined): Promise<Record<string, unknown>> {
    const { dev, tape } = this.tapeDevice(device);
    return this.exclusive(dev, 'unmount', async () => {
      await tape.unmount();
      this.log.info({ device: dev.name }, 'unmounted');
      return { device: dev.name, loaded: null };
    });
  }

  /**
   * Labels the tape in the drive (or slot): refused (CAIRN_E_VOLUME_LABELLED) when it carries a label the catalog
   * does not call recyclable, or data that is not a Cairn volume. The new volume is registered with one committed
   * block, as a volume the SD labels itself.
   */
  label(req: LabelRequest): Promise<Record<string, unknown>> {
    const { dev, tape } = this.tapeDevice(req.device);
    if (typeof req.pool !== 'string' || req.pool === '') throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', 'label needs a pool.', {});
    return this.exclusive(dev, 'label', async () => {
      const name = req.name ?? (await this.catalog.nextVolumeName(req.pool));
      const label = volumeLabelObject({ volumeName: name, pool: req.pool, mediaType: tape.mediaType, labelTime: Date.now(), blockSize: dev.blockSize });
      const block = labelBlock(dev.blockSize, BlockKind.VOLUME_LABEL, label, { blockNumber: 0, sessionId: 0, sessionSeq: 0 });
      const existing = await this.catalog.getVolume(name);
      if (existing && existing.status !== 'purged' && existing.status !== 'recycle') {
        throw new CairnError('CAIRN_E_VOLUME_EXISTS', `Volume ${name} is already in the catalog (${existing.status}); choose another name.`, { volume: name, status: existing.status });
      }
      const recyclable = async (old: VolumeLabel | 'foreign'): Promise<boolean> => {
        if (old === 'foreign') return false;
        const v = await this.catalog.getVolume(old.volumeName);
        return v !== null && (v.status === 'purged' || v.status === 'recycle');
      };
      const { previous } = await tape.labelMedia(name, block, { slot: req.slot, overwrite: recyclable });
      if (existing) await this.catalog.updateVolume(name, { status: 'append', committedBytes: dev.blockSize, committedBlocks: 1, jobs: 0 });
      else {
        await this.catalog.createVolume({ name, pool: req.pool, mediaType: tape.mediaType });
        await this.catalog.updateVolume(name, { committedBytes: dev.blockSize, committedBlocks: 1 });
      }
      if (previous !== null && previous !== 'foreign' && previous.volumeName !== name) {
        // The old volume's tape now carries another label: it is gone from the catalog's point of view.
        await this.catalog.updateVolume(previous.volumeName, { status: 'error' }).catch(() => undefined);
      }
      this.log.info({ device: dev.name, volume: name, pool: req.pool, slot: req.slot, previous: previous === null ? null : previous === 'foreign' ? 'foreign' : previous.volumeName }, 'labelled tape');
      return { device: dev.name, volume: name, pool: req.pool, slot: req.slot ?? null, previous: previous === null ? null : previous === 'foreign' ? 'foreign' : previous.volumeName };
    });
  }
}
