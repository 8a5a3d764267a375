#!/usr/bin/env node
// `npm run bench:tools [-- DIST] [--files N] [--encrypt]`: what the volume tools and the bootstrap file cost,
// as ratios to the backup they serve (docs/volume-tools.md, "Cost"). Runs on a build (DIST, default ./dist).
//   1. `cairn backup` of N small files (default 20,000) into a fresh local repository: wall clock B
//      (the console as a child process, as a user runs it; bootstrap file included).
//   2. writeJobBootstrap() for that job alone (the step each backup now ends with): T_bsr
//   3. `cairn-bscan --repo` on the repository after deleting its catalog: T_bscan
//   4. `cairn verify latest --level volume` and `--level data`: T_vol, T_data
// Printed: each time and its ratio to B. Single run; the machine's other load shows in every figure alike.
// --encrypt: the repository is encrypted (`cairn init --encrypt`); then also 5. the SD's verifySession of the
// job in this process, without and with the keyless check against the signed manifest (every record hashed
// and matched), rounds alternating, medians: the check's cost as a ratio to the plain structural walk.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { args, option, positional, median } from './bench/cli.mjs';

const DIST = resolve(positional[0] ?? new URL('../dist', import.meta.url).pathname);
const ROOT = resolve(DIST, '..');
const N = Number(option('--files', 20_000));
const ENCRYPT = args.includes('--encrypt');
const load = (p) => import(pathToFileURL(join(DIST, p)).href);
const { Catalog } = await load('director/catalog/index.js');
const { writeJobBootstrap } = await load('director/jobs/bootstrap-file.js');

const tmp = mkdtempSync(join(tmpdir(), 'cairn-bench-tools-'));
try {
  const src = join(tmp, 'src');
  for (let i = 0; i < N; i++) {
    const d = join(src, String(Math.floor(i / 500)).padStart(3, '0'));
    if (i % 500 === 0) mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `f${i}.txt`), `file ${i} `.repeat(1 + (i % 200)));
  }
  const repo = join(tmp, 'R');
  if (ENCRYPT) execFileSync(process.execPath, [join(ROOT, 'bin', 'cairn.js'), '--repo', repo, 'init', '--encrypt', '--key', join(tmp, 'keys', 'bench.key'), '--json']);
  const time = (fn) => {
    const t = process.hrtime.bigint();
    const r = fn();
    return [Number(process.hrtime.bigint() - t) / 1e6, r];
  };
  const cli = (bin, a) => execFileSync(process.execPath, [join(ROOT, 'bin', bin), ...a], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const [backupMs, out] = time(() => cli('cairn.js', ['--repo', repo, 'backup', src, '--level', 'full', '--json']));
  const report = JSON.parse(out.trim().split('\n').pop());
  const catalog = await Catalog.open(join(repo, 'catalog.db'));
  const job = await catalog.getJob(report.jobId);
  const t0 = process.hrtime.bigint();
  await writeJobBootstrap(catalog, job, join(tmp, 'bsr'));
  const bsrMs = Number(process.hrtime.bigint() - t0) / 1e6;
  await catalog.close();
  const [volMs] = time(() => cli('cairn.js', ['--repo', repo, 'verify', 'latest', '--level', 'volume', '--json']));
  const [dataMs] = time(() => cli('cairn.js', ['--repo', repo, 'verify', 'latest', '--level', 'data', '--json']));
  let walk = null;
  if (ENCRYPT) {
    const { verifySession, createDevice } = await load('sd/index.js');
    const { bootstrapFor } = await load('director/jobs/selection.js');
    const { manifestAnchor } = await load('director/jobs/verify-volume-job.js');
    const cat = await Catalog.open(join(repo, 'catalog.db'));
    const entries = bootstrapFor(await cat.jobMedia(report.jobId)).entries;
    const manifest = await manifestAnchor({ catalog: cat }, report.jobId);
    await cat.close();
    const device = createDevice({ type: 'file', dir: join(repo, 'volumes') });
    const plain = [];
    const checked = [];
    for (let round = 0; round < 5; round++) {
      let t = process.hrtime.bigint();
      const a = await verifySession(device, { entries, jobId: report.jobId });
      plain.push(Number(process.hrtime.bigint() - t) / 1e6);
      t = process.hrtime.bigint();
      const b = await verifySession(device, { entries, jobId: report.jobId, manifest });
      checked.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (a.problems.length || b.problems.length || !b.manifest?.verified) throw new Error(`verify session found problems: ${JSON.stringify([a.problems, b.problems]).slice(0, 500)}`);
    }
    walk = { plain: median(plain), checked: median(checked), records: (await verifySession(device, { entries, jobId: report.jobId, manifest })).manifest.listed };
  }
  for (const f of readdirSync(repo)) if (f.startsWith('catalog.db')) unlinkSync(join(repo, f));
  const [bscanMs] = time(() => cli('cairn-bscan.js', ['--repo', repo, '--json']));
  const row = (what, ms) => console.log(`${what.padEnd(34)} ${ms.toFixed(0).padStart(7)} ms  ${(ms / backupMs).toFixed(3)}× the backup`);
  console.log(`${N} files, ${report.bytes} bytes`);
  row('backup (console, wall)', backupMs);
  row('bootstrap file of the job', bsrMs);
  row('verify --level volume', volMs);
  row('verify --level data', dataMs);
  row('cairn-bscan --repo', bscanMs);
  if (walk) {
    console.log(`verifySession, ${walk.records} records: structure only ${walk.plain.toFixed(0)} ms, with the manifest check ${walk.checked.toFixed(0)} ms: ${(walk.checked / walk.plain).toFixed(2)}× (medians of 5, alternating)`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
