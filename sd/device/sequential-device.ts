/**
 * The sequential half of the SD's device interface (device.ts): a tape
 * device (vtape or a real drive, with or without a changer) and a TapeVolume,
 * one labelled tape loaded in its drive. The SD's tape layout (docs/volume-
 * format.md §2.1): tape file 0 holds the volume label block alone, then a
 * filemark; data blocks follow in tape files 1, 2, … each ended by a
 * filemark; block numbers run on across files (label 0, then 1, 2, …), so
 * an address is (volume, file, block).
 *
 * Rules every sequential device honours (device-conformance.ts checks them):
 * - One volume open at a time per drive: a second open while a TapeVolume is
 *   open is CAIRN_E_VOLUME_BUSY (the SD's drive reservation makes sessions
 *   wait before it comes to that).
 * - A block written is durable only after sync(), writeFilemark() or close().
 * - End of medium is CAIRN_E_DEVICE_END_OF_MEDIUM with fields.written=false
 *   (isUnwrittenEndOfMedium): the block is not on the tape; nothing after it
 *   is written on this volume (the tape is Full); the caller writes it on the
 *   next volume. Other failures are CAIRN_E_DEVICE_IO (the tape error as cause).
 * - A volume that is not in the drive (nor, with a changer, in a slot) is
 *   CAIRN_E_MEDIA_NOT_AVAILABLE; open() waits for it when given a wait
 *   (a visible mount request) until maxMediaWaitMs: CAIRN_E_MEDIA_WAIT_TIMEOUT.
 * - create() labels only a blank tape: a labelled tape is never overwritten
 *   by it (relabelling a recyclable one is labelMedia(…, overwrite)).
 */
import type { VolumeLabel } from '../volume/labels.js';
import type { DeviceBase } from './device.js';

/** Where a block is on tape: its tape file and its block number (volume-wide). */
export interface TapeAddress {
  file: number;
  block: number;
}

/** What reading a tape's end found (mounting for append). */
export interface TapeEnd {
  /** Blocks on the tape (last block number + 1; 1 = only the label). */
  blocks: number;
  /** Filemarks on the tape: the file the next block goes into. */
  files: number;
}

export interface TapeVolume {
  readonly access: 'sequential';
  readonly volume: string;
  readonly label: VolumeLabel;
  readonly blockSize: number;
  /**
   * Appending (mode 'append'): where the next block written goes. Set by
   * openForAppend()/create(); writeBlock() and writeFilemark() move it.
   */
  readonly next: TapeAddress;
  /** Positions at end of data and reports what is on the tape (mode 'append'); appending starts a new tape file there. */
  seekEnd(): Promise<TapeEnd>;
  /** Writes one block (exactly blockSize bytes) at `next`. End of medium: see the rules above. */
  writeBlock(block: Buffer): Promise<TapeAddress>;
  /** Ends the current tape file: a filemark; everything before it is durable. */
  writeFilemark(): Promise<void>;
  /** Makes every block written so far durable (the drive's buffer flushed). */
  sync(): Promise<void>;
  /** Reading: positions so that the next readBlock() returns block `block` of tape file `file`. */
  seek(file: number, block: number): Promise<void>;
  /** The next block into buf (whole), with its tape file; crosses filemarks; null at end of data. */
  readBlock(buf: Buffer): Promise<{ length: number; file: number } | null>;
  /** Releases the drive (a filemark first if blocks were written since the last one). The tape stays loaded. */
  close(): Promise<void>;
}

/** A request for an operator (or the changer) to put a tape in the drive: what a waiting job shows. */
export interface MountRequest {
  device: string;
  /** The volume wanted; null: any blank tape (a new volume is to be labelled). */
  volume: string | null;
  pool?: string;
  mode: 'read' | 'append';
  /** ms since epoch */
  since: number;
  /** ms the job waits at most. */
  maxWaitMs: number;
  message: string;
}

export interface SlotInfo {
  slot: number;
  full: boolean;
  /** The changer's volume tag (barcode), if it reads them. */
  tag?: string;
  /** The Cairn volume label of the tape, when the device knows it ('' = blank, undefined = not read yet). */
  volume?: string;
}

/** What a tape device holds and does now (the SD's `status` and the console's `media` list show it). */
export interface MediaStatus {
  device: string;
  type: string;
  /** idle, in use by a session (reading/appending), or a job waits for a tape. */
  state: 'idle' | 'open' | 'waiting-for-media';
  /** The tape in the drive: its volume name, '' when blank, null when none or unknown; the slot it came from. */
  loaded: { volume: string | null; slot?: number; foreign?: boolean } | null;
  slots: SlotInfo[];
  mountRequest: MountRequest | null;
  /** Blocks read, written, positioning operations and tapes loaded since the device started (instrumentation). */
  counters: { blocksRead: number; blocksWritten: number; filesSpaced: number; blocksSpaced: number; rewinds: number; loads: number };
}

export interface OpenOptions {
  /** Wait for the tape (a mount request) instead of failing with CAIRN_E_MEDIA_NOT_AVAILABLE. */
  wait?: boolean;
  pool?: string;
  signal?: AbortSignal;
}

export interface SequentialDevice extends DeviceBase {
  readonly access: 'sequential';
  /**
   * Labels a blank tape as `volume` (the loaded one if blank, else a blank one from the changer's slots, else —
   * with wait — a mount request for a blank tape): `labelBlock` (the whole volume label block) at BOT, then a
   * filemark, durable. The handle is ready to append at (file 1, block 1). A labelled tape is never chosen.
   */
  create(volume: string, labelBlock: Buffer, opts?: OpenOptions): Promise<TapeVolume>;
  /** Loads the tape labelled `volume` (changer) or checks the loaded one; its label read. */
  open(volume: string, mode: 'read' | 'append', opts?: OpenOptions): Promise<TapeVolume>;
  /** Media facts (drive, slots, mount request, counters). */
  mediaStatus(): MediaStatus;
  /** Re-reads the changer's slots and the labels of the tapes not yet known (loading each in turn). */
  scan(): Promise<SlotInfo[]>;
  /**
   * Operator: a tape was put in the drive, or (changer) load `slot`. Wakes jobs waiting for media. Refused with
   * CAIRN_E_VOLUME_BUSY while a volume is open.
   */
  mount(slot?: number): Promise<MediaStatus['loaded']>;
  /** Operator: unload the drive (back to its slot with a changer). CAIRN_E_VOLUME_BUSY while a volume is open. */
  unmount(): Promise<void>;
  /**
   * Operator: writes `labelBlock` on the tape in the drive (or in `slot`). `overwrite(existing)` decides for a
   * tape that already has a label ('foreign': data that is not a Cairn volume); without it a labelled tape is
   * refused with CAIRN_E_VOLUME_LABELLED.
   */
  labelMedia(volume: string, labelBlock: Buffer, opts: { slot?: number; overwrite?: (existing: VolumeLabel | 'foreign') => Promise<boolean> | boolean }): Promise<{ previous: VolumeLabel | 'foreign' | null }>;
  /** Rewrites the label of `volume` (recycling: same name, new label) and cuts the tape after it. */
  relabel(volume: string, labelBlock: Buffer): Promise<{ previous: VolumeLabel }>;
}
