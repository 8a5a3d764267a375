/**
 * JobSpool: one append session's data blocks kept in a file on local disk
 * until they are despooled to the device in one long sequential run (Bacula's
 * data spooling). A slow client then fills the spool at its own pace, and the
 * tape drive only ever sees data as fast as it takes it: it never stops and
 * repositions between blocks (shoe-shining). Blocks are spooled unnumbered —
 * their block number, sequence and checksum are sealed when they go to the
 * volume — with what the session needs to know of each (payload length,
 * first record offset, file indexes, the catalog records starting in it).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { CairnError } from '../../plugin-api/index.js';
import type { FilledBlock } from './block-writer.js';

type SpooledBlock = Omit<FilledBlock, 'buf'>;

export class JobSpool {
  private fh: fs.FileHandle | null = null;
  private readonly blocks: SpooledBlock[] = [];
  readonly file: string;

  constructor(
    dir: string,
    sessionId: number,
    private readonly blockSize: number,
    /** Despool once this many bytes are spooled (the session's spool share). */
    readonly maxBytes: number,
  ) {
    this.file = path.join(dir, `session-${sessionId}.spool`);
  }

  /** Bytes spooled and not yet despooled. */
  get bytes(): number {
    return this.blocks.length * this.blockSize;
  }

  get full(): boolean {
    return this.bytes >= this.maxBytes;
  }

  /** Appends one filled (unsealed) block; its buffer may be reused once this resolves. */
  async add(b: FilledBlock): Promise<void> {
    try {
      if (!this.fh) {
        await fs.mkdir(path.dirname(this.file), { recursive: true });
        this.fh = await fs.open(this.file, 'w+');
      }
      let off = 0;
      const at = this.blocks.length * this.blockSize;
      while (off < this.blockSize) off += (await this.fh.write(b.buf, off, this.blockSize - off, at + off)).bytesWritten;
    } catch (err) {
      throw new CairnError('CAIRN_E_DEVICE_IO', `Spooling to ${this.file} failed: ${(err as Error).message}`, { file: this.file, op: 'spool' }, { cause: err, retryable: true });
    }
    const { buf: _buf, ...meta } = b;
    this.blocks.push(meta);
  }

  /** The spooled blocks in order, each read into a buffer from `alloc`; the spool is empty afterwards. */
  async *drain(alloc: () => Buffer): AsyncGenerator<FilledBlock> {
    const list = this.blocks.splice(0);
    for (let i = 0; i < list.length; i++) {
      const buf = alloc();
      let off = 0;
      while (off < this.blockSize) {
        const { bytesRead } = await (this.fh as fs.FileHandle).read(buf, off, this.blockSize - off, i * this.blockSize + off);
        if (bytesRead === 0) throw new CairnError('CAIRN_E_DEVICE_IO', `Spool file ${this.file} is shorter than what was spooled.`, { file: this.file, op: 'despool' });
        off += bytesRead;
      }
      yield { buf, ...list[i] };
    }
    await this.fh?.truncate(0);
  }

  /** Removes the spool file. */
  async discard(): Promise<void> {
    this.blocks.length = 0;
    const fh = this.fh;
    this.fh = null;
    await fh?.close().catch(() => undefined);
    await fs.rm(this.file, { force: true });
  }
}
