/**
 * Measures the fs agent alone (no host, no hashing): one Full backup of a
 * tree driven like the host drives it (prepareBackup → nextFile/readData →
 * endBackup) in each I/O mode — native batched calls (`batch`), synchronous
 * node:fs (`syncIo`) and asynchronous node:fs (`async`) — printing wall time
 * and main-thread busy time (event-loop utilization) per run. Not a test and
 * not part of the agent; it imports the native addon for the batch mode.
 *
 *   node dist/plugins/fs/bench-agent.js [tree] [--runs N] [--modes batch,syncIo,async]
 *
 * Default tree: .bench/data/small (100,000 files of 1–16 KiB in 1,000
 * directories, made by test/support's generateSmallFiles); it is only read.
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import type { PlatformFileServices } from '../../plugin-api/index.js';
// eslint-disable-next-line no-restricted-imports -- a measurement script beside the agent, not the agent: it needs the host's native platform services
import { platformFileServices } from '../../native/index.js';
import { createAgent } from './index.js';
import { ioModes, testContext, type IoMode } from './test-fixture.js';

interface Run {
  mode: string;
  files: number;
  bytes: number;
  warnings: number;
  wallMs: number;
  busyMs: number;
  mainCpuMs: number;
  cpuMs: number;
}

/**
 * CPU time (user + system, ms) of the main thread alone, from
 * /proc/self/task/<pid>/stat (10 ms resolution); NaN off Linux. Unlike
 * event-loop busy time it does not count time the thread was runnable but
 * descheduled (pool threads and other processes compete for the cores).
 */
function mainThreadCpuMs(): number {
  try {
    const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

async function backupOnce(root: string, mode: IoMode): Promise<Run> {
  const { ctx, messages } = testContext(mode.platform as PlatformFileServices);
  const agent = createAgent(ctx);
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuMs();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  await agent.prepareBackup({ jobId: 1, jobName: 'bench', level: 'full', state: null, options: mode.options, include: [root], exclude: [] });
  let files = 0;
  let bytes = 0;
  for (let e = await agent.nextFile(); e !== null; e = await agent.nextFile()) {
    files++;
    for (const s of e.streams) for await (const c of agent.readData(e, s)) bytes += c instanceof Uint8Array ? c.length : c.data.length;
  }
  await agent.endBackup();
  const wallMs = performance.now() - t0;
  const elu = performance.eventLoopUtilization(elu0);
  const cpu = process.cpuUsage(cpu0);
  const mainCpuMs = mainThreadCpuMs() - main0;
  return { mode: mode.name, files, bytes, warnings: messages.length, wallMs, busyMs: elu.active, mainCpuMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args.splice(i, 2)[1] : undefined;
  };
  const runs = Number(opt('--runs') ?? 3);
  const wanted = (opt('--modes') ?? 'batch,syncIo,async').split(',');
  const root = path.resolve(args[0] ?? '.bench/data/small');
  const modes = ioModes(platformFileServices()).filter((m) => wanted.includes(m.name));
  for (const m of modes) if (m.skip) throw new Error(`mode ${m.name}: ${m.skip}`);

  console.log(`tree ${root}; node ${process.version}; UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}; ${runs} runs per mode, modes interleaved`);
  await backupOnce(root, modes[0]); // warm the page cache and the JIT
  const results = new Map<string, Run[]>(modes.map((m) => [m.name, []]));
  for (let r = 0; r < runs; r++) {
    for (const m of modes) {
      const run = await backupOnce(root, m);
      results.get(m.name)!.push(run);
      console.log(
        `  run ${r + 1} ${m.name.padEnd(6)} ${run.files} entries, ${(run.bytes / 2 ** 20).toFixed(1)} MiB, ${run.warnings} warnings: ` +
          `wall ${run.wallMs.toFixed(0)} ms, main thread busy ${run.busyMs.toFixed(0)} ms (CPU ${run.mainCpuMs.toFixed(0)} ms), process CPU ${run.cpuMs.toFixed(0)} ms`,
      );
    }
  }
  console.log('median:');
  for (const [name, rs] of results) {
    console.log(
      `  ${name.padEnd(6)} wall ${median(rs.map((r) => r.wallMs)).toFixed(0)} ms, main thread busy ${median(rs.map((r) => r.busyMs)).toFixed(0)} ms ` +
        `(CPU ${median(rs.map((r) => r.mainCpuMs)).toFixed(0)} ms), ` +
        `process CPU ${median(rs.map((r) => r.cpuMs)).toFixed(0)} ms (${rs.map((r) => r.wallMs.toFixed(0)).join('/')} wall)`,
    );
  }
}

await main();
