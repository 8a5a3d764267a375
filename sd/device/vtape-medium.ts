/**
 * VtapeMedium: the tape in an emulated drive — a vtape file (vtape-format.ts)
 * and the head's place on it — with what a SCSI drive does there: read the
 * record under the head, write blocks and filemarks (which end the recorded
 * data there: what followed is gone), space over blocks and filemarks in
 * both directions, and report early warning and hard end of medium. It knows
 * nothing of st's state; vtape-st.ts layers the driver on top, as st.c sits
 * on a drive.
 */
import fs from 'node:fs/promises';
import {
  NO_PREV,
  RECORD_HEADER_SIZE,
  REC_BLOCK,
  REC_EOD,
  REC_FILEMARK,
  VTAPE_HEADER_SIZE,
  decodeHeader,
  decodeRecord,
  encodeRecord,
  type VtapeHeader,
} from './vtape-format.js';

/** Room past the capacity that only filemarks may use: 64 of them. */
export const FILEMARK_RESERVE = 64 * RECORD_HEADER_SIZE;

export type RecordKind = 'block' | 'filemark' | 'eod';

export interface RecordAtHead {
  readonly kind: RecordKind;
  /** Data length (blocks). */
  readonly length: number;
}

/** Result of a space: how many were spaced and why it stopped early. */
export interface SpaceResult {
  readonly done: number;
  readonly stop: null | 'filemark' | 'eod' | 'bot';
}

/** Result of writing records: how many fitted, and whether the drive reported end of medium (early warning or overflow). */
export interface WriteResult {
  readonly written: number;
  readonly eom: boolean;
  readonly overflow: boolean;
}

export class VtapeMedium {
  /** File offset of the record under the head. */
  pos = VTAPE_HEADER_SIZE;
  /** Data length of the record before the head (NO_PREV at BOT). */
  prev = NO_PREV;
  /** Records (blocks and filemarks) between BOT and the head: the logical block address MTIOCPOS reports. */
  index = 0;
  private readonly scratch = Buffer.alloc(RECORD_HEADER_SIZE);

  private constructor(
    readonly file: string,
    private readonly fh: fs.FileHandle,
    readonly header: VtapeHeader,
    private fileSize: number,
  ) {}

  static async open(file: string, writable: boolean): Promise<VtapeMedium> {
    const fh = await fs.open(file, writable ? 'r+' : 'r');
    try {
      const head = Buffer.alloc(VTAPE_HEADER_SIZE);
      const { bytesRead } = await fh.read(head, 0, VTAPE_HEADER_SIZE, 0);
      const header = decodeHeader(head.subarray(0, bytesRead), file);
      const size = (await fh.stat()).size;
      return new VtapeMedium(file, fh, header, size);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  /** Bytes of the tape used up to the head. */
  get used(): number {
    return this.pos - VTAPE_HEADER_SIZE;
  }

  /** Past the early-warning mark. */
  get pastEarlyWarning(): boolean {
    return this.used > this.header.capacity - this.header.earlyWarning;
  }

  rewind(): void {
    this.pos = VTAPE_HEADER_SIZE;
    this.prev = NO_PREV;
    this.index = 0;
  }

  private async headerAt(pos: number): Promise<{ type: number; length: number; prev: number } | null> {
    if (pos + RECORD_HEADER_SIZE > this.fileSize) return null;
    const { bytesRead } = await this.fh.read(this.scratch, 0, RECORD_HEADER_SIZE, pos);
    const rec = decodeRecord(this.scratch.subarray(0, bytesRead));
    if (rec === null) return null;
    if (rec.type === REC_BLOCK && pos + RECORD_HEADER_SIZE + rec.length > this.fileSize) return null; // torn tail
    return rec;
  }

  /** What is under the head (a torn or missing tail reads as end of data). */
  async peek(): Promise<RecordAtHead> {
    const rec = await this.headerAt(this.pos);
    if (rec === null || rec.type === REC_EOD) return { kind: 'eod', length: 0 };
    return { kind: rec.type === REC_BLOCK ? 'block' : 'filemark', length: rec.length };
  }

  /** Moves the head over the record under it (which peek() reported). */
  private stepForward(rec: RecordAtHead): void {
    this.pos += RECORD_HEADER_SIZE + rec.length;
    this.prev = rec.length;
    this.index++;
  }

  /** Reads the block under the head into buf (which must hold it) and moves past it. */
  async readBlockData(rec: RecordAtHead, buf: Uint8Array, at = 0): Promise<void> {
    let got = 0;
    while (got < rec.length) {
      const { bytesRead } = await this.fh.read(buf, at + got, rec.length - got, this.pos + RECORD_HEADER_SIZE + got);
      if (bytesRead === 0) throw Object.assign(new Error('vtape file shrank under the drive'), { code: 'EIO' });
      got += bytesRead;
    }
    this.stepForward(rec);
  }

  /** Moves past the record under the head without reading its data (a skipped block or a filemark). */
  skip(rec: RecordAtHead): void {
    this.stepForward(rec);
  }

  /** Steps back over the record before the head; returns its kind, or 'bot'. */
  async stepBack(): Promise<RecordKind | 'bot'> {
    if (this.prev === NO_PREV || this.pos <= VTAPE_HEADER_SIZE) return 'bot';
    const at = this.pos - RECORD_HEADER_SIZE - this.prev;
    const rec = await this.headerAt(at);
    if (rec === null || rec.type === REC_EOD) throw Object.assign(new Error(`vtape ${this.file}: broken record chain at offset ${at}`), { code: 'EIO' });
    this.pos = at;
    this.prev = rec.prev;
    this.index--;
    return rec.type === REC_BLOCK ? 'block' : 'filemark';
  }

  async spaceBlocksForward(n: number): Promise<SpaceResult> {
    for (let done = 0; done < n; done++) {
      const rec = await this.peek();
      if (rec.kind === 'eod') return { done, stop: 'eod' };
      this.skip(rec);
      if (rec.kind === 'filemark') return { done, stop: 'filemark' }; // SCSI: positioned after the filemark
    }
    return { done: n, stop: null };
  }

  async spaceBlocksBackward(n: number): Promise<SpaceResult> {
    for (let done = 0; done < n; done++) {
      const kind = await this.stepBack();
      if (kind === 'bot') return { done, stop: 'bot' };
      // SSC: spacing blocks in reverse stops on the BOT side of a filemark; stepBack() left the head there.
      if (kind === 'filemark') return { done, stop: 'filemark' };
    }
    return { done: n, stop: null };
  }

  async spaceFilemarksForward(n: number): Promise<SpaceResult> {
    let done = 0;
    while (done < n) {
      const rec = await this.peek();
      if (rec.kind === 'eod') return { done, stop: 'eod' };
      this.skip(rec);
      if (rec.kind === 'filemark') done++;
    }
    return { done, stop: null };
  }

  async spaceFilemarksBackward(n: number): Promise<SpaceResult> {
    let done = 0;
    while (done < n) {
      const kind = await this.stepBack();
      if (kind === 'bot') return { done, stop: 'bot' };
      if (kind === 'filemark') done++;
    }
    return { done, stop: null }; // on the BOT side of the last filemark crossed
  }

  /** Spaces to end of data; returns the filemarks crossed. */
  async spaceToEod(): Promise<number> {
    let marks = 0;
    for (;;) {
      const rec = await this.peek();
      if (rec.kind === 'eod') return marks;
      this.skip(rec);
      if (rec.kind === 'filemark') marks++;
    }
  }

  /**
   * Writes records at the head — blocks (their lengths in `sizes`, data in
   * order in `data`) or filemarks (data null) — as many as fit before hard
   * end of medium, then the end-of-data marker; whatever followed is cut
   * off. `eom` is set when the head ends past the early-warning mark or a
   * record did not fit.
   */
  async writeRecords(sizes: readonly number[], data: Uint8Array | null): Promise<WriteResult> {
    const cap = this.header.capacity;
    const parts: Uint8Array[] = [];
    let used = this.used;
    let prev = this.prev;
    let written = 0;
    let offset = 0;
    let overflow = false;
    // Filemarks may use a small reserve past the capacity (drives keep room after the end of medium for them),
    // so a session can always be closed with a filemark once blocks no longer fit.
    const limit = data === null ? cap + FILEMARK_RESERVE : cap;
    for (const len of sizes) {
      if (used + RECORD_HEADER_SIZE + len > limit) {
        overflow = true;
        break;
      }
      parts.push(encodeRecord(data === null ? REC_FILEMARK : REC_BLOCK, len, prev));
      if (data !== null) parts.push(data.subarray(offset, offset + len));
      offset += len;
      used += RECORD_HEADER_SIZE + len;
      prev = len;
      written++;
    }
    if (written > 0) {
      parts.push(encodeRecord(REC_EOD, 0, prev));
      await writeAll(this.fh, parts, this.pos);
      const end = VTAPE_HEADER_SIZE + used + RECORD_HEADER_SIZE;
      if (this.fileSize > end) await this.fh.truncate(end);
      this.fileSize = end;
      this.pos = VTAPE_HEADER_SIZE + used;
      this.prev = prev;
      this.index += written;
    }
    return { written, eom: overflow || this.pastEarlyWarning, overflow };
  }

  /** The drive flushes its buffer: fdatasync. */
  async flush(): Promise<void> {
    await this.fh.datasync();
  }
}

async function writeAll(fh: fs.FileHandle, parts: Uint8Array[], position: number): Promise<void> {
  let want = parts.reduce((n, p) => n + p.length, 0);
  let pos = position;
  let rest = parts;
  while (want > 0) {
    const { bytesWritten } = await fh.writev(rest, pos);
    want -= bytesWritten;
    pos += bytesWritten;
    if (want > 0) rest = dropBytes(rest, bytesWritten);
  }
}

function dropBytes(parts: Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let skip = n;
  for (const p of parts) {
    if (skip >= p.length) {
      skip -= p.length;
      continue;
    }
    out.push(skip > 0 ? p.subarray(skip) : p);
    skip = 0;
  }
  return out;
}
