#!/usr/bin/env node
// `npm run bench:network`: the three-daemon path against local mode, on the
// large-file set (8 × 128 MiB, the same bytes as `npm run bench`).
//
//   1. local mode:  cairn --repo R backup DATA --level full
//   2. network:     cairn-dir, cairn-fd, cairn-sd as separate processes on loopback TCP
//                   (the quickstart config), cairn --config console.yaml run all --level full --wait
//   3. concurrent:  four jobs at once over the same daemons, each backing up a quarter of
//                   DATA (two of the eight files), together the same 1 GiB
//
// Ratios (docs/benchmarks.md, "Three daemons"): network throughput / local throughput
// (target ≥ 0.8), and the four jobs' aggregate throughput / one job's (target ≥ 0.9),
// both from wall-clock times of the console commands, rounds alternating, medians.
//   options: --rounds N (default 3), --quick (2 × 32 MiB, to check the script)
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { datasetSpecs, ensureDataset } from './bench/dataset.mjs';
import { runMeasured } from './bench/measure.mjs';
import { ROOT, BENCH, args, option, median } from './bench/cli.mjs';

const ROUNDS = Number(option('--rounds', 3));
const log = (msg) => console.error(`[bench:network] ${msg}`);
const CLI = join(ROOT, 'bin', 'cairn.js');
const yaml = createRequire(import.meta.url)('yaml');

async function cairn(what, argv) {
  const m = await runMeasured(process.execPath, [CLI, ...argv], { cwd: ROOT, capture: true });
  if (m.code !== 0) throw new Error(`cairn ${what} exited ${m.code}: ${m.stderr.slice(-2000)}${m.stdout.slice(-2000)}`);
  const report = JSON.parse(m.stdout.trim().split('\n').pop());
  if (report.status !== 'ok') throw new Error(`cairn ${what}: status ${report.status} ${JSON.stringify(report.error)}`);
  log(`${what}: ${m.seconds.toFixed(2)} s (job ${report.durationMs} ms, ${report.files} files)`);
  return m.seconds;
}

function portOpen(port) {
  return new Promise((res) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), res(true)));
    s.once('error', () => res(false));
  });
}

async function startDaemons(conf, qs) {
  const children = [];
  for (const kind of ['sd', 'fd', 'dir']) {
    const out = openSync(join(conf, `${kind}.out`), 'a');
    const child = spawn(process.execPath, [join(ROOT, 'bin', `cairn-${kind}.js`), '--config', qs.files[kind], '--foreground'], { cwd: ROOT, stdio: ['ignore', out, out], env: { ...process.env, CAIRN_LOG_LEVEL: 'warn' } });
    children.push(child);
    const deadline = Date.now() + 30_000;
    while (!(await portOpen(qs.ports[kind]))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`cairn-${kind} did not start; see ${conf}/${kind}.out`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return children;
}

async function main() {
  const spec = datasetSpecs(20_240_601, args.includes('--quick')).large;
  const data = await ensureDataset(ROOT, BENCH, spec, log);
  const { writeQuickstart } = await import(pathToFileURL(join(ROOT, 'dist', 'config', 'index.js')).href);
  const run = join(BENCH, 'run', 'network');
  rmSync(run, { recursive: true, force: true });
  mkdirSync(run, { recursive: true });
  const conf = join(run, 'conf');
  const qs = await writeQuickstart(conf, { source: data.path });
  const files = readdirSync(data.path).sort();
  // Four jobs, or as many as there are files (the --quick set has two): no job may back up nothing.
  const jobs = Math.min(4, files.length);
  const quarters = Array.from({ length: jobs }, (_j, q) => files.filter((_f, i) => i % jobs === q).map((f) => join(data.path, f)));
  const dirDoc = yaml.parse(readFileSync(qs.files.dir, 'utf8'));
  dirDoc.filesets.push(...quarters.map((inc, q) => ({ name: `quarter${q}`, include: inc })));
  dirDoc.jobs.push(...quarters.map((_inc, q) => ({ ...dirDoc.jobs[0], name: `quarter${q}`, fileset: `quarter${q}` })));
  dirDoc.clients[0].maxConcurrentJobs = 4;
  writeFileSync(qs.files.dir, yaml.stringify(dirDoc), { mode: 0o600 });
  const daemons = await startDaemons(conf, qs);
  const local = [];
  const network = [];
  const concurrent = [];
  try {
    for (let r = 1; r <= ROUNDS; r++) {
      const repo = join(run, `repo${r}`);
      local.push(await cairn(`round ${r} local backup`, ['--repo', repo, 'backup', data.path, '--level', 'full', '--json']));
      rmSync(repo, { recursive: true, force: true });
      network.push(await cairn(`round ${r} three-daemon backup`, ['--config', qs.files.console, 'run', 'demo', '--level', 'full', '--wait', '--json']));
      const t0 = process.hrtime.bigint();
      await Promise.all(quarters.map((_q, q) => cairn(`round ${r} concurrent job ${q}`, ['--config', qs.files.console, 'run', `quarter${q}`, '--level', 'full', '--wait', '--json'])));
      concurrent.push(Number(process.hrtime.bigint() - t0) / 1e9);
      log(`round ${r} four concurrent jobs: ${concurrent.at(-1).toFixed(2)} s`);
      // Each round starts from an empty catalog and device (the daemons restarted), like the local repo.
      for (const c of daemons) c.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 300));
      rmSync(join(conf, 'volumes'), { recursive: true, force: true });
      mkdirSync(join(conf, 'volumes'));
      rmSync(join(conf, 'dir', 'catalog.db'), { force: true });
      for (const f of ['catalog.db-wal', 'catalog.db-shm']) rmSync(join(conf, 'dir', f), { force: true });
      for (const k of ['dir', 'fd', 'sd']) rmSync(join(conf, k, 'lock'), { force: true });
      daemons.splice(0, daemons.length, ...(await startDaemons(conf, qs)));
    }
  } finally {
    for (const c of daemons) c.kill('SIGKILL');
  }
  const mib = data.bytes / 2 ** 20;
  const result = {
    dataset: { path: data.path, files: data.files, bytes: data.bytes },
    rounds: ROUNDS,
    seconds: { local, network, concurrent },
    medians: { local: median(local), network: median(network), concurrent: median(concurrent) },
    ratios: {
      networkVsLocal: local.map((l, i) => l / network[i]),
      concurrentVsOne: network.map((n, i) => n / concurrent[i]),
    },
  };
  result.medians.networkVsLocal = median(result.ratios.networkVsLocal);
  result.medians.concurrentVsOne = median(result.ratios.concurrentVsOne);
  writeFileSync(join(BENCH, 'results-network.json'), JSON.stringify(result, null, 2) + '\n');
  const rate = (s) => `${(mib / s).toFixed(0)} MiB/s`;
  console.log(`large set, ${mib.toFixed(0)} MiB, ${ROUNDS} rounds (medians):`);
  console.log(`  local mode backup       ${result.medians.local.toFixed(2)} s  ${rate(result.medians.local)}`);
  console.log(`  three-daemon backup     ${result.medians.network.toFixed(2)} s  ${rate(result.medians.network)}  ratio ${result.medians.networkVsLocal.toFixed(2)}x [${result.ratios.networkVsLocal.map((x) => x.toFixed(2)).join(' ')}] (target >= 0.8)`);
  console.log(`  4 concurrent jobs       ${result.medians.concurrent.toFixed(2)} s  ${rate(result.medians.concurrent)}  ratio ${result.medians.concurrentVsOne.toFixed(2)}x [${result.ratios.concurrentVsOne.map((x) => x.toFixed(2)).join(' ')}] (target >= 0.9)`);
}

main().catch((err) => {
  console.error(`bench:network: ${err.stack ?? err}`);
  process.exit(1);
});
