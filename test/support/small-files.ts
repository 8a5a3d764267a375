/**
 * Many small files, fast and deterministic (tests with 20,000–100,000 files
 * and the small-files benchmark).
 *
 * Owns: the layout `root/GGG/DDDD/fNNNNNNN.dat` — `dirs` leaf directories in
 * groups of DIRS_PER_GROUP, file i in leaf (i mod dirs) — with sizes and
 * bytes derived from (seed, i). Same options, same bytes, on every run.
 * Uses synchronous writes from one reused buffer: no per-file promises, no
 * per-file allocation.
 *
 * Does not promise: mtimes (files keep their creation time).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fillContent, mixSeed } from './content.js';

/** Leaf directories per group directory: keeps every directory listing small. */
const DIRS_PER_GROUP = 32;

export interface SmallFilesOptions {
  count: number;
  /** Leaf directories to spread the files over (default ceil(count / 100)). */
  dirs?: number;
  /** Inclusive size bounds in bytes (defaults 1 KiB and 16 KiB). */
  minSize?: number;
  maxSize?: number;
  seed?: number;
}

export interface SmallFilesResult {
  files: number;
  dirs: number;
  bytes: number;
}

function leafPath(root: string, d: number): string {
  return join(root, String(Math.floor(d / DIRS_PER_GROUP)).padStart(3, '0'), String(d).padStart(4, '0'));
}

/** The size of small file `i` for these options (exported so checks can recompute it). */
export function smallFileSize(seed: number, i: number, minSize: number, maxSize: number): number {
  return minSize + (mixSeed(seed, i) % (maxSize - minSize + 1));
}

/** Writes the files under `root` (created if missing). */
export function generateSmallFiles(root: string, opts: SmallFilesOptions): SmallFilesResult {
  const count = opts.count;
  const dirs = Math.max(1, opts.dirs ?? Math.ceil(count / 100));
  const minSize = opts.minSize ?? 1024;
  const maxSize = opts.maxSize ?? 16 * 1024;
  const seed = opts.seed ?? 1;
  if (minSize < 0 || maxSize < minSize) throw new RangeError(`generateSmallFiles(): need 0 <= minSize <= maxSize, got ${minSize}..${maxSize}`);

  for (let d = 0; d < dirs; d++) mkdirSync(leafPath(root, d), { recursive: true });
  const buf = Buffer.allocUnsafeSlow(Math.max(maxSize, 1));
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const size = smallFileSize(seed, i, minSize, maxSize);
    const data = buf.subarray(0, size);
    fillContent(mixSeed(seed ^ 0x5bd1e995, i), 0, data);
    writeFileSync(join(leafPath(root, i % dirs), `f${String(i).padStart(7, '0')}.dat`), data);
    bytes += size;
  }
  return { files: count, dirs, bytes };
}
