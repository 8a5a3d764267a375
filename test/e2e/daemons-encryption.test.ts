/**
 * Acceptance (issue 6, network mode): an encrypted backup through the three
 * daemons — the FD's cairn-fd.yaml `encryption: { keyFile }` — restores
 * byte-exact through the Director (the FD opens it with its own key); no
 * plaintext of a marker file is on the SD's volume; `verify --level volume`
 * through the Director console has the SD check every stored record against
 * the job's signed manifest without any key, and after a sealed chunk is
 * altered on the SD (its block CRC fixed up) it names that file with volume
 * and block; `--level data` (the FD with its key) names it too. A
 * write-only FD backs up and signs but cannot restore (CAIRN_E_KEY_NEEDED);
 * `restore --client` onto a recovery FD holding the private key works.
 */
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { StreamType } from '../../plugin-api/index.js';
import { assertTreesEqual, buildTree, file, generateSmallFiles, tempDir } from '../support/index.js';
import { PROJECT_ROOT, cairnOk } from './cli-runner.js';
import { editYaml, startDaemonSet, startExtraFd, findFiles } from './daemon-set.js';
import { freeLoopbackPorts } from '../../config/index.js';
import { fixCrc, mapVolume, recordPlaces } from './volume-map.js';

const MARKER = Buffer.from('<<CAIRN-NET-MARKER:0f1e2d3c4b5a69788796a5b4c3d2e1f0-network-mode-test>>', 'latin1').subarray(0, 64);

test('three daemons, encrypted FD: backup and restore byte-exact; verify --level volume through the Director checks the signed manifest without a key and names an altered file', async (t) => {
  const tmp = tempDir(t, 'cairn-daemons-crypt-');
  const src = join(tmp, 'src');
  await buildTree(src, { 'big.bin': file(1, 3 * 1024 * 1024 + 1), etc: { 'a.conf': file(2, 500) } });
  generateSmallFiles(join(src, 'small'), { count: 120, dirs: 4, minSize: 10, maxSize: 9000, seed: 5 });
  writeFileSync(join(src, 'marker.bin'), Buffer.concat(Array.from({ length: 2048 }, () => MARKER)));
  writeFileSync(join(src, 'random.bin'), randomBytes(3 * 1024 * 1024));
  const keyFile = join(tmp, 'keys', 'client.key');
  const fp = cairnOk(null, ['key', 'generate', '--out', keyFile, '--json']).json.fingerprint as string;
  const d = await startDaemonSet(t, join(tmp, 'conf'), { source: src, edit: { fd: (doc) => (doc.encryption = { keyFile }) } });

  const full = d.console(['run', 'demo', '--wait', '--json']);
  assert.equal(full.status, 0, full.describe);
  assert.equal(full.json.status, 'ok', full.describe);
  const volumes = findFiles(d.dir, (n) => /-\d{4}$/.test(n));
  assert.equal(volumes.length, 1, volumes.join(', '));
  const bytes = readFileSync(volumes[0]);
  for (let o = 0; o + 16 <= MARKER.length; o += 8) assert.ok(!bytes.includes(MARKER.subarray(o, o + 16)), `marker piece ${o} on the SD's volume`);

  const out = join(tmp, 'out');
  const rest = d.console(['restore', 'latest', '--job', 'demo', '--to', out, '--wait', '--json']);
  assert.equal(rest.status, 0, rest.describe);
  assert.equal(rest.json.status, 'ok', rest.describe);
  assertTreesEqual(src, join(out, src));

  const vol = d.console(['verify', 'latest', '--job-name', 'demo', '--level', 'volume', '--wait', '--json']);
  assert.equal(vol.status, 0, vol.describe);
  assert.equal(vol.json.verify.level, 'volume');
  assert.equal(vol.json.verify.manifest?.verified, true, vol.describe);
  assert.equal(vol.json.verify.manifest.signer, fp);
  assert.equal(vol.json.verify.manifest.matched, vol.json.verify.manifest.listed);
  const data = d.console(['verify', 'latest', '--job-name', 'demo', '--level', 'data', '--wait', '--json']);
  assert.equal(data.status, 0, data.describe);

  // One byte of a sealed chunk of random.bin altered on the SD, the block CRC fixed up.
  const map = mapVolume(volumes[0]);
  const target = [...map.files.values()].find((f) => f.path === join(src, 'random.bin'));
  assert.ok(target);
  const chunk = recordPlaces(map).filter((r) => r.fileIndex === target.fileIndex && r.streamType === StreamType.DATA_SEALED)[1];
  assert.ok(chunk, 'random.bin has a second sealed chunk');
  const seg = chunk.segments[0];
  const fd = openSync(volumes[0], 'r+');
  try {
    const one = Buffer.alloc(1);
    readSync(fd, one, 0, 1, seg.at + 10);
    one[0] ^= 0x40;
    writeSync(fd, one, 0, 1, seg.at + 10);
    fixCrc(fd, map, seg.block);
  } finally {
    closeSync(fd);
  }
  const bad = d.console(['verify', String(full.json.jobId), '--level', 'volume', '--wait', '--json']);
  assert.equal(bad.status, 3, bad.describe);
  assert.equal(bad.json.verify.badBlocks, 0, 'the CRC was fixed up: only the manifest can tell');
  const named = bad.json.problems.filter((p: { path?: string }) => p.path);
  assert.deepEqual([...new Set(named.map((p: { path: string }) => p.path))], [join(src, 'random.bin')], bad.describe);
  assert.ok(named.every((p: { code: string; volume: string; block: number }) => p.code === 'CAIRN_E_MANIFEST_MISMATCH' && p.volume === map.volumeName && p.block === seg.block), bad.describe);
  const badData = d.console(['verify', String(full.json.jobId), '--level', 'data', '--wait', '--json']);
  assert.equal(badData.status, 3, badData.describe);
  assert.ok(badData.json.problems.some((p: { path?: string; code: string }) => p.path === join(src, 'random.bin') && p.code === 'CAIRN_E_SEAL_BROKEN'), badData.describe);
  for (const k of ['dir', 'fd', 'sd'] as const) assert.equal(await d.stop(k), 0, d.log(k).slice(-2000));
});

test('three daemons, encrypted FD, manifests in pieces (protocol.md §9.3): the backup outcome and the restore order name the manifest by size; backup, restore, verify data and volume work', async (t) => {
  // A 1000-byte inline limit, inherited by the daemons: this job's manifest (≈ 150 records) travels in pieces both ways.
  process.env.CAIRN_MANIFEST_INLINE_BYTES = '1000';
  t.after(() => delete process.env.CAIRN_MANIFEST_INLINE_BYTES);
  const tmp = tempDir(t, 'cairn-daemons-crypt-pieces-');
  const src = join(tmp, 'src');
  await buildTree(src, { 'big.bin': file(1, 2 * 1024 * 1024 + 3), etc: { 'a.conf': file(2, 500) } });
  generateSmallFiles(join(src, 'small'), { count: 120, dirs: 4, minSize: 10, maxSize: 9000, seed: 6 });
  const keyFile = join(tmp, 'keys', 'client.key');
  const fp = cairnOk(null, ['key', 'generate', '--out', keyFile, '--json']).json.fingerprint as string;
  const d = await startDaemonSet(t, join(tmp, 'conf'), { source: src, edit: { fd: (doc) => (doc.encryption = { keyFile }) } });
  const full = d.console(['run', 'demo', '--wait', '--json']);
  assert.equal(full.json.status, 'ok', full.describe);
  // The Director fetched the whole manifest: verify --level volume checks every record against the catalog's copy.
  const vol = d.console(['verify', 'latest', '--job-name', 'demo', '--level', 'volume', '--wait', '--json']);
  assert.equal(vol.json.status, 'ok', vol.describe);
  assert.equal(vol.json.verify.manifest?.verified, true, vol.describe);
  assert.equal(vol.json.verify.manifest.signer, fp);
  assert.ok(vol.json.verify.manifest.listed > 0 && vol.json.verify.manifest.matched === vol.json.verify.manifest.listed, vol.describe);
  assert.match(d.log('fd'), /signed manifest held for the Director to fetch in pieces/);
  // The FD fetched it from the Director for the restore (it checks attributes against it) and for verify data.
  const out = join(tmp, 'out');
  const rest = d.console(['restore', 'latest', '--job', 'demo', '--to', out, '--wait', '--json']);
  assert.equal(rest.json.status, 'ok', rest.describe);
  assertTreesEqual(src, join(out, src));
  const data = d.console(['verify', 'latest', '--job-name', 'demo', '--level', 'data', '--wait', '--json']);
  assert.equal(data.json.status, 'ok', data.describe);
  assert.equal(d.log('fd').match(/signed manifest fetched from the Director in pieces/g)?.length, 2, 'the restore and the data verify');
  for (const k of ['dir', 'fd', 'sd'] as const) assert.equal(await d.stop(k), 0, d.log(k).slice(-2000));
});

test('three daemons, write-only FD: it backs up and signs, cannot restore its own jobs (CAIRN_E_KEY_NEEDED, nothing written); a restore onto a recovery FD holding the private key is byte-exact', async (t) => {
  const tmp = tempDir(t, 'cairn-daemons-wo-');
  const src = join(tmp, 'src');
  await buildTree(src, { 'big.bin': file(7, 2 * 1024 * 1024 + 5), etc: { 'a.conf': file(8, 700) } });
  generateSmallFiles(join(src, 'small'), { count: 60, dirs: 3, minSize: 10, maxSize: 9000, seed: 8 });
  const keyFile = join(tmp, 'keys', 'client.key');
  const woFile = join(tmp, 'keys', 'client.wo');
  const fp = cairnOk(null, ['key', 'generate', '--out', keyFile, '--write-only', woFile, '--json']).json.fingerprint as string;
  const [recoveryPort] = await freeLoopbackPorts(1);
  const d = await startDaemonSet(t, join(tmp, 'conf'), {
    source: src,
    edit: {
      fd: (doc) => (doc.encryption = { keyFile: woFile }),
      dir: (doc) => doc.clients.push({ ...doc.clients[0], name: 'recovery', port: recoveryPort }),
    },
  });
  // The recovery FD: the same Director, the private key.
  await startExtraFd(t, d, { name: 'recovery', port: recoveryPort, edit: (doc) => (doc.encryption = { keyFile }) });

  const full = d.console(['run', 'demo', '--wait', '--json']);
  assert.equal(full.json.status, 'ok', full.describe);
  const vol = d.console(['verify', 'latest', '--job-name', 'demo', '--level', 'volume', '--wait', '--json']);
  assert.equal(vol.json.verify.manifest?.verified, true, 'the write-only FD signed the manifest');
  assert.equal(vol.json.verify.manifest.signer, fp);

  const own = join(tmp, 'own');
  const refused = d.console(['restore', 'latest', '--job', 'demo', '--to', own, '--wait', '--json']);
  assert.notEqual(refused.status, 0, refused.describe);
  assert.equal(refused.json.error?.code, 'CAIRN_E_KEY_NEEDED', refused.describe);
  assert.ok(!existsSync(own) || readdirSync(own).length === 0, 'nothing written by the write-only FD');

  const out = join(tmp, 'out');
  const ok = d.console(['restore', 'latest', '--job', 'demo', '--client', 'recovery', '--to', out, '--wait', '--json']);
  assert.equal(ok.json.status, 'ok', ok.describe);
  assertTreesEqual(src, join(out, src));
});

test('three daemons, key rotation for a client: its FD re-wraps its jobs to the new key (catalog + keyring), the FD switched to the new key restores the old job, bextract with the volumes, the new key and the keyring too', async (t) => {
  const tmp = tempDir(t, 'cairn-daemons-rotate-');
  const src = join(tmp, 'src');
  await buildTree(src, { 'big.bin': file(11, 1024 * 1024 + 9), etc: { 'a.conf': file(12, 400) } });
  const oldKey = join(tmp, 'keys', 'old.key');
  const newKey = join(tmp, 'keys', 'new.key');
  cairnOk(null, ['key', 'generate', '--out', oldKey]);
  const to = cairnOk(null, ['key', 'generate', '--out', newKey, '--json']).json.fingerprint as string;
  const d = await startDaemonSet(t, join(tmp, 'conf'), { source: src, edit: { fd: (doc) => (doc.encryption = { keyFile: oldKey }) } });
  const full = d.console(['run', 'demo', '--level', 'full', '--wait', '--json']);
  assert.equal(full.json.status, 'ok', full.describe);

  const keyring = join(tmp, 'keyring.json');
  const rot = d.console(['key', 'rotate', '--client', 'local-fd', '--new', `${newKey}.pub`, '--keyring', keyring, '--json']);
  assert.equal(rot.status, 0, rot.describe);
  assert.deepEqual([rot.json.to, rot.json.rewrapped, rot.json.skipped, rot.json.failed], [to, 1, 0, []]);
  assert.ok(existsSync(keyring));
  const again = d.console(['key', 'rotate', '--client', 'local-fd', '--new', `${newKey}.pub`, '--keyring', keyring, '--json']);
  assert.deepEqual([again.json.rewrapped, again.json.skipped], [0, 1], 'already wrapped to that key');

  // The FD now holds only the new key: the old job opens through the catalog's new wrap.
  assert.equal(await d.stop('fd'), 0);
  editYaml(d.qs.files.fd, (doc) => (doc.encryption = { keyFile: newKey }));
  await d.start('fd');
  const out = join(tmp, 'out');
  const rest = d.console(['restore', String(full.json.jobId), '--to', out, '--wait', '--json']);
  assert.equal(rest.json.status, 'ok', rest.describe);
  assertTreesEqual(src, join(out, src));
  // And from the volumes alone: the new key plus the keyring.
  const bx = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'cairn-bextract.js'), join(d.dir, 'volumes'), '--to', join(tmp, 'bx'), '--key', newKey, '--keyring', keyring, '--json'], { encoding: 'utf8' });
  assert.equal(bx.status, 0, bx.stdout.slice(-2000) + bx.stderr.slice(-2000));
  assertTreesEqual(src, join(tmp, 'bx', src));
  const next = d.console(['run', 'demo', '--wait', '--json']);
  assert.equal(next.json.status, 'ok', next.describe);
});
