/**
 * Acceptance (issue 5, media workflow): local mode on a vtape autochanger,
 * through the console as a user runs it — `init --vtape` with slots, a pool
 * label template, a backup that spans tapes, `media` listing the drive,
 * slots and volumes with their catalog state, a restore that names the
 * volumes it needs before it starts and restores byte-exact, `label` naming
 * a blank tape by the template and refusing to overwrite a volume in use.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
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
