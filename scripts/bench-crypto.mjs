#!/usr/bin/env node
// `npm run bench:crypto`: backup throughput with client-side encryption on vs off,
// on the large-file set (8 × 128 MiB, the same bytes as `npm run bench`), local mode.
//
//   plain:      cairn --repo P backup DATA --level full
//   encrypted:  cairn --repo E backup DATA --level full   (E made by `cairn init --encrypt`, cipher per --cipher)
//
// Ratio (docs/encryption.md, "Cost"): encrypted throughput / plain throughput from the
// wall-clock times of the console commands (target ≥ 0.9), rounds alternating (plain
// first, then encrypted), medians. Each round starts from empty repositories.
//   options: --rounds N (default 3), --quick (2 × 32 MiB, to check the script),
//            --cipher aes-256-gcm|chacha20-poly1305 (default aes-256-gcm), --both (both ciphers)
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { datasetSpecs, ensureDataset } from './bench/dataset.mjs';
import { runMeasured } from './bench/measure.mjs';
import { ROOT, BENCH, args, option, median } from './bench/cli.mjs';

const ROUNDS = Number(option('--rounds', 3));
const CIPHERS = args.includes('--both') ? ['aes-256-gcm', 'chacha20-poly1305'] : [option('--cipher', 'aes-256-gcm')];
const log = (msg) => console.error(`[bench:crypto] ${msg}`);
const CLI = join(ROOT, 'bin', 'cairn.js');
const SEED = 20_240_601;

async function cairn(what, argv, env) {
  const m = await runMeasured(process.execPath, [CLI, ...argv], { cwd: ROOT, capture: true, env: { ...process.env, ...env } });
  if (m.code !== 0) throw new Error(`cairn ${what} exited ${m.code}: ${m.stderr.slice(-2000)}${m.stdout.slice(-2000)}`);
  const report = JSON.parse(m.stdout.trim().split('\n').pop());
  if (report.status && report.status !== 'ok') throw new Error(`cairn ${what}: status ${report.status} ${JSON.stringify(report.error)}`);
  return { seconds: m.seconds, rss: m.peakRssKiB, report };
}

const spec = datasetSpecs(SEED, args.includes('--quick')).large;
const data = await ensureDataset(ROOT, BENCH, spec, log);
const run = join(BENCH, 'run', 'crypto');
rmSync(run, { recursive: true, force: true });
mkdirSync(run, { recursive: true });
const env = { XDG_CONFIG_HOME: join(run, 'config') };
const MiB = 1024 * 1024;

const times = { plain: [] };
for (const c of CIPHERS) times[c] = [];
for (let r = 1; r <= ROUNDS; r++) {
  for (const kind of ['plain', ...CIPHERS]) {
    const repo = join(run, `repo-${kind}`);
    rmSync(repo, { recursive: true, force: true });
    rmSync(join(run, 'config'), { recursive: true, force: true });
    if (kind !== 'plain') await cairn('init', ['--repo', repo, 'init', '--encrypt', '--cipher', kind, '--key', join(run, `key-${kind}-${r}`), '--json'], env);
    const b = await cairn(`${kind} backup`, ['--repo', repo, 'backup', data.path, '--level', 'full', '--json'], env);
    if (kind !== 'plain' && !b.report.encryption) throw new Error('the encrypted backup did not report encryption');
    times[kind].push(b.seconds);
    log(`round ${r} ${kind}: ${b.seconds.toFixed(2)} s, ${(data.bytes / MiB / b.seconds).toFixed(0)} MiB/s, peak RSS ${(b.rss / 1024).toFixed(0)} MiB, stored ${(b.report.storedBytes / MiB).toFixed(0)} MiB`);
    rmSync(repo, { recursive: true, force: true });
  }
}

const plain = median(times.plain);
const results = { dataset: { name: spec.name, files: data.files, bytes: data.bytes }, rounds: ROUNDS, plainSeconds: times.plain, ciphers: {} };
console.log(`| backup | seconds (median) | MiB/s | ratio vs plain | rounds |`);
console.log(`|---|---|---|---|---|`);
console.log(`| plain | ${plain.toFixed(2)} | ${(data.bytes / MiB / plain).toFixed(0)} | 1.00× | ${times.plain.map((t) => t.toFixed(2)).join(' ')} |`);
for (const c of CIPHERS) {
  const t = median(times[c]);
  const ratio = plain / t;
  results.ciphers[c] = { seconds: times[c], ratio };
  console.log(`| ${c} | ${t.toFixed(2)} | ${(data.bytes / MiB / t).toFixed(0)} | ${ratio.toFixed(2)}× | ${times[c].map((x) => x.toFixed(2)).join(' ')} |`);
}
writeFileSync(join(BENCH, 'results-crypto.json'), JSON.stringify(results, null, 2) + '\n');
