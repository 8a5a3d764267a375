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
//   options: --mib N (default 512), --rounds N (default 3), --block BYTES, --dir DIR,
//            --e2e-mib N (end-to-end backup size, default 256; 0 skips it)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomFillSync } from 'node:crypto';
import { ROOT, args, option, median } from './bench/cli.mjs';

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

// ---- end to end: the same backup to a vtape device and to the file device ----
//
// A local-mode repository per device kind (the whole path: fs agent, records, SD session, blocks, catalog), the
// same tree (--e2e-mib of incompressible files, default 256 MiB), 256 KiB blocks on both; rounds alternate and
// the medians' ratio is reported. The vtape repository uses a vtape file with room for the whole backup.
const E2E_MIB = Number(option('--e2e-mib', 256));
if (E2E_MIB > 0) {
  const director = await import(pathToFileURL(join(ROOT, 'dist/director/index.js')).href);
  const core = await import(pathToFileURL(join(ROOT, 'dist/core/index.js')).href);
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const e2eBase = mkdtempSync(join(option('--dir', tmpdir()), 'cairn-bench-vtape-e2e-'));
  const src = join(e2eBase, 'src');
  mkdirSync(src);
  const fileMiB = 8;
  for (let i = 0; i < Math.ceil(E2E_MIB / fileMiB); i++) {
    const b = Buffer.allocUnsafe(fileMiB * 1024 * 1024);
    for (let o = 0; o < b.length; o += BLOCK) pool[(i + o / BLOCK) % 16].copy(b, o); // incompressible, no two adjacent blocks equal
    writeFileSync(join(src, `f${i}.bin`), b);
  }
  async function e2e(kind, round) {
    const path = join(e2eBase, `${kind}-${round}`);
    director.initRepository(path, kind === 'vtape' ? { blockSize: BLOCK, device: { type: 'vtape', path: 'drive.vtape', capacity: (E2E_MIB + 64) * 1024 * 1024 } } : { blockSize: BLOCK });
    const repo = await director.LocalRepository.open(path);
    const fileset = core.filesetFromObject({ name: 'bench', include: [src] }, 'bench');
    const t0 = process.hrtime.bigint();
    const r = await director.runBackupJob(repo, { fileset, jobName: 'bench', level: 'full' });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    await repo.close();
    if (r.status !== 'ok') throw new Error(`${kind} backup ended ${r.status}: ${JSON.stringify(r.error)}`);
    rmSync(path, { recursive: true, force: true });
    return s;
  }
  const et = { file: [], vtape: [] };
  try {
    log(`end to end: backup of ${E2E_MIB} MiB to a file device and to a vtape device, ${ROUNDS} rounds`);
    for (let r = 0; r < ROUNDS; r++) {
      for (const kind of r % 2 === 0 ? ['file', 'vtape'] : ['vtape', 'file']) {
        const s = await e2e(kind, r);
        et[kind].push(s);
        log(`round ${r + 1} ${kind} backup: ${s.toFixed(2)} s, ${(E2E_MIB / s).toFixed(0)} MiB/s`);
      }
    }
  } finally {
    rmSync(e2eBase, { recursive: true, force: true });
  }
  const ef = E2E_MIB / median(et.file);
  const ev = E2E_MIB / median(et.vtape);
  const e2eResult = { e2eMiB: E2E_MIB, fileBackupMiBps: Math.round(ef), vtapeBackupMiBps: Math.round(ev), e2eRatio: Number((ev / ef).toFixed(2)) };
  console.log(JSON.stringify(e2eResult));
  log(`end to end, backup to vtape / to file device: ${e2eResult.e2eRatio} (${e2eResult.vtapeBackupMiBps} vs ${e2eResult.fileBackupMiBps} MiB/s, medians)`);
}
