/**
 * CountingTapeDrive: a TapeDrive wrapper that counts what the drive does —
 * blocks read and written, files and blocks spaced over, rewinds — without
 * changing any result. The SD's tape device wraps every drive in one (the
 * counts are in its media status), so tests and admins can see that a
 * restore positioned with fsf/fsr instead of reading its way there.
 */
import type { TapeDrive, TapeStatus } from './tape-drive.js';

export interface TapeCounters {
  blocksRead: number;
  blocksWritten: number;
  filesSpaced: number;
  blocksSpaced: number;
  rewinds: number;
  loads: number;
}

export function zeroCounters(): TapeCounters {
  return { blocksRead: 0, blocksWritten: 0, filesSpaced: 0, blocksSpaced: 0, rewinds: 0, loads: 0 };
}

export class CountingTapeDrive implements TapeDrive {
  constructor(
    private readonly d: TapeDrive,
    readonly counters: TapeCounters = zeroCounters(),
  ) {}

  get kind(): 'tape' | 'vtape' {
    return this.d.kind;
  }
  get device(): string {
    return this.d.device;
  }
  get readOnly(): boolean {
    return this.d.readOnly;
  }

  async writeBlock(block: Uint8Array): Promise<void> {
    await this.d.writeBlock(block);
    this.counters.blocksWritten++;
  }
  async readBlock(buf: Uint8Array): Promise<number> {
    const n = await this.d.readBlock(buf);
    if (n > 0) this.counters.blocksRead++;
    return n;
  }
  writeFilemarks(count: number): Promise<void> {
    return this.d.writeFilemarks(count);
  }
  sync(): Promise<void> {
    return this.d.sync();
  }
  rewind(): Promise<void> {
    this.counters.rewinds++;
    return this.d.rewind();
  }
  fsf(count: number): Promise<void> {
    this.counters.filesSpaced += count;
    return this.d.fsf(count);
  }
  bsf(count: number): Promise<void> {
    this.counters.filesSpaced += count;
    return this.d.bsf(count);
  }
  fsr(count: number): Promise<void> {
    this.counters.blocksSpaced += count;
    return this.d.fsr(count);
  }
  bsr(count: number): Promise<void> {
    this.counters.blocksSpaced += count;
    return this.d.bsr(count);
  }
  eom(): Promise<void> {
    return this.d.eom();
  }
  status(): Promise<TapeStatus> {
    return this.d.status();
  }
  setBlockSize(size: number): Promise<void> {
    return this.d.setBlockSize(size);
  }
  offline(): Promise<void> {
    return this.d.offline();
  }
  load(): Promise<void> {
    this.counters.loads++;
    return this.d.load();
  }
  unload(): Promise<void> {
    return this.d.unload();
  }
  close(): Promise<void> {
    return this.d.close();
  }
}
