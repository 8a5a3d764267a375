/**
 * End of medium on a random-access device, for the conformance suite: a
 * child process whose file size limit (RLIMIT_FSIZE, set by util-linux
 * `prlimit`) is the capacity creates a volume on the device, writes its label
 * and then data blocks 1, 2, … one at a time until a write is refused, and
 * reports that write's error. Node ignores SIGXFSZ, so the kernel's refusal
 * arrives as EFBIG, which the device maps like ENOSPC.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isCairnError } from '../../plugin-api/index.js';
import { createDevice, type DeviceConfig } from '../device/registry.js';
import { CONFORMANCE_BLOCK_SIZE as BS, dataBlock, label0 } from './conformance-blocks.js';

export interface FillResult {
  /** The number of the data block whose write was refused. */
  refusedAt: number;
  code: string;
  errno?: string;
}

export async function fillVolumeUnderSizeLimit(spec: DeviceConfig, volume: string, capacity: number): Promise<FillResult> {
  const self = fileURLToPath(import.meta.url);
  try {
    const { stdout } = await promisify(execFile)('prlimit', [`--fsize=${capacity}`, process.execPath, self, JSON.stringify({ spec, volume })]);
    return JSON.parse(stdout.trim().split('\n').pop()!) as FillResult;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('prlimit (util-linux) is needed to give the child its file size limit, and was not found in PATH');
    throw new Error(`the size-limited writer failed: ${e.stderr || e.message}`);
  }
}

async function child(arg: string): Promise<void> {
  const { spec, volume } = JSON.parse(arg) as { spec: DeviceConfig; volume: string };
  const d = createDevice(spec);
  if (d.access !== 'random') throw new Error('fill-volume: a random-access device only');
  const h = await d.create(volume);
  await h.writev([label0(volume)], 0);
  let n = 1;
  for (; n < 100_000; n++) {
    try {
      await h.writev([dataBlock(n)], n * BS);
    } catch (err) {
      await h.sync();
      await h.close();
      const r: FillResult = { refusedAt: n, code: isCairnError(err) ? err.code : String(err), errno: isCairnError(err) ? String(err.fields.errno) : undefined };
      process.stdout.write(JSON.stringify(r) + '\n');
      return;
    }
  }
  throw new Error('fill-volume: no write was refused');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  child(process.argv[2]).catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
