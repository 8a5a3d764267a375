// Benchmark datasets: generated once under .bench/data/ from a fixed seed
// and reused while their recorded parameters match. The marker file sits
// beside the dataset (not inside it) so it is never part of what is backed
// up. Bytes come from the compiled test support generators
// (dist/test/support), the same ones the tests use.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Bump when the layout or generator changes, so old datasets are rebuilt. */
const DATASET_FORMAT = 1;
const MiB = 1024 * 1024;

/** The datasets a run uses; `quick` shrinks them for a smoke test of the script. */
export function datasetSpecs(seed, quick) {
  return {
    large: quick
      ? { kind: 'large', name: 'quick-large', seed, files: 2, fileBytes: 32 * MiB }
      : { kind: 'large', name: 'large', seed, files: 8, fileBytes: 128 * MiB },
    small: quick
      ? { kind: 'small', name: 'quick-small', seed, count: 5_000, dirs: 50, minSize: 1024, maxSize: 16 * 1024 }
      : { kind: 'small', name: 'small', seed, count: 100_000, dirs: 1_000, minSize: 1024, maxSize: 16 * 1024 },
    bigfile: { kind: 'large', name: 'bigfile', seed, files: 1, fileBytes: 4096 * MiB },
  };
}

async function loadSupport(root) {
  const dir = join(root, 'dist', 'test', 'support');
  const content = await import(pathToFileURL(join(dir, 'content.js')).href);
  const small = await import(pathToFileURL(join(dir, 'small-files.js')).href);
  return { writeContentFile: content.writeContentFile, generateSmallFiles: small.generateSmallFiles };
}

/**
 * Returns { path, files, bytes } for `spec`, generating it under
 * benchDir/data/<name> unless an identical one is already there.
 */
export async function ensureDataset(root, benchDir, spec, log) {
  const dataDir = join(benchDir, 'data');
  const path = join(dataDir, spec.name);
  const marker = join(dataDir, `${spec.name}.json`);
  const want = { format: DATASET_FORMAT, ...spec };
  if (existsSync(marker) && existsSync(path)) {
    const have = JSON.parse(readFileSync(marker, 'utf8'));
    if (JSON.stringify(have.spec) === JSON.stringify(want)) {
      log(`dataset ${spec.name}: reusing ${path}`);
      return { path, files: have.files, bytes: have.bytes };
    }
    log(`dataset ${spec.name}: parameters changed, regenerating`);
  }
  rmSync(marker, { force: true });
  rmSync(path, { recursive: true, force: true });
  mkdirSync(path, { recursive: true });
  const support = await loadSupport(root);
  const t0 = process.hrtime.bigint();
  let files;
  let bytes;
  if (spec.kind === 'large') {
    log(`dataset ${spec.name}: writing ${spec.files} × ${spec.fileBytes / MiB} MiB…`);
    for (let i = 0; i < spec.files; i++) {
      support.writeContentFile(join(path, `large-${String(i).padStart(2, '0')}.bin`), spec.seed + i, spec.fileBytes);
    }
    files = spec.files;
    bytes = spec.files * spec.fileBytes;
  } else {
    log(`dataset ${spec.name}: writing ${spec.count} files of ${spec.minSize}–${spec.maxSize} bytes in ${spec.dirs} directories…`);
    const r = support.generateSmallFiles(path, { count: spec.count, dirs: spec.dirs, minSize: spec.minSize, maxSize: spec.maxSize, seed: spec.seed });
    files = r.files;
    bytes = r.bytes;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  writeFileSync(marker, JSON.stringify({ spec: want, files, bytes, generatedSeconds: seconds }, null, 2) + '\n');
  log(`dataset ${spec.name}: ${files} files, ${bytes} bytes in ${seconds.toFixed(1)} s`);
  return { path, files, bytes };
}
