/**
 * Acceptance (issue 6): the volume tools and bootstrap restores with
 * client-side encryption — keys from the volumes' start labels, later wraps
 * from keyring files, signed manifests from the MANIFEST records.
 *
 * - Rotate the key, delete the catalog (and the old key file), restore with
 *   `cairn-bextract` plus the exported keyring: byte-exact (with and without
 *   a bootstrap file); `cairn restore --bootstrap --key --keyring` on the
 *   catalog-less repository too; without the keyring the new key is named as
 *   the wrong one before anything is written; `cairn-bscan --keyring` gives a
 *   catalog on which `cairn restore --key NEW` works.
 * - Delete the catalog; `cairn-bscan` rebuilds it from the encrypted volumes
 *   (headers, manifests): `restore --as-at` with `--key` gives the same trees
 *   as before, `verify --level volume` checks the records against the
 *   manifests without a key; `cairn-bextract` with only the volumes and the
 *   key restores byte-exact; a wrong or missing key is refused before writing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { assertTreesEqual, buildTree, file, generateSmallFiles, sparse, symlink, tempDir, writeContentFile } from '../support/index.js';
import { PROJECT_ROOT, cairn, cairnOk, lastJson } from './cli-runner.js';

const MiB = 1024 * 1024;

interface ToolRun {
  status: number | null;
  json: any;
  describe: string;
}

function tool(name: string, args: string[]): ToolRun {
  const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', `${name}.js`), ...args], { cwd: PROJECT_ROOT, encoding: 'utf8', maxBuffer: 256 * MiB, timeout: 5 * 60_000 });
  return { status: r.status, json: lastJson(r.stdout), describe: `${name} ${args.join(' ')} → ${r.status}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}` };
}

function toolOk(name: string, args: string[]): any {
  const r = tool(name, args);
  assert.equal(r.status, 0, r.describe);
  return r.json;
}

function emptyOrAbsent(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).length === 0;
}

async function sourceTree(src: string): Promise<void> {
  await buildTree(src, {
    'big.bin': file(1, 3 * MiB + 123),
    etc: { 'a.conf': file(3, 4000), 'b.conf': file(4, 100), link: symlink('a.conf') },
    data: { 'holes.bin': sparse([[0, 70_000], [3 * MiB, 100_000]], 4 * MiB), 'mid.bin': file(5, 1 * MiB + 7) },
  });
  generateSmallFiles(join(src, 'small'), { count: 120, dirs: 4, minSize: 100, maxSize: 8 * 1024, seed: 3 });
}

function deleteCatalog(repo: string): void {
  for (const f of readdirSync(repo)) if (f.startsWith('catalog.db')) unlinkSync(join(repo, f));
}

/** The volumes copied away from any repository. */
function bareVolumes(repo: string, to: string): string {
  mkdirSync(to);
  for (const v of readdirSync(join(repo, 'volumes'))) if (!v.startsWith('.')) execFileSync('cp', [join(repo, 'volumes', v), join(to, v)]);
  return to;
}

test('key rotated, catalog and old key deleted: cairn-bextract with the exported keyring restores byte-exact; bscan --keyring and restore --bootstrap too', async (t) => {
  const tmp = tempDir(t, 'cairn-e2e-crypt-tools-rot-');
  const repo = join(tmp, 'R');
  const src = join(tmp, 'src');
  await sourceTree(src);
  const oldKey = join(tmp, 'keys', 'old.key');
  const oldFp = cairnOk(repo, ['init', '--encrypt', '--key', oldKey, '--json']).json.fingerprint as string;
  const full = cairnOk(repo, ['backup', src, '--level', 'full', '--json']).json;
  const expected1 = join(tmp, 'expected_1');
  execFileSync('cp', ['-a', src, expected1]);
  writeContentFile(join(src, 'etc', 'a.conf'), 103, 5000);
  unlinkSync(join(src, 'etc', 'b.conf'));
  writeContentFile(join(src, 'new.bin'), 104, 2 * MiB + 1);
  const inc = cairnOk(repo, ['backup', src, '--level', 'incremental', '--json']).json;
  assert.deepEqual(inc.encryption.sealedFor, [oldFp]);
  const expected2 = join(tmp, 'expected_2');
  execFileSync('cp', ['-a', src, expected2]);
  const bsr = join(tmp, 'last.bsr');
  execFileSync('cp', [join(repo, 'bootstrap', readdirSync(join(repo, 'bootstrap'))[0]), bsr]);

  // Rotation: new wraps in the catalog and a keyring; then the keyring is exported, the old key and the catalog deleted.
  const newKey = join(tmp, 'keys', 'new.key');
  const rot = cairnOk(repo, ['key', 'rotate', '--out', newKey, '--json']).json;
  assert.equal(rot.rewrappedJobs, 2);
  const keyring = join(tmp, 'exported-keyring.json');
  assert.equal(cairnOk(repo, ['key', 'export-keyring', keyring, '--json']).json.wraps, 2);
  for (const f of [oldKey, `${oldKey}.pub`]) unlinkSync(f);
  deleteCatalog(repo);
  const bare = bareVolumes(repo, join(tmp, 'bare'));

  // Without the keyring the volumes know only the old key: the new one is named as the wrong one, nothing written.
  const noRing = join(tmp, 'bx-no-keyring');
  const refused = tool('cairn-bextract', [bare, '--to', noRing, '--key', newKey, '--json']);
  assert.notEqual(refused.status, 0, refused.describe);
  assert.equal(refused.json.error?.code, 'CAIRN_E_KEY_WRONG', refused.describe);
  assert.ok(refused.json.error.message.includes(oldFp) && refused.json.error.message.includes(rot.to), refused.json.error.message);
  assert.ok(emptyOrAbsent(noRing), 'nothing written with a key the volumes do not list');

  const bx = toolOk('cairn-bextract', [bare, '--to', join(tmp, 'bx'), '--key', newKey, '--keyring', keyring, '--json']);
  assert.equal(bx.status, 'ok', JSON.stringify(bx));
  assert.deepEqual(bx.chain, [full.jobId, inc.jobId]);
  assertTreesEqual(expected2, join(tmp, 'bx', src));
  const bx1 = toolOk('cairn-bextract', [bare, '--to', join(tmp, 'bx-1'), '--job', String(full.jobId), '--key', newKey, '--keyring', keyring, '--json']);
  assert.equal(bx1.status, 'ok');
  assertTreesEqual(expected1, join(tmp, 'bx-1', src));
  const bxb = toolOk('cairn-bextract', [bare, '--bootstrap', bsr, '--to', join(tmp, 'bx-bsr'), '--key', newKey, '--keyring', keyring, '--json']);
  assert.equal(bxb.status, 'ok', JSON.stringify(bxb));
  assert.deepEqual(bxb.warnings, [], 'the signed manifests were found on the volumes and verified');
  assertTreesEqual(expected2, join(tmp, 'bx-bsr', src));

  // Local mode, catalog gone: the bootstrap file with the new key and the keyring.
  const br = cairnOk(repo, ['restore', '--bootstrap', bsr, '--to', join(tmp, 'bsr'), '--key', newKey, '--keyring', keyring, '--json']).json;
  assert.equal(br.status, 'ok', JSON.stringify(br));
  assertTreesEqual(expected2, join(tmp, 'bsr', src));

  // bscan with the keyring: the rebuilt catalog holds headers, manifests and the later wraps; restore --key NEW works on it.
  deleteCatalog(repo);
  const scan = toolOk('cairn-bscan', ['--repo', repo, '--keyring', keyring, '--json']);
  assert.equal(scan.keyWraps, 2);
  assert.deepEqual(scan.jobs.map((j: any) => [j.jobId, j.encryption?.sealedFor, j.encryption?.manifest]), [[full.jobId, [oldFp], true], [inc.jobId, [oldFp], true]]);
  const again = toolOk('cairn-bscan', ['--repo', repo, '--keyring', keyring, '--json']);
  assert.equal(again.keyWraps, 0, 'the keyring wraps are stored once');
  const r = cairnOk(repo, ['restore', 'latest', '--to', join(tmp, 'after-scan'), '--key', newKey, '--json']).json;
  assert.equal(r.status, 'ok');
  assertTreesEqual(expected2, join(tmp, 'after-scan', src));
});

test('catalog deleted: cairn-bscan rebuilds it from encrypted volumes; restore --as-at --key gives the same trees; keyless volume verify; cairn-bextract with volumes and key byte-exact', async (t) => {
  const tmp = tempDir(t, 'cairn-e2e-crypt-tools-scan-');
  const repo = join(tmp, 'R');
  const src = join(tmp, 'src');
  await sourceTree(src);
  const keys = join(tmp, 'keys');
  const clientKey = join(keys, 'client.key');
  cairnOk(null, ['key', 'generate', '--out', clientKey, '--write-only', `${clientKey}.wo`, '--json']);
  const stranger = join(keys, 'stranger.key');
  cairnOk(null, ['key', 'generate', '--out', stranger, '--json']);
  // A write-only client: the repository itself cannot open its backups; every restore needs --key.
  const fp = cairnOk(repo, ['init', '--encrypt', '--key', `${clientKey}.wo`, '--json']).json.fingerprint as string;
  const points: Array<{ jobId: number; endedAt: string; expected: string }> = [];
  const backup = (level: string) => {
    const b = cairnOk(repo, ['backup', src, '--level', level, '--json']).json;
    assert.equal(b.status, 'ok');
    const expected = join(tmp, `expected_${points.length + 1}`);
    execFileSync('cp', ['-a', src, expected]);
    points.push({ jobId: b.jobId, endedAt: b.endedAt, expected });
  };
  backup('full');
  writeContentFile(join(src, 'etc', 'a.conf'), 203, 4100);
  rmSync(join(src, 'data'), { recursive: true });
  backup('incremental');
  writeContentFile(join(src, 'data'), 205, 900); // a directory became a file
  unlinkSync(join(src, 'small', '000', '0003', 'f0000003.dat'));
  backup('differential');
  const jobsBefore = cairnOk(repo, ['jobs', '--json']).json.filter((j: { type: string }) => j.type === 'backup');
  const bsr = join(tmp, 'last.bsr');
  execFileSync('cp', [join(repo, 'bootstrap', readdirSync(join(repo, 'bootstrap'))[0]), bsr]);

  deleteCatalog(repo);
  const scan = toolOk('cairn-bscan', ['--repo', repo, '--json']);
  assert.deepEqual(scan.jobs.map((j: any) => [j.jobId, j.added, j.encryption?.sealedFor, j.encryption?.signer, j.encryption?.manifest]), points.map((p) => [p.jobId, true, [fp], fp, true]));
  const pick = (j: Record<string, unknown>) => [j.id, j.name, j.level, j.status, j.files, j.bytes, j.sessionId];
  assert.deepEqual(cairnOk(repo, ['jobs', '--json']).json.map(pick), jobsBefore.map(pick), 'the rebuilt jobs are the jobs that were');

  for (const [i, p] of points.entries()) {
    const to = join(tmp, `as-at_${i + 1}`);
    const r = cairnOk(repo, ['restore', 'latest', '--as-at', p.endedAt, '--to', to, '--key', clientKey, '--json']).json;
    assert.equal(r.chain.at(-1), p.jobId);
    assertTreesEqual(p.expected, join(to, src));
  }
  const none = cairn(repo, ['restore', 'latest', '--to', join(tmp, 'no-key'), '--json']);
  assert.equal(none.json?.error?.code, 'CAIRN_E_KEY_NEEDED', none.describe);
  assert.ok(emptyOrAbsent(join(tmp, 'no-key')));
  // The rebuilt catalog's manifests let the SD check every record without a key.
  for (const p of points) {
    const v = cairnOk(repo, ['verify', String(p.jobId), '--level', 'volume', '--json']).json;
    assert.equal(v.status, 'ok', JSON.stringify(v.problems));
    assert.equal(v.verify.manifest.verified, true);
    assert.equal(v.verify.manifest.matched, v.verify.manifest.listed);
    assert.ok(v.verify.manifest.listed > 0);
  }
  // The client's public key file as the signer anchor (a rebuilt catalog's header came from the volumes).
  const anchored = cairnOk(repo, ['verify', String(points[0].jobId), '--level', 'volume', '--key', `${clientKey}.pub`, '--json']).json;
  assert.equal(anchored.verify.manifest.verified, true);
  assert.equal(anchored.verify.manifest.signer, fp);

  // cairn-bextract: only the volumes and the key.
  const bare = bareVolumes(repo, join(tmp, 'bare'));
  const last = points[points.length - 1];
  const bx = toolOk('cairn-bextract', [bare, '--to', join(tmp, 'bx'), '--key', clientKey, '--json']);
  assert.equal(bx.status, 'ok', JSON.stringify(bx));
  assert.equal(bx.chain.at(-1), last.jobId);
  assertTreesEqual(last.expected, join(tmp, 'bx', src));
  const wrong = tool('cairn-bextract', [bare, '--to', join(tmp, 'bx-wrong'), '--key', stranger, '--json']);
  assert.equal(wrong.json?.error?.code, 'CAIRN_E_KEY_WRONG', wrong.describe);
  assert.ok(emptyOrAbsent(join(tmp, 'bx-wrong')), 'nothing written with the wrong key');
  const wo = tool('cairn-bextract', [bare, '--to', join(tmp, 'bx-wo'), '--key', `${clientKey}.wo`, '--json']);
  assert.equal(wo.json?.error?.code, 'CAIRN_E_KEY_NEEDED', wo.describe);
  assert.ok(emptyOrAbsent(join(tmp, 'bx-wo')));
  const bxb = toolOk('cairn-bextract', [bare, '--bootstrap', bsr, '--to', join(tmp, 'bx-bsr'), '--key', clientKey, '--json']);
  assert.equal(bxb.status, 'ok', JSON.stringify(bxb));
  assertTreesEqual(last.expected, join(tmp, 'bx-bsr', src));
  const wrongBsr = tool('cairn-bextract', [bare, '--bootstrap', bsr, '--to', join(tmp, 'bx-bsr-wrong'), '--key', stranger, '--json']);
  assert.equal(wrongBsr.json?.error?.code, 'CAIRN_E_KEY_WRONG', wrongBsr.describe);
  assert.ok(emptyOrAbsent(join(tmp, 'bx-bsr-wrong')));
  // With --include: the bootstrap narrowed through a scan of the volumes.
  const bxi = toolOk('cairn-bextract', [bare, '--bootstrap', bsr, '--include', join(src, 'etc'), '--to', join(tmp, 'bx-etc'), '--key', clientKey, '--json']);
  assert.equal(bxi.status, 'ok');
  assertTreesEqual(join(last.expected, 'etc'), join(tmp, 'bx-etc', src, 'etc'));
  assert.ok(!existsSync(join(tmp, 'bx-etc', src, 'big.bin')));

  // An empty (unencrypted) repository holding only the volumes: the bootstrap file and the key.
  const empty = join(tmp, 'E');
  cairnOk(empty, ['init', '--json']);
  rmSync(join(empty, 'volumes'), { recursive: true });
  execFileSync('cp', ['-a', bare, join(empty, 'volumes')]);
  const br = cairnOk(empty, ['restore', '--bootstrap', bsr, '--to', join(tmp, 'bsr-out'), '--key', clientKey, '--json']).json;
  assert.equal(br.status, 'ok', JSON.stringify(br));
  assertTreesEqual(last.expected, join(tmp, 'bsr-out', src));
});
