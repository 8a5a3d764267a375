/**
 * Packs (docs/volume-format.md §Packs), through the console: small files
 * share one zstd frame per pack, and nothing a file restore or verify
 * promises is lost by it.
 *
 * - A tree of small files (0 B … 64 KiB, the limit, and 64 KiB + 1) with
 *   large files and directories between them restores byte-exact; the
 *   volume holds several packs and no data or digest record of its own for
 *   any file of 64 KiB or less; every file has its digest in the catalog.
 * - One small file from the middle of a pack restores alone.
 * - A stream declared small that delivers more leaves the pack and is
 *   stored as an ordinary stream; one that delivers less stays packed; both
 *   are warned about and verify against the bytes delivered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { StreamType } from '../../plugin-api/index.js';
import { assertTreesEqual, buildTree, file, generateSmallFiles, tempDir } from '../support/index.js';
import { cairn, cairnOk } from './cli-runner.js';
import { mapVolume } from './volume-map.js';

const KiB = 1024;
const MiB = 1024 * KiB;

test('small files travel in packs and restore byte-exact, whole or one by one', async (t) => {
  const tmp = tempDir(t, 'cairn-e2e-packs-');
  const repo = join(tmp, 'R');
  const src = join(tmp, 'src');
  await buildTree(src, {
    'a-empty': file(1, 0),
    'b-limit': file(2, 64 * KiB),
    'c-over': file(3, 64 * KiB + 1),
    'm-big.bin': file(4, 3 * MiB + 7),
    sub: { 'n-mid.bin': file(5, 300 * KiB), 'o-tiny': file(6, 1) },
  });
  generateSmallFiles(join(src, 'k-small'), { count: 1500, dirs: 12, minSize: 1, maxSize: 16 * KiB, seed: 11 });
  generateSmallFiles(join(src, 'sub', 'p-small'), { count: 1500, dirs: 12, minSize: 1, maxSize: 60 * KiB, seed: 12 });

  const b = cairnOk(repo, ['backup', src, '--json']).json;
  assert.equal(b.status, 'ok');
  assert.equal(cairnOk(repo, ['verify', 'latest', '--json']).json.status, 'ok');
  const out = join(tmp, 'out');
  assert.equal(cairnOk(repo, ['restore', 'latest', '--to', out, '--json']).json.status, 'ok');
  assertTreesEqual(src, join(out, src));

  // On the volume: packs, and no per-file data or digest records for small files.
  const map = mapVolume(join(repo, 'volumes', b.volumes[0]));
  const starts = map.blocks.flatMap((x) => x.fragments.filter((f) => f.offset === 0));
  const packIndexes = starts.filter((f) => f.streamType === StreamType.PACK_INDEX);
  assert.ok(packIndexes.length >= 10, `expected many packs, got ${packIndexes.length}`);
  assert.ok(starts.some((f) => f.streamType === StreamType.PACK_DATA_ZSTD), 'packs are compressed');
  const sizeOf = new Map<number, number>();
  for (const f of map.files.values()) if (f.path) sizeOf.set(f.fileIndex, f.kind === 'file' ? readFileSync(f.path).length : -1);
  const own = starts.filter((f) => f.streamType === StreamType.DATA_ZSTD || f.streamType === StreamType.DATA || f.streamType === StreamType.DIGEST_SHA256);
  const ownSmall = own.filter((f) => (sizeOf.get(f.fileIndex) ?? -1) >= 0 && sizeOf.get(f.fileIndex)! <= 64 * KiB);
  assert.deepEqual(ownSmall, [], 'files of 64 KiB or less have no records of their own besides attributes');
  assert.ok(own.some((f) => sizeOf.get(f.fileIndex) === 64 * KiB + 1), 'a file just over the limit is an ordinary stream');

  // The catalog holds a digest for every regular file, packed or not.
  const db = new Database(join(repo, 'catalog.db'), { readonly: true });
  const missing = db.prepare("SELECT COUNT(*) AS n FROM files WHERE job_id = ? AND kind = 'file' AND digest IS NULL").get(b.jobId) as { n: number };
  const total = db.prepare("SELECT COUNT(*) AS n FROM files WHERE job_id = ? AND kind = 'file'").get(b.jobId) as { n: number };
  db.close();
  assert.equal(missing.n, 0);
  assert.equal(total.n, 3006);

  // One file from the middle of a pack, alone.
  const smallFiles = (readdirSync(join(src, 'k-small'), { recursive: true }) as string[]).map((n) => join(src, 'k-small', n)).filter((p) => sizeOf.has(indexOf(p))).sort();
  const one = smallFiles[Math.floor(smallFiles.length / 2)];
  const out1 = join(tmp, 'out1');
  const r = cairnOk(repo, ['restore', 'latest', '--to', out1, one, '--json']).json;
  assert.equal(r.files, 1);
  assert.deepEqual(readFileSync(join(out1, one)), readFileSync(one));
  assert.deepEqual(readdirSync(join(out1, dirname(one))), [basename(one)]);

  function indexOf(path: string): number {
    for (const f of map.files.values()) if (f.path === path && f.kind === 'file') return f.fileIndex;
    return -1;
  }
});

/** An agent whose files declare one size and deliver another. */
const LIAR = `export const manifest = { name: 'liar', version: '1.0.0', api: '>=1 <2', formatMajor: 1 };
const FILES = [
  ['/v/a-honest', 100, 100],
  ['/v/b-grows', 100, 200000],
  ['/v/c-shrinks', 5000, 10],
  ['/v/d-honest', 3000, 3000],
];
const bytes = (n, seed) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));
export function createAgent() {
  let i = 0;
  return {
    async prepareBackup() {},
    async nextFile() {
      if (i >= FILES.length) return null;
      const [p, declared] = FILES[i++];
      return { path: Buffer.from(p), kind: 'file', stat: { mode: 0o100644, uid: 0, gid: 0, size: declared, mtimeNs: 1n, atimeNs: 1n, ctimeNs: 1n, dev: 0n, ino: BigInt(i), nlink: 1, rdev: 0 }, streams: [{ index: 0, name: 'data', layout: 'sequential', size: declared }] };
    },
    async *readData(file) {
      const f = FILES.find((x) => x[0] === file.path.toString());
      const all = bytes(f[2], f[2] & 0xff);
      for (let o = 0; o < all.length; o += 30000) yield all.subarray(o, o + 30000);
    },
    async endBackup() { return { state: null }; },
    async prepareRestore() {},
    async createFile() { return 'skip'; },
    async writeData() {},
    async endFile() {},
    async endRestore() {},
  };
}
`;

test('a stream declared small that delivers more leaves the pack; one that delivers less stays in it; both verify as delivered', async (t) => {
  const tmp = tempDir(t, 'cairn-e2e-packs-liar-');
  const repo = join(tmp, 'R');
  assert.equal(cairn(repo, ['init']).status, 0);
  mkdirSync(join(repo, 'plugins'), { recursive: true });
  const mod = join(repo, 'plugins', 'liar.mjs');
  writeFileSync(mod, LIAR);
  const fileset = join(tmp, 'fileset.yaml');
  writeFileSync(fileset, `name: liar\nagents:\n  - agent: ${mod}\n`);
  const b = cairnOk(repo, ['backup', '--fileset', fileset, '--json'], 1).json;
  assert.equal(b.status, 'warning');
  const warned = b.warnings.map((w: { path: string; code: string }) => `${w.path} ${w.code}`).sort();
  assert.deepEqual(warned, ['/v/b-grows CAIRN_E_STREAM_LENGTH', '/v/c-shrinks CAIRN_E_STREAM_LENGTH']);

  const map = mapVolume(join(repo, 'volumes', b.volumes[0]));
  const starts = map.blocks.flatMap((x) => x.fragments.filter((f) => f.offset === 0));
  const byPath = new Map([...map.files.values()].map((f) => [f.path, f.fileIndex]));
  const ownData = new Set(starts.filter((f) => f.streamType === StreamType.DATA_ZSTD || f.streamType === StreamType.DATA).map((f) => f.fileIndex));
  assert.deepEqual([...ownData], [byPath.get('/v/b-grows')], 'only the file that grew has data records of its own');

  // Verify re-reads the volume and checks each stream against the SHA-256 of the bytes the agent delivered.
  const v = cairnOk(repo, ['verify', 'latest', '--json']).json;
  assert.equal(v.status, 'ok');
  assert.equal(v.files, 4);
  assert.equal(v.bytes, 100 + 200000 + 10 + 3000);
});
