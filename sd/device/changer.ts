/**
 * Changer: an autochanger (tape library) as the SD's tape device uses it —
 * its slots and drives, and moving a cartridge between a slot and a drive.
 * Two implementations behind this one interface: MtxChanger (a real library
 * through the `mtx` program, mtx-changer.ts) and VtapeChanger (a folder of
 * vtape files and slots, vtape-changer.ts, for tests and for trying a setup
 * without hardware).
 *
 * Rules: slots are numbered from 1 and drives from 0 (as mtx numbers them);
 * load() and unload() settle when the cartridge has moved; a changer never
 * touches the drive itself (the tape device takes the drive offline before
 * unload()); failures are CAIRN_E_CHANGER_FAILED with the command and what it
 * printed.
 */

export interface ChangerDrive {
  drive: number;
  full: boolean;
  /** The slot the loaded cartridge came from, when the changer knows it. */
  slot?: number;
  /** Volume tag (barcode) of the loaded cartridge. */
  tag?: string;
}

export interface ChangerSlot {
  slot: number;
  full: boolean;
  tag?: string;
  /** An import/export (mail) slot. */
  importExport?: boolean;
}

export interface ChangerStatus {
  drives: ChangerDrive[];
  slots: ChangerSlot[];
}

export interface Changer {
  readonly kind: 'mtx' | 'vtape';
  /** The changer device (/dev/sg3) or folder. */
  readonly device: string;
  status(): Promise<ChangerStatus>;
  /** Moves the cartridge in `slot` into `drive`. */
  load(slot: number, drive: number): Promise<void>;
  /** Moves the cartridge in `drive` back to `slot`. */
  unload(slot: number, drive: number): Promise<void>;
}
