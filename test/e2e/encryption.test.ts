/**
 * Acceptance (issue 6, items 1–4 and the local mode of 7): client-side
 * encryption through the console.
 *
 * - No plaintext byte of a marker file (a distinctive 64-byte marker
 *   repeated, in a large file and in a small packed file) is in any volume
 *   file — while an unencrypted repository of the same tree does hold it;
 *   restore with the client key is byte-exact; with a stranger's key it fails
 *   before writing (target empty) naming both fingerprints; with the master
 *   key alone it is byte-exact.
 * - A write-only client backs up, cannot restore without the private key
 *   (CAIRN_E_KEY_NEEDED), restores with it.
 * - Tampering the storage can do: one byte of a sealed chunk flipped, two
 *   sealed chunks swapped (block CRCs fixed up each time, so only the seal can
 *   tell), a session truncated → restore names exactly the damaged file and
 *   leaves nothing of it; every other file is byte-exact. `verify --level
 *   volume`, with no key at all, names the same file with volume and block:
 *   the SD checks every stored record against the ciphertext digests in the
 *   job's signed manifest (issue 6 item 5).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, renameSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { StreamType } from '../../plugin-api/index.js';
import { encryptionOfLabel, readKeyFile, readKeyringFile, unwrapJobKey } from '../../core/index.js';
import { buildTree, compareTrees, file, formatDifference, sparse, tempDir } from '../support/index.js';
import { cairn, cairnOk } from './cli-runner.js';
import { fixCrc, mapVolume, recordPlaces, type RecordPlace, type VolumeMap } from './volume-map.js';

const MiB = 1024 * 1024;
const MARKER = Buffer.from('<<CAIRN-TEST-MARKER:a1b2c3d4e5f6g7h8i9j0-kLmNoPqRsTuVwXyZ-0987654321>>', 'latin1').subarray(0, 64);

interface Tree {
  src: string;
  big: string;
  small: string;
  random: string;
}

async function markerTree(root: string): Promise<Tree> {
  const src = join(root, 'src');
  await buildTree(src, {
    'notes.txt': file(3, 5000),
    data: { 'mixed.bin': file(4, 2 * MiB + 77), 'holes.bin': sparse([[0, 100_000], [5 * MiB, 200_000]], 6 * MiB) },
  });
  const { writeFileSync, mkdirSync } = await import('node:fs');
  mkdirSync(join(src, 'docs'), { recursive: true });
  const big = join(src, 'marker-big.bin');
  const small = join(src, 'docs', 'marker-small.txt');
  const random = join(src, 'data', 'random.bin');
  writeFileSync(big, Buffer.concat(Array.from({ length: (3 * MiB) / 64 + 5 }, () => MARKER)));
  writeFileSync(small, Buffer.concat(Array.from({ length: 64 }, () => MARKER))); // 4 KiB: joins a pack
  writeFileSync(random, randomBytes(4 * MiB)); // incompressible: equal-length sealed chunks for the swap
  return { src, big, small, random };
}

/** Every 16-byte window of the marker that occurs in any file under `dir`. */
function markerHits(dir: string): string[] {
  const hits: string[] = [];
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const p = join(dir, name);
    let bytes: Buffer;
    try {
      bytes = readFileSync(p);
    } catch {
      continue; // a directory
    }
    for (let o = 0; o + 16 <= MARKER.length; o += 8) if (bytes.includes(MARKER.subarray(o, o + 16))) hits.push(`${name}@marker[${o}]`);
  }
  return hits;
}

function assertSameTree(src: string, to: string, why: string): void {
  const diffs = compareTrees(src, join(to, src));
  assert.deepEqual(diffs.map(formatDifference), [], why);
}

function emptyOrAbsent(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).length === 0;
}

function keygen(dir: string, name: string, writeOnly = false): string {
  const path = join(dir, name);
  cairnOk(null, ['key', 'generate', '--out', path, ...(writeOnly ? ['--write-only', `${path}.wo`] : []), '--json']);
  return path;
}

test('encrypted backup: no marker byte on the volumes; right key byte-exact; wrong key refused before writing, naming both keys; master key alone works', async (t) => {
  const tmp = tempDir(t, 'cairn-e2e-crypt-');
  const tree = await markerTree(tmp);
  const keys = join(tmp, 'keys');
  const master = keygen(keys, 'master.key');
  const stranger = keygen(keys, 'stranger.key');
  const repo = join(tmp, 'R');
  const init = cairnOk(repo, ['init', '--encrypt', '--key', join(keys, 'client.key'), '--master-public-key', `${master}.pub`, '--json']).json;
  assert.equal(init.generated, true);
  assert.match(init.fingerprint, /^[0-9a-f]{32}$/);
  const clientFp = init.fingerprint as string;
  const masterFp = cairnOk(null, ['key', 'fingerprint', master, '--json']).json.fingerprint as string;
  const strangerFp = cairnOk(null, ['key', 'fingerprint', stranger, '--json']).json.fingerprint as string;

  const b = cairnOk(repo, ['backup', tree.src, '--json']).json;
  assert.equal(b.status, 'ok');
  assert.deepEqual(b.encryption.sealedFor, [clientFp, masterFp]);
  assert.equal(b.encryption.signer, clientFp);
  assert.deepEqual(markerHits(join(repo, 'volumes')), [], 'no 16-byte piece of the marker may be on a volume');

  // Control: the same tree in an unencrypted repository does show the marker (the scan can see it).
  const plain = join(tmp, 'P');
  cairnOk(plain, ['init', '--json']);
  cairnOk(plain, ['backup', tree.src, '--json']);
  assert.ok(markerHits(join(plain, 'volumes')).length > 0, 'the unencrypted control volume holds the marker');

  // The volume alone names the keys: every session start label carries the header, which opens with the master key.
  const vol = mapVolume(join(repo, 'volumes', b.volumes[0]));
  const starts = vol.blocks.filter((x) => x.kind === 2);
  assert.ok(starts.length >= 1);
  const volBytes = readFileSync(join(repo, 'volumes', b.volumes[0]));
  for (const st of starts) {
    const at = st.block * vol.blockSize + st.headerLength;
    const label = JSON.parse(volBytes.toString('utf8', at + 8, at + st.payloadLength)) as { job: { jobId: number }; encryption?: unknown };
    const header = encryptionOfLabel(label);
    assert.ok(header, 'the start label carries the encryption header');
    assert.equal(header.jobId, b.jobId);
    assert.deepEqual(header.wraps.map((w) => w.fingerprint), [clientFp, masterFp]);
    assert.equal(unwrapJobKey(header, { keys: [readKeyFile(master)] }).length, 32);
  }
  const v = cairnOk(repo, ['verify', 'latest', '--json']).json;
  assert.equal(v.status, 'ok', 'verify decrypts and checks every digest against the catalog');

  const right = join(tmp, 'out-right');
  const r1 = cairnOk(repo, ['restore', 'latest', '--to', right, '--json']).json;
  assert.equal(r1.status, 'ok');
  assertSameTree(tree.src, right, 'restore with the repository key');

  const wrong = join(tmp, 'out-wrong');
  const r2 = cairn(repo, ['restore', 'latest', '--to', wrong, '--key', stranger, '--json']);
  assert.equal(r2.status, 3, r2.describe);
  assert.equal(r2.json.error.code, 'CAIRN_E_KEY_WRONG', r2.describe);
  assert.ok(r2.json.error.message.includes(clientFp) && r2.json.error.message.includes(strangerFp), r2.json.error.message);
  assert.match(r2.json.error.message, new RegExp(`job ${b.jobId} was sealed for key`));
  assert.ok(emptyOrAbsent(wrong), 'nothing written with the wrong key');

  const viaMaster = join(tmp, 'out-master');
  const r3 = cairnOk(repo, ['restore', 'latest', '--to', viaMaster, '--key', master, '--json']).json;
  assert.equal(r3.status, 'ok');
  assertSameTree(tree.src, viaMaster, 'restore with the master key alone');
});

test('write-only client: backs up, cannot restore without the private key, restores with it', async (t) => {
  const tmp = tempDir(t, 'cairn-e2e-wo-');
  const tree = await markerTree(tmp);
  const client = keygen(join(tmp, 'keys'), 'client.key', true);
  const repo = join(tmp, 'R');
  const init = cairnOk(repo, ['init', '--encrypt', '--key', `${client}.wo`, '--json']).json;
  assert.equal(init.keyKind, 'write-only');
  const b = cairnOk(repo, ['backup', tree.src, '--json']).json;
  assert.equal(b.status, 'ok');
  assert.deepEqual(markerHits(join(repo, 'volumes')), []);

  const without = join(tmp, 'out-none');
  const r1 = cairn(repo, ['restore', 'latest', '--to', without, '--json']);
  assert.equal(r1.status, 3, r1.describe);
  assert.equal(r1.json.error.code, 'CAIRN_E_KEY_NEEDED', r1.describe);
  assert.ok(emptyOrAbsent(without));
  // The write-only key itself cannot open it either.
  const r2 = cairn(repo, ['restore', 'latest', '--to', without, '--key', `${client}.wo`, '--json']);
  assert.equal(r2.json.error.code, 'CAIRN_E_KEY_NEEDED', r2.describe);

  const withKey = join(tmp, 'out-key');
  assert.equal(cairnOk(repo, ['restore', 'latest', '--to', withKey, '--key', client, '--json']).json.status, 'ok');
  assertSameTree(tree.src, withKey, 'restore of a write-only repository with the private key');
});

test('key rotation: existing jobs open with the new key (catalog wraps, keyring file), volumes untouched; new jobs are sealed for it', async (t) => {
  const tmp = tempDir(t, 'cairn-e2e-rotate-');
  const tree = await markerTree(tmp);
  const repo = join(tmp, 'R');
  const oldKey = join(tmp, 'keys', 'old.key');
  cairnOk(repo, ['init', '--encrypt', '--key', oldKey, '--json']);
  const b1 = cairnOk(repo, ['backup', tree.src, '--json']).json;
  const volume = join(repo, 'volumes', b1.volumes[0]);
  const before = readFileSync(volume);
  const newKey = join(tmp, 'keys', 'new.key');
  const keyring = join(tmp, 'keyring.json');
  const rot = cairnOk(repo, ['key', 'rotate', '--out', newKey, '--keyring', keyring, '--json']).json;
  assert.equal(rot.rewrappedJobs, 1);
  assert.ok(readFileSync(volume).equals(before), 'rotation does not rewrite the volume');
  const wraps = readKeyringFile(keyring);
  assert.deepEqual(wraps.map((w) => [w.jobId, w.wrap.fingerprint]), [[b1.jobId, rot.to]]);

  const out = join(tmp, 'out-new');
  assert.equal(cairnOk(repo, ['restore', String(b1.jobId), '--to', out, '--key', newKey, '--json']).json.status, 'ok');
  assertSameTree(tree.src, out, 'an old job restores with the rotated key');
  const b2 = cairnOk(repo, ['backup', tree.src, '--level', 'full', '--json']).json;
  assert.deepEqual(b2.encryption.sealedFor, [rot.to]);
  const r = cairn(repo, ['restore', String(b2.jobId), '--to', join(tmp, 'out-old'), '--key', oldKey, '--json']);
  assert.equal(r.json.error.code, 'CAIRN_E_KEY_WRONG', 'a job sealed after the rotation does not open with the old key');
});

// --- tampering --------------------------------------------------------------------------------

function readRecord(fd: number, r: RecordPlace): Buffer {
  const parts = r.segments.map((s) => {
    const p = Buffer.alloc(s.length);
    readSync(fd, p, 0, s.length, s.at);
    return p;
  });
  return Buffer.concat(parts);
}

function writeRecord(fd: number, r: RecordPlace, bytes: Buffer): void {
  let o = 0;
  for (const s of r.segments) {
    writeSync(fd, bytes, o, s.length, s.at);
    o += s.length;
  }
}

interface Tampered {
  repo: string;
  tree: Tree;
  volume: string;
  map: VolumeMap;
  records: RecordPlace[];
  /** fileIndex of a path. */
  index(path: string): number;
}

async function encryptedBackup(t: TestContext): Promise<Tampered & { tmp: string }> {
  const tmp = tempDir(t, 'cairn-e2e-tamper-');
  const tree = await markerTree(tmp);
  const repo = join(tmp, 'R');
  cairnOk(repo, ['init', '--encrypt', '--key', join(tmp, 'keys', 'client.key'), '--json']);
  const b = cairnOk(repo, ['backup', tree.src, '--json']).json;
  assert.equal(b.volumes.length, 1);
  const volume = join(repo, 'volumes', b.volumes[0]);
  const map = mapVolume(volume);
  const records = recordPlaces(map);
  const index = (path: string) => {
    const f = [...map.files.values()].find((x) => x.path === path);
    assert.ok(f, `no file ${path} on the volume`);
    return f.fileIndex;
  };
  return { tmp, repo, tree, volume, map, records, index };
}

/**
 * `verify --level volume` with no key (the repository's key file is moved away first, so nothing could open
 * a seal): exit 3, exactly `damaged` named, each with the volume and one of `blocks`, codes from `codes`.
 */
function assertVolumeVerifyNames(s: Tampered & { tmp: string }, damaged: string[], codes: string[], blocks: number[] | null, label: string): any {
  const keyFile = join(s.tmp, 'keys', 'client.key');
  const hidden = `${keyFile}.away`;
  renameSync(keyFile, hidden);
  try {
    const v = cairn(s.repo, ['verify', 'latest', '--level', 'volume', '--json']);
    assert.equal(v.status, 3, v.describe);
    assert.equal(v.json.verify.level, 'volume');
    assert.equal(v.json.verify.manifest?.verified, true, `${label}: the signed manifest verified with the catalog's signer key: ${v.describe}`);
    const problems = v.json.problems as Array<{ path?: string; code: string; volume?: string; block?: number }>;
    const named = [...new Set(problems.map((p) => p.path).filter(Boolean))].sort();
    assert.deepEqual(named, [...damaged].sort(), `${label}: verify --level volume names exactly the damaged file(s): ${v.describe}`);
    for (const p of problems.filter((x) => x.path)) {
      assert.ok(codes.includes(p.code), `${label}: problem code ${p.code} (${JSON.stringify(p)})`);
      assert.equal(p.volume, s.map.volumeName, `${label}: ${JSON.stringify(p)}`);
      if (blocks) assert.ok(blocks.includes(p.block!), `${label}: block ${p.block} not one of ${blocks}: ${JSON.stringify(p)}`);
    }
    return v.json;
  } finally {
    renameSync(hidden, keyFile);
  }
}

/** Restores and checks: exactly `damaged` is named (with `code`) and absent; everything else byte-exact. */
function assertOnlyDamaged(s: Tampered & { tmp: string }, damaged: string[], codes: string[], label: string): void {
  const to = join(s.tmp, `out-${label}`);
  const r = cairn(s.repo, ['restore', 'latest', '--to', to, '--json']);
  assert.equal(r.status, 3, r.describe);
  const named = [...new Set((r.json.problems as Array<{ path?: string; code: string }>).map((p) => p.path))].sort();
  assert.deepEqual(named, [...damaged].sort(), r.describe);
  for (const p of r.json.problems as Array<{ code: string }>) assert.ok(codes.includes(p.code), `${label}: problem code ${p.code} (${JSON.stringify(p)})`);
  const diffs = compareTrees(s.tree.src, join(to, s.tree.src));
  const unexpected = diffs.filter((d) => !(d.kind === 'missing' && damaged.includes(join(s.tree.src, d.path))));
  assert.deepEqual(unexpected.map(formatDifference), [], `${label}: everything but the named file(s) restores byte-exact`);
  for (const p of damaged) assert.ok(!existsSync(join(to, p)), `${label}: nothing of ${p} is left`);
  assert.deepEqual(readdirSync(join(to, s.tree.src, 'data')).filter((n) => n.startsWith('.')), [], `${label}: no temporary left`);
}

test('tampering: a flipped byte in a sealed chunk (CRC fixed up): verify --level volume without a key and restore name exactly its file', async (t) => {
  const s = await encryptedBackup(t);
  const clean = cairnOk(s.repo, ['verify', 'latest', '--level', 'volume', '--json']).json;
  assert.equal(clean.status, 'ok', JSON.stringify(clean.problems));
  assert.equal(clean.verify.manifest.verified, true);
  assert.equal(clean.verify.manifest.mismatched, 0);
  assert.equal(clean.verify.manifest.missing, 0);
  assert.equal(clean.verify.manifest.matched, clean.verify.manifest.listed, 'every record the manifest lists was read and matched');
  const target = s.index(s.tree.random);
  const chunks = s.records.filter((r) => r.fileIndex === target && r.streamType === StreamType.DATA_SEALED);
  assert.ok(chunks.length >= 3, `random.bin has ${chunks.length} sealed chunks`);
  const seg = chunks[1].segments[0];
  const fd = openSync(s.volume, 'r+');
  try {
    const at = seg.at + Math.floor(seg.length / 2);
    const one = Buffer.alloc(1);
    readSync(fd, one, 0, 1, at);
    one[0] ^= 0x01;
    writeSync(fd, one, 0, 1, at);
    fixCrc(fd, s.map, seg.block);
  } finally {
    closeSync(fd);
  }
  const v = assertVolumeVerifyNames(s, [s.tree.random], ['CAIRN_E_MANIFEST_MISMATCH'], [seg.block], 'flip');
  assert.equal(v.verify.badBlocks, 0, 'the block CRC was fixed up: only the manifest can tell');
  assert.equal(v.verify.manifest.mismatched, 1);
  assertOnlyDamaged(s, [s.tree.random], ['CAIRN_E_SEAL_BROKEN'], 'flip');
});

test('tampering: two sealed chunks swapped (CRCs fixed up): verify --level volume without a key and restore name exactly their file', async (t) => {
  const s = await encryptedBackup(t);
  const target = s.index(s.tree.random);
  const chunks = s.records.filter((r) => r.fileIndex === target && r.streamType === StreamType.DATA_SEALED);
  const [a, b] = [chunks[0], chunks[2]];
  assert.equal(a.total, b.total, 'incompressible chunks seal to equal lengths');
  const fd = openSync(s.volume, 'r+');
  try {
    const ba = readRecord(fd, a);
    const bb = readRecord(fd, b);
    assert.ok(!ba.equals(bb));
    writeRecord(fd, a, bb);
    writeRecord(fd, b, ba);
    for (const blk of new Set([...a.segments, ...b.segments].map((x) => x.block))) fixCrc(fd, s.map, blk);
  } finally {
    closeSync(fd);
  }
  const v = assertVolumeVerifyNames(s, [s.tree.random], ['CAIRN_E_MANIFEST_MISMATCH'], [a.segments[0].block, b.segments[0].block], 'swap');
  assert.equal(v.verify.badBlocks, 0);
  assert.equal(v.verify.manifest.mismatched, 2, 'both swapped chunks differ from what was signed for their place');
  assertOnlyDamaged(s, [s.tree.random], ['CAIRN_E_SEAL_BROKEN'], 'swap');
});

test('tampering: a session truncated after a sealed chunk: verify --level volume without a key and restore name the file cut short (and only files past the cut)', async (t) => {
  const s = await encryptedBackup(t);
  const target = s.index(s.tree.random);
  const chunks = s.records.filter((r) => r.fileIndex === target && r.streamType === StreamType.DATA_SEALED);
  // Cut the volume right after the block that ends random.bin's second chunk: its last chunks, its end record and everything after are gone.
  const cutBlock = chunks[1].segments[chunks[1].segments.length - 1].block;
  const after = s.records.filter((r) => r.segments[0].block > cutBlock && r.fileIndex > 0);
  const lost = new Set(after.map((r) => r.fileIndex));
  const lostPaths = [...s.map.files.values()].filter((f) => lost.has(f.fileIndex) || f.fileIndex === target).map((f) => f.path);
  truncateSync(s.volume, (cutBlock + 1) * s.map.blockSize);
  const keyFile = join(s.tmp, 'keys', 'client.key');
  renameSync(keyFile, `${keyFile}.away`);
  const v = cairn(s.repo, ['verify', 'latest', '--level', 'volume', '--json']);
  renameSync(`${keyFile}.away`, keyFile);
  assert.equal(v.status, 3, v.describe);
  assert.equal(v.json.verify.manifest.verified, true, v.describe);
  assert.ok(v.json.verify.manifest.missing > 0, v.describe);
  const verifyNamed = new Set((v.json.problems as Array<{ path?: string }>).map((p) => p.path).filter(Boolean));
  assert.ok(verifyNamed.has(s.tree.random), `verify --level volume names random.bin: ${v.describe}`);
  for (const p of verifyNamed) assert.ok(lostPaths.includes(p!), `verify named ${p}, which had nothing past the cut`);
  const missing = (v.json.problems as Array<{ path?: string; code: string; volume?: string; block?: number }>).filter((p) => p.code === 'CAIRN_E_MANIFEST_MISSING' && p.path);
  assert.ok(missing.some((p) => p.path === s.tree.random && p.volume === s.map.volumeName && p.block! <= cutBlock), `the manifest names random.bin's missing records, due at a block before the cut: ${v.describe}`);
  const to = join(s.tmp, 'out-trunc');
  const r = cairn(s.repo, ['restore', 'latest', '--to', to, '--json']);
  assert.equal(r.status, 3, r.describe);
  const named = new Set((r.json.problems as Array<{ path?: string }>).map((p) => p.path));
  assert.ok(named.has(s.tree.random), `random.bin must be named: ${r.describe}`);
  assert.deepEqual([...verifyNamed].sort(), [...named].sort(), 'verify --level volume and restore name the same files');
  assert.ok(!existsSync(join(to, s.tree.random)), 'nothing of the truncated file is left');
  // Whatever was named is exactly what lies at or after the cut (the cut file, and files wholly after it).
  for (const p of named) assert.ok(lostPaths.includes(p!), `${p} was named but had nothing past the cut`);
  const diffs = compareTrees(s.tree.src, join(to, s.tree.src)).filter((d) => !(d.kind === 'missing' && named.has(join(s.tree.src, d.path))));
  const dirsOnly = diffs.filter((d) => !(named.has(join(s.tree.src, d.path)) && ['mode', 'mtime', 'uid', 'gid'].includes(d.kind)));
  assert.deepEqual(dirsOnly.map(formatDifference), [], 'files before the cut restore byte-exact');
});
