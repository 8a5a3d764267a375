// Measurement (no timed assertion): back-up-style scan + read of 10,000 files
// of 8 KiB, with the batched native calls versus the plain node:fs
// equivalent (readdir + lstat + open/read/fstat/close per file, 64 in
// flight) and versus the degraded implementation. Prints wall time and
// main-thread (event loop active) time of each; asserts only that all three
// read the same bytes. Figures are copied into docs/native.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { nativeStatus, platformFileServices, type FileServices } from './index.js';
import { mapLimit } from './batch-degraded.js';

const FILES = 10_000;
const SIZE = 8192;
const GROUP = 256; // files per readFiles call (2 MiB)
const IN_FLIGHT = 4; // readFiles calls in flight (the default libuv pool size)
const CONCURRENCY = 64;

const status = nativeStatus();
const skip = !status.loaded && process.env.CI !== 'true' ? 'native addon not built' : false;


/** The JS way: one libuv round trip per syscall. Returns total bytes and a checksum. */
async function plainNode(dir: string): Promise<[number, number]> {
  const names = await fsp.readdir(dir);
  const stats = await mapLimit(names, CONCURRENCY, (n) => fsp.lstat(path.join(dir, n), { bigint: true }));
  const datas = await mapLimit(names.map((_, i) => i), CONCURRENCY, async (i) => {
    const fh = await fsp.open(path.join(dir, names[i]), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    try {
      const size = Number(stats[i].size);
      const buf = Buffer.allocUnsafeSlow(size + 1);
      let got = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, got, size + 1 - got, null);
        if (bytesRead === 0 || got + bytesRead === size + 1) {
          got += bytesRead;
          break;
        }
        got += bytesRead;
      }
      await fh.stat({ bigint: true });
      return buf.subarray(0, got);
    } finally {
      await fh.close();
    }
  });
  return summarise(datas);
}

/** The batched way: one scan, then groups of readFiles with a few in flight. */
async function batched(s: FileServices, dir: string): Promise<[number, number]> {
  const entries = await s.scanDirectory(dir);
  const groups: Array<Array<{ path: Buffer; size: number }>> = [];
  for (let i = 0; i < entries.length; i += GROUP) {
    groups.push(entries.slice(i, i + GROUP).map((e) => ({ path: Buffer.concat([Buffer.from(dir + '/'), e.name]), size: e.stat?.size ?? 0 })));
  }
  const results = (await mapLimit(groups, IN_FLIGHT, (g) => s.readFiles(g))).flat();
  return summarise(results.map((r) => r.data ?? Buffer.alloc(0)));
}

function summarise(datas: Buffer[]): [number, number] {
  let bytes = 0;
  let sum = 0;
  for (const d of datas) {
    bytes += d.length;
    sum = (sum + d[0] + d[d.length - 1]) % 1_000_000_007;
  }
  return [bytes, sum];
}

async function measure(label: string, run: () => Promise<[number, number]>): Promise<{ label: string; wallMs: number; mainMs: number; result: [number, number] }> {
  await run(); // warm-up: page cache, JIT
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const result = await run();
  const wallMs = performance.now() - t0;
  const mainMs = performance.eventLoopUtilization(elu0).active;
  return { label, wallMs, mainMs, result };
}

test(`scan + read of ${FILES} files of ${SIZE} bytes: batched native vs node:fs`, { skip }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-batch-speed-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const content = Buffer.alloc(SIZE, 0x41);
  for (let i = 0; i < FILES; i++) {
    content.writeUInt32LE(i, 0);
    content.writeUInt32LE(i, SIZE - 4);
    fs.writeFileSync(path.join(dir, `file-${i}`), content);
  }
  const native = platformFileServices();
  const degraded = platformFileServices({ forceDegraded: true, warn: () => undefined });
  const runs = [
    await measure(`node:fs per file (concurrency ${CONCURRENCY})`, () => plainNode(dir)),
    await measure(`native batched (scanDirectory + readFiles ×${GROUP}, ${IN_FLIGHT} in flight)`, () => batched(native, dir)),
    await measure('degraded batched (same calls over node:fs)', () => batched(degraded, dir)),
  ];
  for (const r of runs) {
    const line = `${r.label}: wall ${r.wallMs.toFixed(0)} ms, main thread ${r.mainMs.toFixed(0)} ms`;
    console.log(line);
    t.diagnostic(line);
  }
  const speedup = `native vs node:fs: wall ×${(runs[0].wallMs / runs[1].wallMs).toFixed(1)}, main thread ×${(runs[0].mainMs / runs[1].mainMs).toFixed(1)}`;
  console.log(speedup);
  t.diagnostic(speedup);
  assert.deepEqual(runs[1].result, runs[0].result);
  assert.deepEqual(runs[2].result, runs[0].result);
  assert.equal(runs[0].result[0], FILES * SIZE);
});
