/**
 * An encrypted job whose signed manifest begins on one volume and ends on the
 * next, restored with no catalog from its bootstrap file: the manifest's
 * first fragments sit at the tail of the range the bootstrap reads, the rest
 * in a range that holds none of the files (named on the bootstrap's `tail`
 * line, docs/bootstrap.md). `cairn restore --bootstrap` and `cairn-bextract
 * --bootstrap` join the two (one scan state across the volume change) and
 * check every attribute against it: no CAIRN_W_MANIFEST, byte-exact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, unlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { StreamType } from '../../plugin-api/index.js';
import { assertTreesEqual, generateSmallFiles, tempDir } from '../support/index.js';
import { PROJECT_ROOT, cairnOk, lastJson } from './cli-runner.js';
import { mapVolume, recordPlaces } from './volume-map.js';

const BS = 64 * 1024;

function repoWith(repo: string, key: string, settings: Record<string, number>): void {
  cairnOk(repo, ['init', '--encrypt', '--key', key]);
  const file = join(repo, 'cairn-repo.json');
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  Object.assign(doc.settings, settings);
  writeFileSync(file, JSON.stringify(doc, null, 2));
}

const volumesOf = (repo: string) => readdirSync(join(repo, 'volumes')).filter((v) => !v.startsWith('.')).sort();
const manifestOn = (volume: string) => recordPlaces(mapVolume(volume)).filter((r) => r.fileIndex === 0 && r.streamType === StreamType.MANIFEST);

test('a signed manifest split across two volumes is joined for a catalog-less bootstrap restore and bextract', async (t) => {
  const tmp = tempDir(t, 'cairn-manifest-split-');
  const src = join(tmp, 'src');
  generateSmallFiles(src, { count: 3000, dirs: 10, minSize: 10, maxSize: 3000, seed: 9 });
  const key = join(tmp, 'client.key');
  cairnOk(null, ['key', 'generate', '--out', key]);

  // Where the manifest lies when nothing stops the volume: its blocks.
  const probe = join(tmp, 'probe');
  repoWith(probe, key, { blockSize: BS });
  cairnOk(probe, ['backup', src, '--level', 'full']);
  const [whole] = manifestOn(join(probe, 'volumes', volumesOf(probe)[0]));
  const blocks = [...new Set(whole.segments.map((s) => s.block))];
  assert.ok(blocks.length >= 3, `the manifest spans several blocks: ${blocks.join(',')}`);

  // The same backup with the first volume full two blocks into the manifest.
  const repo = join(tmp, 'repo');
  repoWith(repo, key, { blockSize: BS, maxVolumeBytes: (blocks[0] + 2) * BS });
  const b = cairnOk(repo, ['backup', src, '--level', 'full', '--json']).json;
  assert.deepEqual(b.volumes, ['Default-0001', 'Default-0002']);
  const [head] = manifestOn(join(repo, 'volumes', 'Default-0001'));
  assert.ok(head && head.segments.reduce((n, s) => n + s.length, 0) < head.total, 'the first volume holds the manifest\'s beginning only');
  const bsr = join(tmp, 'job.bsr');
  copyFileSync(join(repo, 'bootstrap', readdirSync(join(repo, 'bootstrap'))[0]), bsr);
  const text = readFileSync(bsr, 'utf8');
  assert.match(text, /^volume name=Default-0001 .* indexes=1-/m);
  assert.match(text, /^tail name=Default-0002 startfile=0 startblock=1 /m, text);
  assert.doesNotMatch(text, /^volume name=Default-0002/m, 'no file of the job is on the second volume');

  for (const f of readdirSync(repo)) if (f.startsWith('catalog.db')) unlinkSync(join(repo, f));
  const r = cairnOk(repo, ['restore', '--bootstrap', bsr, '--to', join(tmp, 'out'), '--key', key, '--json']).json;
  assert.equal(r.status, 'ok', JSON.stringify(r.warnings));
  assert.deepEqual(r.warnings, []);
  assertTreesEqual(src, join(tmp, 'out', src));

  const bare = join(tmp, 'bare');
  mkdirSync(bare);
  for (const v of volumesOf(repo)) copyFileSync(join(repo, 'volumes', v), join(bare, v));
  const bx = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'cairn-bextract.js'), bare, '--bootstrap', bsr, '--to', join(tmp, 'bx'), '--key', key, '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(bx.status, 0, bx.stderr.slice(-2000));
  const bj = lastJson(bx.stdout) as { status: string; warnings: unknown[] };
  assert.equal(bj.status, 'ok', JSON.stringify(bj.warnings));
  assertTreesEqual(src, join(tmp, 'bx', src));
});
