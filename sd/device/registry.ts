/**
 * The device registry: the one explicit list of device types the SD knows.
 * A new device type is added here, nowhere else.
 *
 * | type  | access     | what |
 * |-------|------------|------|
 * | file  | random     | a directory of volume files (FileDevice) |
 * | vtape | sequential | a vtape file in an emulated drive, or a folder of vtape slots with a VtapeChanger (TapeDevice over VtapeDrive) |
 * | tape  | sequential | a real no-rewind st drive (TapeDevice over NativeTapeDrive), optionally in an mtx autochanger |
 */
import path from 'node:path';
import { CairnError } from '../../plugin-api/index.js';
import type { Changer } from './changer.js';
import type { Device } from './device.js';
import { FileDevice, type FileDeviceConfig } from './file-device.js';
import { MtxChanger } from './mtx-changer.js';
import { NativeTapeDrive } from './native-tape-drive.js';
import type { MountRequest } from './sequential-device.js';
import { TapeDevice } from './tape-device.js';
import type { TapeDrive } from './tape-drive.js';
import { VtapeChanger } from './vtape-changer.js';
import { VtapeDrive } from './vtape-drive.js';

/** A changer: `mtx` on a SCSI changer device, or a vtape changer folder. */
export type ChangerConfig = { type: 'mtx'; device: string; program?: string; timeoutMs?: number } | { type: 'vtape'; path: string; slots: number; drives?: string[] };

export interface TapeDeviceConfig {
  type: 'vtape' | 'tape';
  /**
   * vtape: a vtape file (one drive and its tape), or — with `slots` — a changer folder (slot-N files, the drive's
   * tape in drive0). tape: the drive's no-rewind device (/dev/nst0).
   */
  path: string;
  /** vtape: the folder is a changer with this many slots. */
  slots?: number;
  /** vtape: capacity of the blank vtapes created for empty slots (or the missing vtape file) at first use. */
  capacity?: number;
  /** tape: the drive's autochanger. */
  changer?: ChangerConfig;
  /** The drive's index in its changer (mtx numbers from 0). */
  driveIndex?: number;
  mediaType?: string;
  /** Block size tried first when reading a tape's label. */
  blockSize?: number;
  stateDir?: string;
  name?: string;
  maxMediaWaitMs?: number;
  mediaPollMs?: number;
  openAttempts?: number;
  openRetryMs?: number;
  onMountRequest?: (r: MountRequest | null) => void;
  log?: { info(o: object, m: string): void; warn(o: object, m: string): void };
  /** Wraps the drive once opened (tests: instrumentation, faults). */
  wrapDrive?: (d: TapeDrive) => TapeDrive;
  /** Wraps the changer (tests: recording its moves). */
  wrapChanger?: (c: Changer) => Changer;
}

export type DeviceConfig = FileDeviceConfig | TapeDeviceConfig;

function changerFor(c: ChangerConfig): Changer {
  return c.type === 'mtx' ? new MtxChanger({ device: c.device, program: c.program, timeoutMs: c.timeoutMs }) : new VtapeChanger({ path: c.path, slots: c.slots, drives: c.drives });
}

function tapeDevice(cfg: TapeDeviceConfig): Device {
  const wrap = cfg.wrapDrive ?? ((d: TapeDrive) => d);
  let changer: Changer | undefined;
  let drivePath = cfg.path;
  let prepare: () => Promise<void> = async () => undefined;
  if (cfg.type === 'vtape' && cfg.slots !== undefined) {
    const vc = new VtapeChanger({ path: cfg.path, slots: cfg.slots });
    changer = vc;
    drivePath = vc.driveFile(0);
    if (cfg.capacity !== undefined) prepare = async () => void (await vc.populate({ capacity: cfg.capacity as number }));
  } else if (cfg.changer) {
    changer = changerFor(cfg.changer);
  }
  if (changer && cfg.wrapChanger) changer = cfg.wrapChanger(changer);
  if (cfg.type === 'vtape' && cfg.slots === undefined && cfg.capacity !== undefined) {
    prepare = async () => {
      const { createVtapeFile } = await import('./vtape-format.js');
      await createVtapeFile(cfg.path, { capacity: cfg.capacity as number }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    };
  }
  let prepared: Promise<void> | null = null;
  const openDrive = async (): Promise<TapeDrive> => {
    prepared ??= prepare();
    await prepared;
    return wrap(cfg.type === 'vtape' ? await VtapeDrive.open(drivePath, { nonBlocking: true }) : await NativeTapeDrive.open(drivePath, { nonBlocking: true }));
  };
  return new TapeDevice({
    type: cfg.type,
    name: cfg.name,
    openDrive,
    drivePath,
    changer,
    driveIndex: cfg.driveIndex,
    mediaType: cfg.mediaType,
    blockSize: cfg.blockSize,
    stateDir: cfg.stateDir ?? (cfg.type === 'vtape' ? (cfg.slots !== undefined ? path.resolve(cfg.path) : path.dirname(path.resolve(cfg.path))) : null),
    maxMediaWaitMs: cfg.maxMediaWaitMs,
    mediaPollMs: cfg.mediaPollMs,
    openAttempts: cfg.openAttempts,
    openRetryMs: cfg.openRetryMs,
    onMountRequest: cfg.onMountRequest,
    log: cfg.log,
  });
}

export const DEVICE_TYPES: Record<string, (cfg: DeviceConfig) => Device> = {
  file: (cfg) => new FileDevice(cfg as FileDeviceConfig),
  vtape: (cfg) => tapeDevice(cfg as TapeDeviceConfig),
  tape: (cfg) => tapeDevice(cfg as TapeDeviceConfig),
};

export function createDevice(cfg: DeviceConfig): Device {
  const make = DEVICE_TYPES[cfg.type];
  if (!make) {
    throw new CairnError('CAIRN_E_DEVICE_TYPE', `Unknown device type "${String(cfg.type)}"; known: ${Object.keys(DEVICE_TYPES).join(', ')}.`, { type: cfg.type, known: Object.keys(DEVICE_TYPES) });
  }
  return make(cfg);
}
