/**
 * Device: what the SD needs from storage media. A device holds named volumes;
 * a VolumeHandle is one volume opened for reading or appending. The rules
 * below are what every device (file, vtape, tape) must honour.
 */
import { CairnError, isCairnError } from '../../plugin-api/index.js';

export interface Device {
  /** Registry key ('file', …). */
  readonly type: string;
  /** Media type written into volume labels and matched against the catalog. */
  readonly mediaType: string;
  /** Where persistent SD state (the session-id counter) lives; null if the device has none. */
  readonly stateDir: string | null;
  /** Names of the volumes on the device. */
  list(): Promise<string[]>;
  /**
   * Creates an empty volume. Fails with CAIRN_E_VOLUME_EXISTS if the name is taken.
   * The new name is durable only after the handle's first sync() returns.
   */
  create(volume: string): Promise<VolumeHandle>;
  /** Opens an existing volume. Fails with CAIRN_E_VOLUME_NOT_FOUND if absent. */
  open(volume: string, mode: 'read' | 'append'): Promise<VolumeHandle>;
}

export interface VolumeHandle {
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
