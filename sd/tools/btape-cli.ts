/**
 * cairn-btape: the command line of btape.ts.
 *
 *   cairn-btape DEVICE [--fill] [--json] [--overwrite] [--max-block N]
 *   cairn-btape --vtape FILE [--create BYTES] [--fill] [--json] [--overwrite]
 *
 * DEVICE is a no-rewind st device (/dev/nst0); --vtape tests a vtape file
 * (created blank with --create CAPACITY). The tape is overwritten from BOT:
 * a tape that holds data is refused unless --overwrite. Exit status 0 when
 * every check passed, 1 when one failed, 2 for usage errors, a refused tape
 * or a drive that cannot be opened.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isCairnError } from '../../plugin-api/index.js';
import { NativeTapeDrive } from '../device/native-tape-drive.js';
import type { TapeDrive } from '../device/tape-drive.js';
import { VtapeDrive, createVtape } from '../device/vtape-drive.js';
import { runBtape, type BtapeReport } from './btape.js';

const USAGE = `usage: cairn-btape DEVICE [--fill] [--json] [--overwrite] [--max-block BYTES]
       cairn-btape --vtape FILE [--create CAPACITY_BYTES] [--fill] [--json] [--overwrite]
Tests a tape drive (DESTRUCTIVE: writes from the beginning of the tape) and prints
what works and what the SD configuration should say.`;

interface Io {
  out(s: string): void;
  err(s: string): void;
}

const stdio: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

/** True when the tape holds anything at BOT (a block or a filemark). */
async function holdsData(d: TapeDrive): Promise<boolean> {
  await d.rewind();
  try {
    await d.readBlock(Buffer.alloc(65536)); // within every drive's block limits; a longer block is BLOCK_SIZE (ENOMEM)
    return true; // a block or a filemark (0 bytes)
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'CAIRN_E_TAPE_BLOCK_SIZE') return true;
    return false; // blank: END_OF_DATA or st's EIO at a blank BOT
  } finally {
    await d.rewind();
  }
}

function render(r: BtapeReport): string {
  const lines = [
    '',
    `cairn-btape ${r.kind === 'vtape' ? 'vtape' : 'drive'} ${r.device}: ${r.ok ? 'all checks passed' : 'SOME CHECKS FAILED'}`,
    `  largest variable block: ${r.maxBlockSize} bytes; fixed-block mode: ${r.fixedBlockMode ? 'works' : 'failed'}`,
  ];
  if (r.fill !== undefined) {
    lines.push(`  capacity: ${r.fill.bytesWritten} bytes in ${r.fill.blockSize}-byte blocks (early warning after ${r.fill.blocksBeforeEarlyWarning} blocks, ${r.fill.blocksAfterEarlyWarning} more let through, ended by ${r.fill.endedBy} end of medium)`);
  }
  if (r.recommended.blockSize > 0) {
    lines.push(
      '',
      'suggested SD device settings (tape):',
      `  device: ${r.device}`,
      `  blockSize: ${r.recommended.blockSize}      # bytes per tape block`,
      `  variableBlocks: ${String(r.recommended.variableBlocks)}  # st variable-block mode (MTSETBLK 0): each block keeps its size`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export async function main(argv: string[] = process.argv.slice(2), io: Io = stdio): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        vtape: { type: 'string' },
        create: { type: 'string' },
        fill: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        overwrite: { type: 'boolean', default: false },
        'max-block': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    io.err(`cairn-btape: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const v = args.values;
  if (v.help === true) {
    io.out(`${USAGE}\n`);
    return 0;
  }
  const vtape = v.vtape;
  if ((vtape === undefined) === (args.positionals.length !== 1) || (vtape !== undefined && args.positionals.length > 0)) {
    io.err(`cairn-btape: give exactly one DEVICE or --vtape FILE\n${USAGE}\n`);
    return 2;
  }
  const maxProbe = v['max-block'] === undefined ? undefined : Number(v['max-block']);
  if (maxProbe !== undefined && !(Number.isInteger(maxProbe) && maxProbe >= 65536)) {
    io.err('cairn-btape: --max-block must be an integer of at least 65536\n');
    return 2;
  }
  const log = v.json === true ? () => undefined : (line: string) => io.out(`${line}\n`);
  let drive: TapeDrive;
  try {
    if (vtape !== undefined) {
      if (v.create !== undefined && !existsSync(vtape)) await createVtape(vtape, { capacity: Number(v.create) });
      drive = await VtapeDrive.open(vtape);
    } else {
      drive = await NativeTapeDrive.open(args.positionals[0]);
    }
  } catch (err) {
    io.err(`cairn-btape: ${isCairnError(err) ? `${err.message} [${err.code}]` : String(err)}\n`);
    return 2;
  }
  try {
    if (v.overwrite !== true && (await holdsData(drive))) {
      io.err(`cairn-btape: the tape in ${drive.device} holds data; btape overwrites it from the beginning. Use a scratch tape, or --overwrite.\n`);
      return 2;
    }
    const report = await runBtape(drive, { fill: v.fill === true, maxProbe, log });
    io.out(v.json === true ? `${JSON.stringify(report)}\n` : render(report));
    return report.ok ? 0 : 1;
  } finally {
    await drive.close().catch(() => undefined);
  }
}
