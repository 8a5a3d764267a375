#!/usr/bin/env node
// `npm run bench:isolation`: the fs agent in a child process of its own
// (process isolation) against the fs agent in the FD's process, on the
// large-file set of `npm run bench` (8 × 128 MiB, same seed, .bench/data).
//
//   npm run bench:isolation                 3 rounds of backup and restore, each mode
//   npm run bench:isolation -- --quick      2 × 32 MiB, to check the script itself
//   options: --rounds N, --cli PATH (default bin/cairn.js), --no-restore, --keep
//
// Each round runs both modes back to back, in alternating order (the VM's
// speed drifts), each a fresh repository: `cairn backup DATA --json` with
// CAIRN_AGENT_ISOLATION=inprocess or =process, then a restore of it. The
// ratio is process throughput / in-process throughput (in-process seconds /
// process seconds) per round; the result is the median of the rounds'
// ratios. Target: backup ≥ 0.8. With GNU time the CPU seconds (user + sys,
// the FD and its agent processes together) are reported too: on a shared
// machine whose load swings, the CPU ratio (in-process CPU / process CPU) is
// the steadier measure of what isolation costs. Results in
// .bench/results-isolation.json; method in docs/benchmarks.md.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { datasetSpecs, ensureDataset } from './bench/dataset.mjs';
import { haveGnuTime, runMeasured, runShell, shq } from './bench/measure.mjs';
import { ROOT, BENCH, args, flag, option, median } from './bench/cli.mjs';

/** The seed of scripts/bench.mjs: the same bytes. */
const SEED = 20_240_601;
const TARGET = 0.8;
const CLI = resolve(ROOT, option('--cli', 'bin/cairn.js'));
const rounds = Number(option('--rounds', '3'));
const log = (m) => console.error(`[bench:isolation] ${m}`);
const MODES = ['inprocess', 'process'];

if (!existsSync(join(ROOT, 'dist', 'core', 'agent-child.js'))) {
  console.error('bench:isolation: dist/ is missing or old; run `npm run build` first');
  process.exit(2);
}

/** Like runMeasured, plus CPU seconds (user + sys of the process and its children) from GNU time. */
function runTimed(cmd, argv, env) {
  if (!haveGnuTime()) return runMeasured(cmd, argv, { cwd: ROOT, capture: true, env }).then((m) => ({ ...m, cpuSeconds: null }));
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-iso-'));
  const tf = join(dir, 'time');
  return new Promise((resolvePromise, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '%U %S %M', '-o', tf, cmd, ...argv], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr = (stderr + b).slice(-65536)));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const [user, sys, rss] = readFileSync(tf, 'utf8').trim().split('\n').pop().split(' ').map(Number);
      rmSync(dir, { recursive: true, force: true });
      resolvePromise({ code, signal, seconds, cpuSeconds: user + sys, peakRssKiB: rss, stdout, stderr });
    });
  });
}

async function cairn(what, mode, cliArgs) {
  const m = await runTimed(process.execPath, [CLI, ...cliArgs], { ...process.env, CAIRN_AGENT_ISOLATION: mode });
  if (m.code !== 0) throw new Error(`${what} (${mode}) exited ${m.code}: ${m.stderr.slice(-2000)} ${m.stdout.slice(-2000)}`);
  const report = JSON.parse(m.stdout.trim().split('\n').pop());
  if (report.status !== 'ok') throw new Error(`${what} (${mode}) ended ${report.status}: ${JSON.stringify(report.error ?? report.problems)}`);
  log(`${what} ${mode}: ${m.seconds.toFixed(2)} s${m.cpuSeconds !== null ? ` (CPU ${m.cpuSeconds.toFixed(2)} s)` : ''}, peak RSS ${(m.peakRssKiB / 1024).toFixed(0)} MiB`);
  return { seconds: m.seconds, cpuSeconds: m.cpuSeconds, peakRssMiB: Math.round(m.peakRssKiB / 1024), report };
}


async function main() {
  const spec = datasetSpecs(SEED, flag('--quick')).large;
  const data = await ensureDataset(ROOT, BENCH, spec, log);
  const run = join(BENCH, 'run', 'isolation');
  await runShell(`cat ${shq(data.path)}/* > /dev/null`, { cwd: ROOT });
  const perRound = [];
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 ? MODES : [...MODES].reverse();
    const r = {};
    for (const mode of order) {
      const repo = join(run, `repo-${mode}`);
      const out = join(run, `out-${mode}`);
      rmSync(repo, { recursive: true, force: true });
      rmSync(out, { recursive: true, force: true });
      mkdirSync(run, { recursive: true });
      try {
        execFileSync('sync');
      } catch {
        // no sync(1): a little less isolation between runs
      }
      const backup = await cairn(`round ${round} backup`, mode, ['--repo', repo, 'backup', data.path, '--json']);
      if (backup.report.bytes !== data.bytes) throw new Error(`backup (${mode}) read ${backup.report.bytes} bytes, the dataset has ${data.bytes}`);
      const restore = flag('--no-restore') ? null : await cairn(`round ${round} restore`, mode, ['--repo', repo, 'restore', 'latest', '--to', out, '--json']);
      r[mode] = { backup: backup.seconds, restore: restore?.seconds ?? null, backupCpu: backup.cpuSeconds, restoreCpu: restore?.cpuSeconds ?? null, backupRssMiB: backup.peakRssMiB, restoreRssMiB: restore?.peakRssMiB ?? null };
      if (!flag('--keep')) {
        rmSync(out, { recursive: true, force: true });
        rmSync(repo, { recursive: true, force: true });
      }
    }
    r.backupRatio = r.inprocess.backup / r.process.backup;
    r.restoreRatio = r.process.restore ? r.inprocess.restore / r.process.restore : null;
    r.backupCpuRatio = r.process.backupCpu ? r.inprocess.backupCpu / r.process.backupCpu : null;
    r.restoreCpuRatio = r.process.restoreCpu ? r.inprocess.restoreCpu / r.process.restoreCpu : null;
    log(`round ${round}: backup ratio ${r.backupRatio.toFixed(2)}${r.restoreRatio ? `, restore ratio ${r.restoreRatio.toFixed(2)}` : ''}`);
    perRound.push(r);
  }
  const MiB = 2 ** 20;
  const summary = {};
  for (const op of ['backup', 'restore']) {
    if (op === 'restore' && flag('--no-restore')) continue;
    summary[op] = {
      inprocessSeconds: median(perRound.map((r) => r.inprocess[op])),
      processSeconds: median(perRound.map((r) => r.process[op])),
      ratio: median(perRound.map((r) => r[`${op}Ratio`])),
      ratios: perRound.map((r) => Number(r[`${op}Ratio`].toFixed(3))),
      cpuRatio: perRound[0][`${op}CpuRatio`] === null ? null : median(perRound.map((r) => r[`${op}CpuRatio`])),
      cpuRatios: perRound.map((r) => (r[`${op}CpuRatio`] === null ? null : Number(r[`${op}CpuRatio`].toFixed(3)))),
    };
  }
  const results = { kind: 'isolation', dataset: { name: spec.name, files: data.files, bytes: data.bytes }, rounds, target: TARGET, summary, perRound, node: process.version, date: new Date().toISOString() };
  mkdirSync(BENCH, { recursive: true });
  writeFileSync(join(BENCH, 'results-isolation.json'), JSON.stringify(results, null, 2) + '\n');
  console.log(`fs agent, ${data.files} files, ${(data.bytes / MiB).toFixed(0)} MiB, median of ${rounds} round(s)`);
  console.log('operation  in-process        child process     process/in-process (wall)   (CPU)');
  for (const [op, s] of Object.entries(summary)) {
    const rate = (sec) => `${sec.toFixed(2)} s ${(data.bytes / MiB / sec).toFixed(0).padStart(4)} MiB/s`;
    const cpu = s.cpuRatio === null ? '' : `   ${s.cpuRatio.toFixed(2)} [${s.cpuRatios.join(', ')}]`;
    console.log(`${op.padEnd(10)} ${rate(s.inprocessSeconds)}  ${rate(s.processSeconds)}  ${s.ratio.toFixed(2)} [${s.ratios.join(', ')}]${cpu}`);
  }
  const pass = summary.backup.ratio >= TARGET;
  console.log(`backup ratio ${summary.backup.ratio.toFixed(2)}, target ≥ ${TARGET}: ${pass ? 'PASS' : 'FAIL'}`);
  console.log(`results: ${join(BENCH, 'results-isolation.json')}`);
  if (!flag('--keep')) rmSync(run, { recursive: true, force: true });
  if (!pass) process.exitCode = 1;
}

main().catch((err) => {
  console.error(`bench:isolation: ${err.message}`);
  process.exit(1);
});
