#!/usr/bin/env node
// `npm run bench:tools [-- DIST] [--files N]`: what the volume tools and the bootstrap file cost,
// as ratios to the backup they serve (docs/volume-tools.md, "Cost"). Runs on a build (DIST, default ./dist).
//   1. `cairn backup` of N small files (default 20,000) into a fresh local repository: wall clock B
//      (the console as a child process, as a user runs it; bootstrap file included).
//   2. writeJobBootstrap() for that job alone (the step each backup now ends with): T_bsr
//   3. `cairn-bscan --repo` on the repository after deleting its catalog: T_bscan
//   4. `cairn verify latest --level volume` and `--level data`: T_vol, T_data
// Printed: each time and its ratio to B. Single run; the machine's other load shows in every figure alike.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const positional = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
const DIST = resolve(positional[0] ?? new URL('../dist', import.meta.url).pathname);
const ROOT = resolve(DIST, '..');
const N = Number(option('--files', 20_000));
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
  for (const f of readdirSync(repo)) if (f.startsWith('catalog.db')) unlinkSync(join(repo, f));
  const [bscanMs] = time(() => cli('cairn-bscan.js', ['--repo', repo, '--json']));
  const row = (what, ms) => console.log(`${what.padEnd(34)} ${ms.toFixed(0).padStart(7)} ms  ${(ms / backupMs).toFixed(3)}× the backup`);
  console.log(`${N} files, ${report.bytes} bytes`);
  row('backup (console, wall)', backupMs);
  row('bootstrap file of the job', bsrMs);
  row('verify --level volume', volMs);
  row('verify --level data', dataMs);
  row('cairn-bscan --repo', bscanMs);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
