/**
 * StDrive: the TapeDrive rules over a TapePort (the drive at syscall level:
 * the addon's st device, or the vtape emulator, which answer with the same
 * errno values). Owns what both share: one operation at a time in call order,
 * argument checks, the mapping of errno failures to CAIRN_E_TAPE_* codes
 * (reading the status after an EIO to tell end of data, a filemark or BOT
 * from a real I/O error), and telling early-warning from hard end of medium,
 * which st reports alike as ENOSPC (docs/tape.md, "End of medium").
 */
import { NativeError, tapeError, type TapeOp, type TapePort, type TapeStatus } from '../../native/index.js';
import type { TapeDrive } from './tape-drive.js';

/** The largest count st's SPACE and WRITE FILEMARKS take (a 24-bit signed field). */
const MAX_COUNT = 0x7fffff;

export class StDrive implements TapeDrive {
  readonly device: string;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /**
   * st lets every other write through past the early-warning mark: after a
   * refused write (ENOSPC, nothing attempted) the next one is tried. So an
   * ENOSPC right after such a refusal means the tried write did not fit.
   */
  private lastWrite: 'ok' | 'refused' | 'hard' = 'ok';

  constructor(
    readonly kind: 'tape' | 'vtape',
    protected readonly port: TapePort,
    readonly readOnly: boolean,
  ) {
    this.device = port.device;
  }

  /** Runs `fn` after every earlier operation has settled. */
  private run<T>(op: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new NativeError('CAIRN_E_TAPE_CLOSED', `Tape drive ${this.device} is closed (${op}).`, { device: this.device, op }));
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** The CAIRN_E_TAPE_* error for a failed syscall; an EIO is judged by the status read right after it. */
  private async fail(err: unknown, op: string, phase?: 'early-warning' | 'hard'): Promise<never> {
    let status: TapeStatus | undefined;
    if ((err as { code?: unknown }).code === 'EIO' || (err as { code?: unknown }).code === 'EACCES') {
      try {
        status = await this.port.status();
      } catch {
        status = undefined;
      }
    }
    throw tapeError(err, { device: this.device, op, status, phase });
  }

  private async ioctl(op: TapeOp, count: number): Promise<void> {
    try {
      await this.port.op(op, count);
    } catch (err) {
      await this.fail(err, op);
    }
    if (op !== 'MTNOP' && op !== 'MTSETBLK') this.lastWrite = 'ok';
  }

  private space(op: TapeOp, count: number): Promise<void> {
    checkCount(op, count);
    return this.run(op, () => this.ioctl(op, count));
  }

  writeBlock(block: Uint8Array): Promise<void> {
    if (!(block instanceof Uint8Array)) throw new TypeError('block must be a Buffer or Uint8Array');
    if (block.length === 0) throw new RangeError('a tape block cannot be empty (st writes nothing for a 0-byte write)');
    return this.run('write', async () => {
      let n: number;
      try {
        n = await this.port.write(block);
      } catch (err) {
        if ((err as { code?: unknown }).code === 'ENOSPC') {
          const phase = this.lastWrite === 'ok' ? 'early-warning' : 'hard';
          this.lastWrite = phase === 'early-warning' ? 'refused' : 'hard';
          return this.fail(err, 'write', phase);
        }
        return this.fail(err, 'write');
      }
      this.lastWrite = 'ok';
      if (n !== block.length) {
        // Fixed-block mode at hard end of medium: st wrote the blocks that fitted and returns their bytes.
        throw new NativeError('CAIRN_E_TAPE_END_OF_MEDIUM', `End of medium on ${this.device}: only ${n} of ${block.length} bytes were written (hard end).`, { device: this.device, op: 'write', phase: 'hard', written: n, length: block.length });
      }
    });
  }

  readBlock(buf: Uint8Array): Promise<number> {
    if (!(buf instanceof Uint8Array)) throw new TypeError('buf must be a Buffer or Uint8Array');
    if (buf.length === 0) throw new RangeError('the read buffer cannot be empty');
    return this.run('read', async () => {
      try {
        return await this.port.read(buf);
      } catch (err) {
        return this.fail(err, 'read');
      }
    });
  }

  writeFilemarks(count: number): Promise<void> {
    checkCount('MTWEOF', count, 0);
    return this.run('MTWEOF', () => this.ioctl('MTWEOF', count));
  }

  sync(): Promise<void> {
    return this.writeFilemarks(0);
  }

  rewind(): Promise<void> {
    return this.run('MTREW', () => this.ioctl('MTREW', 1));
  }

  fsf(count: number): Promise<void> {
    return this.space('MTFSF', count);
  }

  bsf(count: number): Promise<void> {
    return this.space('MTBSF', count);
  }

  fsr(count: number): Promise<void> {
    return this.space('MTFSR', count);
  }

  bsr(count: number): Promise<void> {
    return this.space('MTBSR', count);
  }

  eom(): Promise<void> {
    return this.run('MTEOM', () => this.ioctl('MTEOM', 1));
  }

  status(): Promise<TapeStatus> {
    return this.run('MTIOCGET', async () => {
      try {
        return await this.port.status();
      } catch (err) {
        return this.fail(err, 'MTIOCGET');
      }
    });
  }

  setBlockSize(size: number): Promise<void> {
    if (!Number.isInteger(size) || size < 0 || size > 0xffffff) throw new RangeError(`block size must be an integer from 0 (variable) to ${0xffffff}`);
    return this.run('MTSETBLK', () => this.ioctl('MTSETBLK', size));
  }

  offline(): Promise<void> {
    return this.run('MTOFFL', () => this.ioctl('MTOFFL', 1));
  }

  load(): Promise<void> {
    return this.run('MTLOAD', () => this.ioctl('MTLOAD', 1));
  }

  unload(): Promise<void> {
    return this.run('MTUNLOAD', () => this.ioctl('MTUNLOAD', 1));
  }

  close(): Promise<void> {
    const p = this.run('close', async () => {
      try {
        await this.port.close();
      } catch (err) {
        return this.fail(err, 'close');
      }
    });
    this.closed = true;
    return p;
  }
}

function checkCount(op: string, count: number, min = 1): void {
  if (!Number.isInteger(count) || count < min || count > MAX_COUNT) throw new RangeError(`${op} count must be an integer from ${min} to ${MAX_COUNT}`);
}
