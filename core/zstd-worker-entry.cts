/**
 * The zstd pool's worker entry, in CommonJS on purpose. piscina loads a
 * worker file with require() first; for an ES module that is Node's
 * require(esm), which in Node 20.19–20.20 can abort the whole process
 * (v8 "IsGraphAsync must be used on an instantiated module", seen here
 * once in a loaded test run). A CommonJS entry is required as such, and it
 * reaches the ESM worker through import(), the ES module loader's own path.
 */
import type { CompressResult, CompressTask } from './zstd-worker.js';

let handler: Promise<(task: CompressTask) => CompressResult> | null = null;

module.exports = async function zstdBatchEntry(task: CompressTask): Promise<CompressResult> {
  handler ??= import('./zstd-worker.js').then((m) => m.default);
  return (await handler)(task);
};
