/**
 * DriveVolume: a TapeVolume (sequential-device.ts) — one labelled tape in a
 * drive, as the SD reads and appends it. Owns the tape layout's mechanics:
 * where the next block goes (file, block), ending tape files with filemarks,
 * finding the end of the data on mount (the last block's number, read from
 * its header after spacing back), positioning a read with rewind/fsf/bsf/fsr
 * (reading one block to learn where a file starts) and crossing filemarks
 * while reading. Tape errors become device errors: end of medium is
 * CAIRN_E_DEVICE_END_OF_MEDIUM with written=false, anything else
 * CAIRN_E_DEVICE_IO with the tape error as cause.
 */
import { CairnError, isCairnError } from '../../plugin-api/index.js';
import { checkBlock } from '../volume/block.js';
import type { VolumeLabel } from '../volume/labels.js';
import type { TapeAddress, TapeEnd, TapeVolume } from './sequential-device.js';
import { endOfMediumPhase, isTapeEndOfData, isTapeEndOfMedium, type TapeDrive } from './tape-drive.js';

const code = (err: unknown): string | undefined => (isCairnError(err) ? err.code : undefined);

export class DriveVolume implements TapeVolume {
  readonly access = 'sequential' as const;
  next: TapeAddress = { file: 1, block: 1 };
  /** Reading: the tape file the head is in. */
  private file = 0;
  /** Reading: a block already read while positioning (handed out by the next readBlock). */
  private pending: Buffer | null = null;
  private pendingFile = 0;
  /** Reading: the position met end of data. */
  private atEnd = false;
  /** Blocks written since the last filemark. */
  private dirty = false;
  /** The tape reported end of medium: nothing more is written on it. */
  private full: CairnError | null = null;
  private closed = false;

  constructor(
    private readonly drive: TapeDrive,
    readonly volume: string,
    readonly label: VolumeLabel,
    readonly mode: 'read' | 'append',
    private readonly onClose: () => void,
  ) {}

  get blockSize(): number {
    return this.label.blockSize;
  }

  private io(err: unknown, op: string): CairnError {
    // Device errors, and what the tape holds (CAIRN_E_VOLUME_*: a file that starts after the block sought, a bad first block), keep their codes.
    if (isCairnError(err) && (err.code.startsWith('CAIRN_E_DEVICE_') || err.code.startsWith('CAIRN_E_VOLUME_'))) return err;
    return new CairnError('CAIRN_E_DEVICE_IO', `Tape ${op} failed on volume ${this.volume} (${this.drive.device}): ${(err as Error)?.message ?? String(err)}`, { volume: this.volume, op, device: this.drive.device, tapeCode: code(err) }, { cause: err, retryable: true });
  }

  private async guard<T>(op: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new CairnError('CAIRN_E_DEVICE_IO', `Volume ${this.volume} is closed (${op}).`, { volume: this.volume, op });
    try {
      return await fn();
    } catch (err) {
      throw this.io(err, op);
    }
  }

  seekEnd(): Promise<TapeEnd> {
    return this.guard('seek end', async () => {
      const d = this.drive;
      await d.eom();
      let files = (await d.status()).fileNo;
      let endsWithBlock = true;
      let last = -1;
      // Back over filemarks to the last block, and read its number from its header.
      for (let i = 0; i < 8 && last < 0; i++) {
        try {
          await d.bsr(1);
        } catch (err) {
          if (code(err) === 'CAIRN_E_TAPE_FILEMARK') {
            endsWithBlock = false;
            continue;
          }
          if (code(err) === 'CAIRN_E_TAPE_BEGINNING_OF_MEDIUM') break;
          throw err;
        }
        const buf = Buffer.allocUnsafe(this.blockSize);
        const n = await d.readBlock(buf);
        const c = n > 0 ? checkBlock(buf.subarray(0, n), n) : null;
        if (!c || !c.ok) throw new CairnError('CAIRN_E_VOLUME_MISMATCH', `Volume ${this.volume}: the last block on the tape fails its check (${c && !c.ok ? c.reason : 'empty'}); refusing to append.`, { volume: this.volume });
        last = c.header.blockNumber;
      }
      if (last < 0) throw new CairnError('CAIRN_E_VOLUME_LABEL', `Volume ${this.volume}: no block found before the end of data.`, { volume: this.volume });
      await d.eom();
      if (files < 0) files = (await d.status()).fileNo;
      if (endsWithBlock) {
        // Data that did not end with a filemark (a crash before close): end that file, so appending starts a clean one.
        await d.writeFilemarks(1);
        files++;
      }
      this.next = { file: files, block: last + 1 };
      this.dirty = false;
      return { blocks: last + 1, files };
    });
  }

  async writeBlock(block: Buffer): Promise<TapeAddress> {
    if (this.full) throw this.full;
    return this.guard('write', async () => {
      try {
        await this.drive.writeBlock(block);
      } catch (err) {
        if (!isTapeEndOfMedium(err)) throw err;
        this.full = new CairnError(
          'CAIRN_E_DEVICE_END_OF_MEDIUM',
          `End of medium on volume ${this.volume} (${endOfMediumPhase(err)}): block ${this.next.block} was not written; it goes on the next volume.`,
          { volume: this.volume, written: false, phase: endOfMediumPhase(err), file: this.next.file, block: this.next.block },
          { cause: err },
        );
        throw this.full;
      }
      const at = { ...this.next };
      this.next.block++;
      this.dirty = true;
      return at;
    });
  }

  /** True once the tape reported end of medium. */
  get isFull(): boolean {
    return this.full !== null;
  }

  writeFilemark(): Promise<void> {
    return this.guard('write filemark', async () => {
      await this.drive.writeFilemarks(1);
      this.next.file++;
      this.dirty = false;
    });
  }

  sync(): Promise<void> {
    return this.guard('sync', () => this.drive.sync());
  }

  seek(file: number, block: number): Promise<void> {
    return this.guard('seek', async () => {
      const d = this.drive;
      this.pending = null;
      this.atEnd = false;
      const cur = (await d.status()).fileNo;
      if (file === 0 || cur < 0) {
        await d.rewind();
        if (file > 0) await d.fsf(file);
      } else if (cur < file) {
        await d.fsf(file - cur);
      } else {
        // In the file or past it: back over (cur - file + 1) filemarks, then forward over one, to the file's start.
        await d.bsf(cur - file + 1);
        await d.fsf(1);
      }
      this.file = file;
      // Where does this file start? Read its first block's number, then space forward to the one wanted.
      const buf = Buffer.allocUnsafe(this.blockSize);
      let n: number;
      try {
        n = await d.readBlock(buf);
      } catch (err) {
        if (!isTapeEndOfData(err)) throw err;
        n = 0;
      }
      if (n === 0) {
        this.atEnd = true; // the file is empty: end of data
        return;
      }
      const c = checkBlock(buf.subarray(0, n), n);
      if (!c.ok) throw new CairnError('CAIRN_E_VOLUME_BAD_BLOCK', `Volume ${this.volume}: the first block of tape file ${file} is unreadable (${c.reason}).`, { volume: this.volume, file, block });
      const first = c.header.blockNumber;
      if (first === block) {
        this.pending = buf.subarray(0, n);
        this.pendingFile = file;
        return;
      }
      if (first > block) throw new CairnError('CAIRN_E_VOLUME_MISMATCH', `Volume ${this.volume}: tape file ${file} starts at block ${first}, after block ${block}.`, { volume: this.volume, file, block, first });
      if (block - first - 1 > 0) await d.fsr(block - first - 1);
    });
  }

  readBlock(buf: Buffer): Promise<{ length: number; file: number } | null> {
    return this.guard('read', async () => {
      if (this.atEnd) return null;
      if (this.pending) {
        const p = this.pending;
        this.pending = null;
        p.copy(buf);
        return { length: p.length, file: this.pendingFile };
      }
      let zeros = 0;
      for (;;) {
        let n: number;
        try {
          n = await this.drive.readBlock(buf);
        } catch (err) {
          if (isTapeEndOfData(err)) return null;
          throw err;
        }
        if (n > 0) return { length: n, file: this.file };
        if (++zeros >= 2) return null; // two filemarks in a row: end of data
        this.file++;
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.mode === 'append' && this.dirty && !this.full) await this.writeFilemark();
      else if (this.mode === 'append' && this.dirty) await this.drive.writeFilemarks(1).catch(() => undefined);
    } finally {
      this.closed = true;
      this.onClose();
    }
  }
}
