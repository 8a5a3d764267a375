/**
 * The Linux st driver, emulated over a VtapeMedium: what read(2), write(2),
 * ioctl(MTIOCTOP/MTIOCGET/MTIOCPOS) and close(2) on /dev/nstN return for the
 * same tape, errno for errno. It follows drivers/scsi/st.c (st_read,
 * read_tape, st_write, st_ioctl, st_int_ioctl, st_flush) for a drive without
 * partitions or setmarks, with st's defaults (BSD semantics, one filemark at
 * close, no fast MTEOM, no read-ahead: a fixed-mode read must be a whole
 * number of blocks). docs/tape.md lists the choices.
 *
 * One VtapeUnit per vtape file per process is "the drive with its tape": its
 * state (position, st's eof state, block size) survives close and reopen as
 * with a real no-rewind device; a second open while open is EBUSY.
 * test/support/tape-shim/tape-shim.c implements the same rules in C.
 */
import path from 'node:path';
import { tapeErrno, type TapeErrnoError, type TapeOp, type TapePort, type TapeStatus } from '../../native/index.js';
import { VtapeMedium } from './vtape-medium.js';

// st's eof states (st.h), in their order: comparisons below rely on it.
const NOEOF = 0;
const FM_HIT = 1;
const FM = 2;
const EOM_OK = 3;
const EOM_ERROR = 4;
const EOD_1 = 5;
const EOD_2 = 6;
const EOD = 7;

const ERRNO: Record<string, number> = { EIO: 5, ENOMEM: 12, EACCES: 13, EBUSY: 16, EINVAL: 22, ENOSPC: 28, EROFS: 30, ENOSYS: 38, ENOMEDIUM: 123, EBADF: 9 };

/** GMT_* bits of mt_gstat (<sys/mtio.h>). */
export const GMT = { EOF: 0x80000000, BOT: 0x40000000, EOT: 0x20000000, EOD: 0x08000000, WR_PROT: 0x04000000, ONLINE: 0x01000000, DR_OPEN: 0x00040000 } as const;

const units = new Map<string, VtapeUnit>();

/** The emulated drive holding one vtape file (per process). */
class VtapeUnit {
  inUse = false;
  loaded = true;
  newSession = true;
  medium: VtapeMedium | null = null;
  ready = false;
  eof = NOEOF;
  rw: 'idle' | 'reading' | 'writing' = 'idle';
  drvFile = -1;
  drvBlock = -1;
  blockSize = 0;
  writeProt = false;
  drvWriteProt = false;
  /** Where the head was when the medium file was last closed (the tape does not move between opens). */
  head: { pos: number; prev: number; index: number } | null = null;

  constructor(readonly file: string) {}
}

export interface VtapeOpenOptions {
  readonly readOnly?: boolean;
  readonly nonBlocking?: boolean;
}

function err(code: string, syscall: string, op: string, file: string): TapeErrnoError {
  return tapeErrno(code, ERRNO[code] ?? 5, syscall, op, file);
}

/** Opens the emulated drive on `file` (st_open + check_tape). */
export async function openVtapePort(file: string, options: VtapeOpenOptions = {}): Promise<TapePort> {
  const key = path.resolve(file);
  let unit = units.get(key);
  if (unit === undefined) {
    unit = new VtapeUnit(key);
    units.set(key, unit);
  }
  if (unit.inUse) throw err('EBUSY', 'open', 'open', file);
  const st = new VtapeSt(unit, file, options);
  await st.checkTape();
  unit.inUse = true;
  return st;
}

class VtapeSt implements TapePort {
  readonly device: string;
  private closed = false;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly u: VtapeUnit,
    file: string,
    private readonly options: VtapeOpenOptions,
  ) {
    this.device = file;
  }

  private e(code: string, syscall: string, op: string): TapeErrnoError {
    return err(code, syscall, op, this.device);
  }

  /** Serialises calls like st's per-drive mutex. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** check_tape at open: load the medium (a new session the first time), refuse a protected tape for writing. */
  async checkTape(): Promise<void> {
    const u = this.u;
    u.rw = 'idle';
    if (u.loaded && u.medium === null) {
      try {
        u.medium = await VtapeMedium.open(u.file, this.options.readOnly !== true);
        if (u.head !== null) Object.assign(u.medium, u.head);
      } catch (cause) {
        const code = (cause as { code?: string }).code;
        if (code === 'ENOENT' || code === 'EACCES' || code === 'EPERM' || code === 'EROFS') throw Object.assign(this.e(code === 'EPERM' ? 'EACCES' : code, 'open', 'open'), { cause });
        throw cause; // CAIRN_E_TAPE_FORMAT from the header
      }
    }
    if (!u.loaded) {
      u.ready = false;
      u.drvFile = u.drvBlock = -1;
      u.blockSize = 0;
      u.writeProt = false;
      u.drvWriteProt = false;
      if (this.options.nonBlocking !== true) throw this.e('ENOMEDIUM', 'open', 'open');
      return;
    }
    const m = u.medium as VtapeMedium;
    u.ready = true;
    if (u.newSession) {
      u.newSession = false;
      m.rewind();
      u.eof = NOEOF;
      u.drvFile = 0;
      u.drvBlock = 0;
      u.blockSize = 0;
    }
    u.drvWriteProt = m.header.writeProtected;
    u.writeProt = this.options.readOnly === true || u.drvWriteProt;
    if (u.drvWriteProt && this.options.readOnly !== true && this.options.nonBlocking !== true) {
      await this.releaseMedium();
      throw this.e('EROFS', 'open', 'open');
    }
  }

  private async releaseMedium(): Promise<void> {
    const m = this.u.medium;
    this.u.medium = null;
    if (m !== null) {
      this.u.head = { pos: m.pos, prev: m.prev, index: m.index };
      await m.close();
    }
  }

  private get m(): VtapeMedium {
    return this.u.medium as VtapeMedium;
  }

  private checkOpen(syscall: string, op: string): void {
    if (this.closed) throw this.e('EBADF', syscall, op);
  }

  /** rw_checks */
  private rwChecks(count: number, syscall: string): void {
    const u = this.u;
    if (!u.ready) throw this.e(u.loaded ? 'EIO' : 'ENOMEDIUM', syscall, syscall);
    if (count === 0) return;
    const h = this.m.header;
    if (u.blockSize === 0 && (count < h.minBlock || count > h.maxBlock)) throw this.e('EINVAL', syscall, syscall);
  }

  /** flush_buffer: no driver buffer is modelled, so only a filemark hit in fixed mode matters. */
  private async flushBuffer(seekNext: boolean): Promise<void> {
    const u = this.u;
    if (!u.ready || u.rw === 'writing' || u.blockSize === 0) return;
    if (!seekNext) {
      if (u.eof === FM_HIT) {
        await this.m.stepBack(); // cross_eof backwards
        u.eof = NOEOF;
      }
    } else if (u.eof === FM_HIT) {
      if (u.drvFile >= 0) u.drvFile++;
      u.drvBlock = 0;
      u.eof = NOEOF;
    }
  }

  write(buf: Uint8Array): Promise<number> {
    return this.serial(async () => {
      this.checkOpen('write', 'write');
      const u = this.u;
      const count = buf.length;
      this.rwChecks(count, 'write');
      if (count === 0) return 0;
      if (u.blockSize !== 0 && count % u.blockSize !== 0) throw this.e('EINVAL', 'write', 'write');
      if (u.writeProt) throw this.e('EACCES', 'write', 'write');
      if (u.rw === 'reading') {
        await this.flushBuffer(false);
        u.rw = 'writing';
      }
      if (u.eof === EOM_OK) {
        u.eof = EOD_1; // allow the next write
        throw this.e('ENOSPC', 'write', 'write');
      }
      if (u.eof === EOM_ERROR) throw this.e('EIO', 'write', 'write');
      u.rw = 'writing';
      const sizes = u.blockSize === 0 ? [count] : new Array<number>(count / u.blockSize).fill(u.blockSize);
      const r = await this.m.writeRecords(sizes, buf);
      const bytes = u.blockSize === 0 ? (r.written > 0 ? count : 0) : r.written * u.blockSize;
      if (!r.eom) {
        if (u.drvBlock >= 0) u.drvBlock += u.blockSize === 0 ? 1 : r.written;
        if (u.eof === EOD_1) u.eof = EOM_OK;
        else if (u.eof !== EOM_OK) u.eof = NOEOF;
        return count;
      }
      // CHECK CONDITION with EOM: early warning (all written) or VOLUME OVERFLOW (the rest not written).
      u.eof = EOM_OK;
      if (u.drvBlock >= 0) u.drvBlock += u.blockSize === 0 ? (bytes > 0 ? 1 : 0) : r.written;
      if (bytes > 0) return bytes;
      throw this.e('ENOSPC', 'write', 'write');
    });
  }

  read(buf: Uint8Array): Promise<number> {
    return this.serial(async () => {
      this.checkOpen('read', 'read');
      const u = this.u;
      const count = buf.length;
      this.rwChecks(count, 'read');
      if (count === 0) return 0;
      if (u.blockSize !== 0 && count % u.blockSize !== 0) throw this.e('EINVAL', 'read', 'read'); // no read-ahead
      if (u.rw === 'writing') {
        await this.flushBuffer(false);
        u.rw = 'reading';
      }
      if (u.eof >= EOD_1) {
        if (u.eof < EOD) {
          u.eof += 1;
          return 0;
        }
        throw this.e('EIO', 'read', 'read'); // EOM or blank check
      }
      u.rw = 'reading';
      const total = await this.readTape(buf);
      if (total === 0) {
        if (u.eof === FM_HIT) {
          u.eof = FM;
          u.drvBlock = 0;
          if (u.drvFile >= 0) u.drvFile++;
        } else if (u.eof === EOD_1) {
          u.eof = EOD_2;
          u.drvBlock = 0;
          if (u.drvFile >= 0) u.drvFile++;
        } else if (u.eof === EOD_2) {
          u.eof = EOD;
        }
      } else if (u.eof === FM) {
        u.eof = NOEOF;
      }
      return total;
    });
  }

  /** read_tape: returns the bytes delivered; throws ENOMEM/EIO as st does. */
  private async readTape(buf: Uint8Array): Promise<number> {
    const u = this.u;
    const m = this.m;
    if (u.eof === FM_HIT) return 0;
    let bytes = 0;
    if (u.blockSize === 0) {
      const rec = await m.peek();
      if (rec.kind === 'block') {
        if (buf.length < rec.length) {
          m.skip(rec); // the drive read the block; st could not deliver it
          if (u.drvBlock >= 0) u.drvBlock += 1;
          throw this.e('ENOMEM', 'read', 'read');
        }
        await m.readBlockData(rec, buf);
        bytes = rec.length;
      } else if (rec.kind === 'filemark') {
        m.skip(rec);
        u.eof = u.eof !== FM_HIT ? FM_HIT : EOD_2;
      } else {
        this.blankCheck();
      }
    } else {
      const want = buf.length / u.blockSize;
      let k = 0;
      for (; k < want; k++) {
        const rec = await m.peek();
        if (rec.kind === 'block' && rec.length === u.blockSize) {
          await m.readBlockData(rec, buf, k * u.blockSize);
          continue;
        }
        if (rec.kind === 'filemark') {
          m.skip(rec);
          u.eof = u.eof !== FM_HIT ? FM_HIT : EOD_2;
          break;
        }
        if (rec.kind === 'eod') {
          this.blankCheck(); // data read before the blank check is not delivered (st)
          return 0;
        }
        // A block of another size: ILI. st backspaces over it (MTBSR 1); with nothing read it is an error.
        if (k === 0) throw this.e('EIO', 'read', 'read');
        u.eof = NOEOF;
        break;
      }
      bytes = k * u.blockSize;
    }
    if (u.drvBlock >= 0) u.drvBlock += u.blockSize === 0 ? 1 : bytes / u.blockSize;
    return bytes;
  }

  /** BLANK CHECK at end of data: 0 bytes for the first read after a filemark, else EIO. */
  private blankCheck(): void {
    const u = this.u;
    u.drvBlock = -1;
    if (u.eof === FM) {
      u.eof = EOD_2;
      return;
    }
    throw this.e('EIO', 'read', 'read');
  }

  op(op: TapeOp, count: number): Promise<void> {
    return this.serial(async () => {
      this.checkOpen('ioctl', op);
      const u = this.u;
      let n = count;
      if (u.eof === FM_HIT) {
        if (op === 'MTFSF' || op === 'MTEOM') {
          n -= 1;
          if (u.drvFile >= 0) u.drvFile += 1;
        } else if (op === 'MTBSF') {
          n += 1;
          if (u.drvFile >= 0) u.drvFile += 1;
        }
      }
      await this.flushBuffer(op === 'MTREW' || op === 'MTOFFL' || op === 'MTEOM' || op === 'MTLOAD' || op === 'MTFSF' || op === 'MTBSF');
      if (u.rw === 'writing' && (op === 'MTREW' || op === 'MTOFFL' || op === 'MTBSF')) {
        await this.intIoctl('MTWEOF', 1);
        if (op === 'MTBSF') n++;
        u.rw = 'idle';
      }
      if (op !== 'MTNOP' && op !== 'MTSETBLK') u.rw = 'idle';
      if (op === 'MTUNLOAD' || op === 'MTOFFL') return this.loadUnload(false);
      if (op === 'MTLOAD') return this.loadUnload(true);
      return this.intIoctl(op, n);
    });
  }

  /** do_load_unload */
  private async loadUnload(load: boolean): Promise<void> {
    const u = this.u;
    if (!u.ready && !load) throw this.e(u.loaded ? 'EIO' : 'ENOMEDIUM', 'ioctl', 'MTUNLOAD');
    if (!load) {
      await this.m.flush();
      this.m.rewind();
      await this.releaseMedium();
      u.loaded = false;
      u.ready = false;
      u.newSession = true;
      return;
    }
    if (!u.loaded || u.medium === null) {
      u.loaded = true;
      try {
        u.medium = await VtapeMedium.open(u.file, this.options.readOnly !== true);
      } catch {
        u.loaded = false;
        u.drvFile = u.drvBlock = -1;
        throw this.e('EIO', 'ioctl', 'MTLOAD');
      }
    }
    // LOAD positions the tape at BOT (SSC); st then starts a new session.
    u.newSession = true;
    u.ready = true;
    if (u.newSession) {
      u.newSession = false;
      this.m.rewind();
      u.eof = NOEOF;
      u.drvFile = 0;
      u.drvBlock = 0;
      u.blockSize = 0;
    }
    u.drvWriteProt = this.m.header.writeProtected;
    u.writeProt = this.options.readOnly === true || u.drvWriteProt;
  }

  /** st_int_ioctl, for the operations a vtape drive supports. */
  private async intIoctl(op: TapeOp, arg: number): Promise<void> {
    const u = this.u;
    if (!u.ready) throw this.e(u.loaded ? 'EIO' : 'ENOMEDIUM', 'ioctl', op);
    const m = this.m;
    let fileno = u.drvFile;
    let blkno = u.drvBlock;
    const fail = (): TapeErrnoError => this.e('EIO', 'ioctl', op);
    switch (op) {
      case 'MTNOP':
        return;
      case 'MTREW':
        m.rewind();
        u.drvFile = u.drvBlock = 0;
        u.eof = NOEOF;
        return;
      case 'MTWEOF':
      case 'MTWEOFI': {
        if (u.writeProt) throw this.e('EACCES', 'ioctl', op);
        if (fileno >= 0) fileno += arg;
        const r = arg > 0 ? await m.writeRecords(new Array<number>(arg).fill(0), null) : { written: 0, eom: m.pastEarlyWarning, overflow: false };
        if (op === 'MTWEOF') await m.flush();
        u.drvBlock = 0;
        if (!r.overflow) {
          // success, or early warning (NO SENSE with EOM): the filemarks are written
          u.drvFile = fileno;
          u.eof = NOEOF;
          u.rw = 'idle';
          return;
        }
        const undone = arg - r.written;
        u.eof = EOM_OK;
        if (fileno >= 0) fileno -= undone;
        if (undone < arg) u.eof = NOEOF;
        u.drvFile = fileno;
        throw fail();
      }
      case 'MTFSF': {
        if (fileno >= 0) fileno += arg;
        const r = await m.spaceFilemarksForward(arg);
        if (r.stop === null) {
          u.drvFile = fileno;
          u.drvBlock = 0;
          u.eof = FM;
          return;
        }
        u.drvFile = fileno >= 0 ? fileno - (arg - r.done) : fileno;
        u.drvBlock = -1;
        u.eof = EOD; // BLANK CHECK
        throw fail();
      }
      case 'MTBSF': {
        if (fileno >= 0) fileno -= arg;
        const r = await m.spaceFilemarksBackward(arg);
        if (r.stop === null) {
          u.drvFile = fileno;
          u.drvBlock = -1;
          u.eof = NOEOF;
          return;
        }
        if (u.drvFile >= 0) u.drvFile = fileno + (arg - r.done);
        u.drvBlock = 0;
        u.eof = NOEOF;
        throw fail();
      }
      case 'MTFSR': {
        if (blkno >= 0) blkno += arg;
        const r = await m.spaceBlocksForward(arg);
        if (r.stop === null) {
          u.drvBlock = blkno;
          u.eof = NOEOF;
          return;
        }
        const undone = arg - r.done;
        if (r.stop === 'filemark') {
          if (u.drvFile >= 0) u.drvFile++;
          u.drvBlock = 0;
          u.eof = FM;
        } else {
          u.drvBlock = blkno >= undone ? blkno - undone : -1;
          u.eof = EOD; // BLANK CHECK
        }
        throw fail();
      }
      case 'MTBSR': {
        if (blkno >= 0) blkno -= arg;
        const r = await m.spaceBlocksBackward(arg);
        if (r.stop === null) {
          u.drvBlock = blkno;
          u.eof = NOEOF;
          return;
        }
        if (r.stop === 'filemark') {
          u.drvFile--;
          u.drvBlock = -1;
        } else {
          u.drvBlock = 0; // EOM sense at BOT
          if (u.drvBlock >= 0) u.drvBlock = blkno + (arg - r.done);
        }
        u.eof = NOEOF;
        throw fail();
      }
      case 'MTEOM': {
        // no fast MTEOM: st spaces forward 0x7fffff filemarks and stops at the blank check
        const marks = await m.spaceToEod();
        u.drvFile = fileno >= 0 ? fileno + marks : fileno;
        u.drvBlock = -1;
        u.eof = EOD;
        return;
      }
      case 'MTSETBLK': {
        const size = arg & 0xffffff;
        const h = m.header;
        if (size !== 0 && (size < h.minBlock || size > h.maxBlock)) throw this.e('EINVAL', 'ioctl', op);
        u.blockSize = size;
        return;
      }
      default:
        throw this.e('ENOSYS', 'ioctl', op);
    }
  }

  status(): Promise<TapeStatus> {
    return this.serial(async () => {
      this.checkOpen('ioctl', 'MTIOCGET');
      await this.flushBuffer(false);
      const u = this.u;
      let g = 0;
      if (u.drvWriteProt) g |= GMT.WR_PROT;
      if (u.drvBlock === 0) g |= u.drvFile === 0 ? GMT.BOT : GMT.EOF;
      if (u.eof === EOM_OK || u.eof === EOM_ERROR) g |= GMT.EOT;
      else if (u.eof >= EOM_OK) g |= GMT.EOD;
      if (u.ready) g |= GMT.ONLINE;
      else if (!u.loaded) g |= GMT.DR_OPEN;
      g >>>= 0;
      return {
        fileNo: u.drvFile,
        blockNo: u.drvBlock,
        blockSize: u.blockSize,
        density: 0,
        position: u.ready ? this.m.index : null,
        bot: (g & GMT.BOT) !== 0,
        eof: (g & GMT.EOF) >>> 0 !== 0,
        eot: (g & GMT.EOT) !== 0,
        eod: (g & GMT.EOD) !== 0,
        writeProtected: (g & GMT.WR_PROT) !== 0,
        online: (g & GMT.ONLINE) !== 0,
        doorOpen: (g & GMT.DR_OPEN) !== 0,
        gstat: g,
      };
    });
  }

  /** st_flush + st_release: one filemark after writing; a filemark hit in fixed mode is backed over. */
  close(): Promise<void> {
    return this.serial(async () => {
      this.checkOpen('close', 'close');
      this.closed = true;
      const u = this.u;
      try {
        if (u.ready && u.rw === 'writing') {
          const r = await this.m.writeRecords([0], null);
          await this.m.flush();
          if (r.overflow) throw this.e('EIO', 'close', 'close');
          if (u.drvFile >= 0) u.drvFile++;
          u.drvBlock = 0;
          u.eof = FM;
        } else if (u.ready && u.eof === FM_HIT) {
          await this.m.stepBack();
          u.eof = NOEOF;
        }
      } finally {
        u.rw = 'idle';
        u.inUse = false;
        await this.releaseMedium();
      }
    });
  }
}
