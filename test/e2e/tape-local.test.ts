/**
 * Acceptance (issue 5, media workflow): local mode on a vtape autochanger,
 * through the console as a user runs it — `init --vtape` with slots, a pool
 * label template, a backup that spans tapes, `media` listing the drive,
 * slots and volumes with their catalog state, a restore that names the
 * volumes it needs before it starts and restores byte-exact, `label` naming
 * a blank tape by the template and refusing to overwrite a volume in use.
 * An encrypted repository on tapes: sealed on the tapes, restored from the
 * catalog and, with no catalog, from its bootstrap file (header and manifest
 * read from the tapes through the SD's device).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertTreesEqual, contentBytes, tempDir } from '../support/index.js';
import { cairn, cairnOk } from './cli-runner.js';

test('local mode on a vtape changer: backup spans tapes named by the label template; media, restore listing its volumes, label', async (t) => {
  const base = tempDir(t, 'cairn-tape-local-');
  const repo = join(base, 'repo');
  const src = join(base, 'src');
  mkdirSync(join(src, 'sub'), { recursive: true });
  for (let i = 0; i < 5; i++) writeFileSync(join(src, `big-${i}.bin`), contentBytes(i, 0, 600_000));
  for (let i = 0; i < 40; i++) writeFileSync(join(src, 'sub', `small-${i}.txt`), contentBytes(100 + i, 0, 3000));

  cairnOk(repo, ['init', '--vtape', 'tapes', '--slots', '5', '--capacity', String(1536 * 1024), '--filemark-bytes', String(512 * 1024), '--json']);
  cairnOk(repo, ['pool', 'set', 'Default', '--label-format', 'Weekly-${Year}-${Counter:4}', '--json']);
  const backup = cairnOk(repo, ['backup', src, '--level', 'full', '--json']).json as { status: string; volumes?: string[] };
  assert.equal(backup.status, 'ok');

  const media = cairnOk(repo, ['media', '--json']).json as { state: string; volumes: Array<{ name: string; status: string; pool: string }>; slots: Array<{ slot: number; volume?: string }> };
  assert.equal(media.state, 'idle');
  const names = media.volumes.map((v) => v.name);
  assert.ok(names.length >= 2, `the backup spanned tapes: ${names.join(', ')}`);
  for (const n of names) assert.match(n, /^Weekly-\d{4}-\d{4}$/, 'named by the pool\'s label template');
  assert.ok(media.volumes.some((v) => v.status === 'full'), 'a tape that filled up is Full');

  const out = join(base, 'out');
  const restore = cairn(repo, ['restore', 'latest', '--to', out, '--json']);
  assert.equal(restore.status, 0, restore.describe);
  const firstLine = JSON.parse(restore.stderr.split('\n')[0]) as { event: string; volumes: string[] };
  assert.equal(firstLine.event, 'volumes', `the restore names its volumes before anything else:\n${restore.stderr}`);
  assert.deepEqual([...firstLine.volumes].sort(), [...names].sort());
  assert.deepEqual(restore.json.volumes, firstLine.volumes, 'and in its report');
  assertTreesEqual(src, join(out, src));

  // label: a blank tape gets the template's next name; a tape holding a volume in use is not overwritten.
  const blankSlot = cairnOk(repo, ['media', '--scan', '--json']).json.slots.find((s: { volume?: string }) => s.volume === '')?.slot as number;
  assert.ok(blankSlot, 'a blank tape remains');
  const labelled = cairnOk(repo, ['label', '--slot', String(blankSlot), '--json']).json as { volume: string };
  assert.match(labelled.volume, /^Weekly-\d{4}-\d{4}$/);
  assert.ok(!names.includes(labelled.volume));
  const usedSlot = (cairnOk(repo, ['media', '--json']).json.slots as Array<{ slot: number; volume?: string }>).find((s) => s.volume === names[0])?.slot;
  const refused = cairn(repo, ['label', 'Other-0001', '--slot', String(usedSlot), '--json']);
  assert.notEqual(refused.status, 0);
  assert.equal(refused.json?.error?.code, 'CAIRN_E_VOLUME_LABELLED', refused.describe);
});

test('an encrypted repository on a vtape changer: backups span tapes sealed, the catalog restore and a catalog-less bootstrap restore (header and manifest read from the tapes) are byte-exact; a wrong key is refused before writing', async (t) => {
  const base = tempDir(t, 'cairn-tape-crypt-');
  const repo = join(base, 'repo');
  const src = join(base, 'src');
  mkdirSync(join(src, 'sub'), { recursive: true });
  for (let i = 0; i < 4; i++) writeFileSync(join(src, `big-${i}.bin`), contentBytes(i, 0, 700_000));
  for (let i = 0; i < 300; i++) writeFileSync(join(src, 'sub', `small-${i}.txt`), contentBytes(100 + i, 0, 1500));
  const key = join(base, 'client.key');
  const stranger = join(base, 'stranger.key');
  cairnOk(null, ['key', 'generate', '--out', stranger]);
  const init = cairnOk(repo, ['init', '--encrypt', '--key', key, '--vtape', 'tapes', '--slots', '5', '--capacity', String(1536 * 1024), '--filemark-bytes', String(256 * 1024), '--json']).json;
  assert.equal(init.encrypted, true);
  const backup = cairnOk(repo, ['backup', src, '--level', 'full', '--json']).json as { status: string; volumes: string[] };
  assert.equal(backup.status, 'ok');
  assert.ok(backup.volumes.length >= 2, `the backup spanned tapes: ${backup.volumes.join(', ')}`);
  // Sealed on the tapes: no stretch of a source file is in any vtape file.
  const marker = contentBytes(2, 1000, 64);
  for (const f of readdirSync(join(repo, 'tapes'))) assert.ok(!readFileSync(join(repo, 'tapes', f)).includes(marker), `plaintext in ${f}`);

  const out = join(base, 'out');
  assert.equal(cairnOk(repo, ['restore', 'latest', '--to', out, '--json']).json.status, 'ok');
  assertTreesEqual(src, join(out, src));

  // No catalog: the bootstrap file, the key, and the tapes; the session's header and manifest come from the tapes.
  const bsr = join(base, 'job.bsr');
  copyFileSync(join(repo, 'bootstrap', readdirSync(join(repo, 'bootstrap'))[0]), bsr);
  for (const f of readdirSync(repo)) if (f.startsWith('catalog.db')) unlinkSync(join(repo, f));
  const wrong = cairn(repo, ['restore', '--bootstrap', bsr, '--to', join(base, 'wrong'), '--key', stranger, '--json']);
  assert.equal(wrong.json?.error?.code, 'CAIRN_E_KEY_WRONG', wrong.describe);
  assert.ok(!existsSync(join(base, 'wrong')) || readdirSync(join(base, 'wrong')).length === 0, 'nothing written with the wrong key');
  const r = cairnOk(repo, ['restore', '--bootstrap', bsr, '--to', join(base, 'bsr'), '--key', key, '--json']).json;
  assert.equal(r.status, 'ok', JSON.stringify(r.warnings));
  assert.deepEqual(r.warnings, [], 'the signed manifest was found on the tapes: no CAIRN_W_MANIFEST');
  assertTreesEqual(src, join(base, 'bsr', src));
});
