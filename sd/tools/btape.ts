/**
 * btape: tests a tape drive the way the SD will use it and says what the SD
 * configuration should be — write/read back patterns across filemarks,
 * positioning (fsf/bsf/fsr/bsr/eom and append), the largest variable block
 * the drive takes, fixed-block mode, and with `fill` the end-of-medium
 * behaviour (early warning, the writes st still lets through, hard end, and
 * that every block written reads back). DESTRUCTIVE: it writes from BOT.
 * The command line is btape-cli.ts (bin/cairn-btape.js).
 */
import { createHash } from 'node:crypto';
import { endOfMediumPhase, isTapeEndOfData, type TapeDrive } from '../device/tape-drive.js';

export interface BtapeOptions {
  /** Also write until hard end of medium and read it all back (slow on a real tape). */
  readonly fill?: boolean;
  /** Largest block size to probe (default 8 MiB). */
  readonly maxProbe?: number;
  /** Block size for fill (default: the recommended one). */
  readonly fillBlockSize?: number;
  /** Progress lines (human output). */
  readonly log?: (line: string) => void;
}

export interface BtapeCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface BtapeFill {
  readonly blockSize: number;
  readonly blocksBeforeEarlyWarning: number;
  /** Blocks st let through after its first early-warning refusal (st alternates refuse/allow). */
  readonly blocksAfterEarlyWarning: number;
  readonly bytesWritten: number;
  readonly endedBy: 'hard' | 'limit';
  readonly blocksReadBack: number;
}

export interface BtapeReport {
  readonly device: string;
  readonly kind: 'tape' | 'vtape';
  readonly checks: BtapeCheck[];
  readonly ok: boolean;
  /** Largest variable block written and read back (0 if none). */
  readonly maxBlockSize: number;
  readonly fixedBlockMode: boolean;
  readonly recommended: { readonly blockSize: number; readonly variableBlocks: boolean };
  readonly fill?: BtapeFill;
}

/** The SD's default tape block (issue 5: 256 KiB), used when the drive takes it. */
export const RECOMMENDED_BLOCK = 256 * 1024;

function pattern(seed: number, len: number): Buffer {
  // Cheap, seed-dependent, not all-zero: a counter hashed per 32 bytes.
  const out = Buffer.alloc(len);
  for (let off = 0, i = 0; off < len; off += 32, i++) {
    createHash('sha256').update(`${seed}:${i}`).digest().copy(out, off);
  }
  return out;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

function codeOf(err: unknown): string {
  return String((err as { code?: unknown }).code ?? err);
}

export async function runBtape(d: TapeDrive, options: BtapeOptions = {}): Promise<BtapeReport> {
  const log = options.log ?? (() => undefined);
  const checks: BtapeCheck[] = [];
  const check = async (name: string, fn: () => Promise<string>): Promise<boolean> => {
    let c: BtapeCheck;
    try {
      c = { name, ok: true, detail: await fn() };
    } catch (err) {
      c = { name, ok: false, detail: `${codeOf(err)}: ${(err as Error).message ?? String(err)}` };
    }
    checks.push(c);
    log(`${c.ok ? 'OK  ' : 'FAIL'} ${name}: ${c.detail}`);
    return c.ok;
  };
  const readInto = async (size: number): Promise<Buffer> => {
    const buf = Buffer.alloc(size);
    const n = await d.readBlock(buf);
    return buf.subarray(0, n);
  };
  const expectBlock = async (seed: number, len: number, bufSize = Math.max(len, 65536)): Promise<void> => {
    const got = await readInto(bufSize);
    if (got.length !== len) throw new Error(`read ${got.length} bytes where a ${len}-byte block was written (seed ${seed})`);
    if (!same(got, pattern(seed, len))) throw new Error(`block ${seed} (${len} bytes) reads back different`);
  };
  const expectFilemark = async (): Promise<void> => {
    const got = await readInto(65536);
    if (got.length !== 0) throw new Error(`read ${got.length} bytes where a filemark was written`);
  };

  await check('drive status', async () => {
    const s = await d.status();
    if (!s.online) throw new Error('the drive is not online (no tape loaded?)');
    if (s.writeProtected || d.readOnly) throw new Error('the tape is write-protected or the drive was opened read-only; btape needs a scratch tape it can overwrite');
    return `online, file ${s.fileNo} block ${s.blockNo}, ${s.blockSize === 0 ? 'variable-block mode' : `fixed ${s.blockSize}-byte blocks`}, MTIOCPOS ${s.position === null ? 'not supported' : 'supported'}`;
  });
  if (!checks[0].ok) return finish(d, checks, 0, false);
  await d.setBlockSize(0);

  const files = [
    [1, 512, 1000, 65536, 4097, 262144, 65536, 65536],
    [9, 65536, 7],
    [100000],
  ];
  let seed = 0;
  const seeds = files.map((sizes) => sizes.map(() => ++seed));
  const wrote = await check('write blocks of various sizes in 3 files (each ended by a filemark)', async () => {
    await d.rewind();
    for (const [f, sizes] of files.entries()) {
      for (const [i, len] of sizes.entries()) await d.writeBlock(pattern(seeds[f][i], len));
      await d.writeFilemarks(1);
    }
    const s = await d.status();
    if (s.fileNo !== 3 || s.blockNo !== 0) throw new Error(`status says file ${s.fileNo} block ${s.blockNo} after 3 filemarks`);
    return `${files.flat().length} blocks, 3 filemarks; status file 3 block 0`;
  });
  if (wrote) {
    await check('read back: sizes kept, bytes equal, 0 at each filemark, end of data', async () => {
      await d.rewind();
      for (const [f, sizes] of files.entries()) {
        for (const [i, len] of sizes.entries()) await expectBlock(seeds[f][i], len, 262144 + 4096);
        await expectFilemark();
      }
      const second = await readInto(65536);
      if (second.length !== 0) throw new Error('data after the last filemark');
      try {
        await readInto(65536);
      } catch (err) {
        if (isTapeEndOfData(err)) return 'all blocks byte-exact; two 0-byte reads then end of data';
        throw err;
      }
      throw new Error('no end of data reported after the last filemark');
    });
    await check('positioning: fsf, bsf, fsr, bsr', async () => {
      await d.rewind();
      await d.fsf(2);
      await expectBlock(seeds[2][0], files[2][0], 262144);
      await d.bsf(2); // before the filemark ending file 0
      await d.fsf(1);
      await expectBlock(seeds[1][0], files[1][0]);
      await d.fsr(1);
      await expectBlock(seeds[1][2], files[1][2]);
      await d.bsr(2);
      await expectBlock(seeds[1][1], files[1][1]);
      const s = await d.status();
      return `ok (now file ${s.fileNo} block ${s.blockNo}${s.position === null ? '' : `, logical block ${s.position}`})`;
    });
    await check('eom then append a file; read it back', async () => {
      await d.rewind();
      await d.eom();
      const s = await d.status();
      if (s.fileNo !== 3) throw new Error(`eom reports file ${s.fileNo}, expected 3`);
      await d.writeBlock(pattern(777, 4096));
      await d.writeFilemarks(1);
      await d.rewind();
      await d.fsf(3);
      await expectBlock(777, 4096);
      await expectFilemark();
      return 'appended at end of data (file 3) and read back';
    });
  }

  const maxProbe = options.maxProbe ?? 8 * 1024 * 1024;
  let maxBlock = 0;
  await check('largest variable block (write, then read back)', async () => {
    const reasons: string[] = [];
    for (let size = 65536; size <= maxProbe; size *= 2) {
      try {
        await d.rewind();
        await d.writeBlock(pattern(size, size));
        await d.writeFilemarks(1);
        await d.rewind();
        await expectBlock(size, size, size);
        maxBlock = size;
      } catch (err) {
        reasons.push(`${size} bytes: ${codeOf(err)}`);
        break;
      }
    }
    if (maxBlock === 0) throw new Error(`not even a 64 KiB block: ${reasons.join('; ')}`);
    return `${maxBlock} bytes${reasons.length > 0 ? ` (refused ${reasons[0]})` : ` (probe limit ${maxProbe})`}`;
  });

  let fixed = false;
  await check('fixed-block mode (MTSETBLK)', async () => {
    const size = Math.min(65536, maxBlock || 512);
    try {
      await d.setBlockSize(size);
      await d.rewind();
      await d.writeBlock(pattern(55, size * 4));
      await d.writeFilemarks(1);
      await d.rewind();
      const got = await readInto(size * 4);
      if (!same(got, pattern(55, size * 4))) throw new Error('fixed blocks read back different');
      fixed = true;
      return `${size}-byte blocks written 4 at a time and read back`;
    } finally {
      await d.setBlockSize(0);
    }
  });

  const recommendedBlock = maxBlock >= RECOMMENDED_BLOCK ? RECOMMENDED_BLOCK : maxBlock;
  let fill: BtapeFill | undefined;
  if (options.fill === true && recommendedBlock > 0) {
    const bs = options.fillBlockSize ?? recommendedBlock;
    await check('fill: early warning, writes after it, hard end of medium, everything written reads back', async () => {
      fill = await fillTape(d, bs, log);
      if (fill.blocksReadBack !== fill.bytesWritten / bs) throw new Error(`${fill.blocksReadBack} blocks read back of ${fill.bytesWritten / bs} written`);
      return `${fill.bytesWritten} bytes in ${bs}-byte blocks; early warning after ${fill.blocksBeforeEarlyWarning} blocks, ${fill.blocksAfterEarlyWarning} more let through, ended by ${fill.endedBy} end of medium; all read back`;
    });
  }
  return finish(d, checks, maxBlock, fixed, fill);
}

async function fillTape(d: TapeDrive, bs: number, log: (line: string) => void): Promise<BtapeFill> {
  await d.rewind();
  const block = pattern(4242, bs);
  let before = 0;
  let after = 0;
  let ew = false;
  let endedBy: 'hard' | 'limit' = 'limit';
  for (;;) {
    block.writeUInt32LE(before + after, 0); // number the blocks written so the read-back proves order and that none is lost
    try {
      await d.writeBlock(block);
      if (ew) after++;
      else before++;
      if ((before + after) % 4096 === 0) log(`     fill: ${before + after} blocks written`);
    } catch (err) {
      const phase = endOfMediumPhase(err);
      if (phase === undefined) throw err;
      if (phase === 'hard') {
        endedBy = 'hard';
        break;
      }
      ew = true;
      if (after > 10000) break; // a drive that never reaches hard end: stop (limit)
    }
  }
  await d.writeFilemarks(1);
  await d.rewind();
  const buf = Buffer.alloc(bs);
  let readBack = 0;
  for (;;) {
    const n = await d.readBlock(buf);
    if (n === 0) break;
    if (n !== bs || buf.readUInt32LE(0) !== readBack || !same(buf.subarray(4), block.subarray(4))) throw new Error(`block ${readBack} reads back wrong`);
    readBack++;
  }
  return { blockSize: bs, blocksBeforeEarlyWarning: before, blocksAfterEarlyWarning: after, bytesWritten: (before + after) * bs, endedBy, blocksReadBack: readBack };
}

async function finish(d: TapeDrive, checks: BtapeCheck[], maxBlockSize: number, fixedBlockMode: boolean, fill?: BtapeFill): Promise<BtapeReport> {
  const recommended = { blockSize: maxBlockSize >= RECOMMENDED_BLOCK ? RECOMMENDED_BLOCK : maxBlockSize, variableBlocks: true };
  return { device: d.device, kind: d.kind, checks, ok: checks.every((c) => c.ok), maxBlockSize, fixedBlockMode, recommended, ...(fill === undefined ? {} : { fill }) };
}
