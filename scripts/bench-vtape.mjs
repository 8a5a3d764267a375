#!/usr/bin/env node
// `npm run bench:vtape`: VtapeDrive write throughput against the file device on
// the same data in the same run, as a ratio (docs/tape.md, "Speed").
//
//   file device: FileDevice volume, positional writev of 16 blocks at a time
//                (the SD's DEVICE_WRITE_BATCH_BLOCKS), one sync at the end
//   vtape:       VtapeDrive, one writeBlock per block (a tape takes one block
//                per write), one filemark at the end (the drive's flush)
//
// Both write the same 256 KiB blocks (the SD's tape block default) to a file in
// the same directory and end durable. Rounds alternate; medians are reported.
//   options: --mib N (default 512), --rounds N (default 3), --block BYTES, --dir DIR
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomFillSync } from 'node:crypto';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const MIB = Number(option('--mib', 512));
const ROUNDS = Number(option('--rounds', 3));
const BLOCK = Number(option('--block', 256 * 1024));
const log = (msg) => console.error(`[bench:vtape] ${msg}`);

const sd = await import(pathToFileURL(join(ROOT, 'dist/sd/index.js')).href).catch(() => {
  console.error('bench:vtape: run `npm run build` first (dist/ is missing)');
  process.exit(2);
});
const { FileDevice } = await import(pathToFileURL(join(ROOT, 'dist/sd/device/file-device.js')).href);

const blocks = Math.floor((MIB * 1024 * 1024) / BLOCK);
// 16 distinct random blocks, reused: the data is incompressible and costs nothing to produce.
const pool = Array.from({ length: 16 }, () => randomFillSync(Buffer.allocUnsafe(BLOCK)));
const base = mkdtempSync(join(option('--dir', tmpdir()), 'cairn-bench-vtape-'));

async function fileDevice(round) {
  const dev = new FileDevice({ type: 'file', dir: join(base, `file-${round}`) });
  const h = await dev.create('Vol-0001');
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < blocks; i += 16) {
    const batch = [];
    for (let j = i; j < Math.min(i + 16, blocks); j++) batch.push(pool[j % 16]);
    await h.writev(batch, i * BLOCK);
  }
  await h.sync();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  await h.close();
  return s;
}

async function vtape(round) {
  const file = join(base, `tape-${round}.vtape`);
  await sd.createVtape(file, { capacity: blocks * (BLOCK + 16) + 1024 * 1024, earlyWarning: 0, maxBlock: Math.max(BLOCK, 1024 * 1024) });
  const d = await sd.VtapeDrive.open(file);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < blocks; i++) await d.writeBlock(pool[i % 16]);
  await d.writeFilemarks(1);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  await d.close();
  return s;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const times = { file: [], vtape: [] };
try {
  log(`${blocks} blocks of ${BLOCK} bytes (${MIB} MiB) per run, ${ROUNDS} rounds, in ${base}`);
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? ['file', 'vtape'] : ['vtape', 'file'];
    for (const kind of order) {
      const s = kind === 'file' ? await fileDevice(r) : await vtape(r);
      times[kind].push(s);
      log(`round ${r + 1} ${kind}: ${s.toFixed(2)} s, ${(MIB / s).toFixed(0)} MiB/s`);
      rmSync(join(base, kind === 'file' ? `file-${r}` : `tape-${r}.vtape`), { recursive: true, force: true });
    }
  }
} finally {
  rmSync(base, { recursive: true, force: true });
}
const f = MIB / median(times.file);
const v = MIB / median(times.vtape);
const result = { mib: MIB, blockSize: BLOCK, rounds: ROUNDS, fileMiBps: Math.round(f), vtapeMiBps: Math.round(v), ratio: Number((v / f).toFixed(2)) };
console.log(JSON.stringify(result));
log(`vtape / file device write throughput: ${result.ratio} (${result.vtapeMiBps} vs ${result.fileMiBps} MiB/s, medians)`);
