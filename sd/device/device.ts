/**
 * Device: what the SD needs from storage media. A device holds named volumes
 * and is one of two kinds, told apart by `access` (docs/tape.md, "The SD's
 * device interface"):
 *
 * - 'random' (file): a volume is a file; a VolumeHandle reads and writes
 *   whole blocks at positions, knows its size and can be cut (truncate).
 * - 'sequential' (vtape, tape): a volume is a tape in a drive; a TapeVolume
 *   (sequential-device.ts) writes blocks where the tape stands, ends tape
 *   files with filemarks and positions by (file, block). It has no size(),
 *   no positional write and no truncate: a tape cannot honestly offer them.
 *
 * The rules below and in sequential-device.ts are what every device must
 * honour; sd/testing/device-conformance.ts checks them for every kind in the
 * registry (registry.ts).
 */
import { CairnError, isCairnError } from '../../plugin-api/index.js';
import type { SequentialDevice } from './sequential-device.js';

/** What every device has, whatever its access. */
export interface DeviceBase {
  /** Registry key ('file', 'vtape', 'tape'). */
  readonly type: string;
  /** 'random': volumes are files (VolumeHandle); 'sequential': tapes (TapeVolume). */
  readonly access: 'random' | 'sequential';
  /** Media type written into volume labels and matched against the catalog. */
  readonly mediaType: string;
  /** Where persistent SD state (the session-id counter) lives; null if the device has none. */
  readonly stateDir: string | null;
  /** Names of the volumes on the device (a tape device: the labelled tapes it can reach). */
  list(): Promise<string[]>;
  /** Releases what the device holds open (drives); the device may be used again afterwards. */
  close?(): Promise<void>;
}

/** A device of one kind or the other: narrow on `access`. */
export type Device = RandomAccessDevice | SequentialDevice;

/** Random-access media: volumes are files read and written at positions. */
export interface RandomAccessDevice extends DeviceBase {
  readonly access: 'random';
  /**
   * Creates an empty volume. Fails with CAIRN_E_VOLUME_EXISTS if the name is taken.
   * The new name is durable only after the handle's first sync() returns.
   */
  create(volume: string): Promise<VolumeHandle>;
  /** Opens an existing volume. Fails with CAIRN_E_VOLUME_NOT_FOUND if absent. */
  open(volume: string, mode: 'read' | 'append'): Promise<VolumeHandle>;
}

export interface VolumeHandle {
  readonly access: 'random';
  readonly volume: string;
  /** Bytes on the volume now (including writes not yet synced). */
  size(): Promise<number>;
  /**
   * Reads into buf from position; returns bytes read, which is less than
   * buf.length only at the end of the volume's data.
   */
  read(buf: Buffer, position: number): Promise<number>;
  /**
   * Writes whole blocks at position (the current end, or an overwrite of
   * uncommitted space). A block written is NOT durable until sync() returns.
   * Running out of room is reported as CAIRN_E_DEVICE_END_OF_MEDIUM
   * (isEndOfMedium), never as a generic error; other failures as CAIRN_E_DEVICE_IO.
   */
  writev(blocks: Buffer[], position: number): Promise<void>;
  /** Cuts the volume to `size` bytes (used to trim torn tails at mount). Append mode only. */
  truncate(size: number): Promise<void>;
  /**
   * Makes every write issued before the call durable; for a volume created by
   * this handle also makes its name durable (directory sync) the first time.
   */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export function isEndOfMedium(err: unknown): boolean {
  return isCairnError(err) && err.code === 'CAIRN_E_DEVICE_END_OF_MEDIUM';
}

/**
 * End of medium on a sequential device: the block was NOT written (fields.written === false) and belongs on the
 * next volume (the session continues there). A random-access device never reports this: its ENOSPC fails the write.
 */
export function isUnwrittenEndOfMedium(err: unknown): boolean {
  return isEndOfMedium(err) && (err as CairnError).fields.written === false;
}

export function isRetryable(err: unknown): boolean {
  return isCairnError(err) && err.retryable;
}

/** Maps a Node fs error to the device error classes. */
export function deviceError(err: unknown, volume: string, op: string): CairnError {
  if (isCairnError(err)) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOSPC' || e?.code === 'EFBIG' || e?.code === 'EDQUOT') {
    return new CairnError('CAIRN_E_DEVICE_END_OF_MEDIUM', `No room left on the device for volume ${volume} (${e.code}).`, { volume, op, errno: e.code }, { cause: err });
  }
  return new CairnError('CAIRN_E_DEVICE_IO', `Device ${op} failed on volume ${volume}: ${e?.message ?? String(err)}.`, { volume, op, errno: e?.code }, { cause: err, retryable: true });
}
