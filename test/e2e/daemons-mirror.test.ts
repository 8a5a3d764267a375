/**
 * Issue 3 item 6: a job writes a mirrored copy to a second device of its SD
 * at the same time. The copy has its own volumes (its device's media type)
 * and job-media rows (copy 1); with the primary volumes gone, `restore
 * --copy 1` restores byte-exact from the mirror.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { assertTreesEqual, generateSmallFiles, tempDir } from '../support/index.js';
import { startDaemonSet } from './daemon-set.js';

const volumesIn = (dir: string) => readdirSync(dir).filter((n) => !n.startsWith('.'));

test('a mirrored job writes both devices at once; with the primary volumes lost, restore --copy 1 is byte-exact', async (t) => {
  const tmp = tempDir(t, 'cairn-mirror-');
  const src = join(tmp, 'src');
  generateSmallFiles(src, { count: 800, dirs: 8, minSize: 10, maxSize: 60_000, seed: 17 });
  let primaryDir = '';
  const mirrorDir = join(tmp, 'mirror-volumes');
  const d = await startDaemonSet(t, join(tmp, 'conf'), {
    source: src,
    edit: {
      sd: (x) => {
        const p: string = x.devices[0].path;
        primaryDir = isAbsolute(p) ? p : join(tmp, 'conf', p);
        x.devices.push({ name: 'Mirror', mediaType: 'FileMirror', path: mirrorDir });
      },
      dir: (x) => (x.jobs[0].mirrorDevice = 'Mirror'),
    },
  });
  const full = d.console(['run', 'demo', '--wait', '--json']);
  assert.equal(full.status, 0, full.describe);
  assert.equal(full.json.status, 'ok');
  assert.equal(full.json.mirror[0].device, 'Mirror');
  const mirrorVolumes = volumesIn(mirrorDir);
  assert.deepEqual(mirrorVolumes, full.json.mirror[0].volumes, 'the copy is on the mirror device');
  assert.ok(full.json.volumes.every((v: string) => !mirrorVolumes.includes(v)), 'primary and copy use different volumes');

  // The primary is good: a plain restore reads it.
  const out1 = join(tmp, 'out1');
  const r1 = d.console(['restore', 'latest', '--job', 'demo', '--to', out1, '--wait', '--json']);
  assert.equal(r1.status, 0, r1.describe);
  assertTreesEqual(src, join(out1, src));

  // The primary volumes are lost: the mirror restores everything.
  for (const v of full.json.volumes as string[]) rmSync(join(primaryDir, v));
  const lost = d.console(['restore', 'latest', '--job', 'demo', '--to', join(tmp, 'out-lost'), '--wait', '--json']);
  assert.notEqual(lost.status, 0, 'without its volumes the primary cannot be read');
  const out2 = join(tmp, 'out2');
  const r2 = d.console(['restore', 'latest', '--job', 'demo', '--to', out2, '--copy', '1', '--wait', '--json']);
  assert.equal(r2.status, 0, r2.describe);
  assertTreesEqual(src, join(out2, src));
});
