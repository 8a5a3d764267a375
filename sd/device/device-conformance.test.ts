// The device conformance suite (sd/testing/device-conformance.ts) on every
// device kind of the registry: file, vtape (VtapeDrive in a vtape changer),
// and tape — NativeTapeDrive through the real addon over the LD_PRELOAD st
// shim, which can only be preloaded into a new process: this file is also
// the child suite when it runs under the shim.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { requireTool, tempDir } from '../../test/support/temp.js';
import { SHIM_DEVICE_PREFIX, buildTapeShim, runUnderShim, underShim } from '../../test/support/tape-shim.js';
import { deviceConformance } from '../testing/device-conformance.js';
import { createDevice } from './registry.js';
import { VtapeChanger } from './vtape-changer.js';

if (underShim()) {
  const dir = process.env.CAIRN_TAPE_SHIM_DIR as string;
  let n = 0;
  deviceConformance('tape (NativeTapeDrive over the st shim, vtape changer)', {
    async device(_t, o) {
      // The shim's drives are /dev/nst-cairn-NAME over DIR/NAME: the changer moves slot files to that name.
      const drive = `d${process.pid}-${n++}`;
      const slots = join(dir, `${drive}-slots`);
      const changer = new VtapeChanger({ path: slots, slots: o.slots, drives: [`../${drive}`] });
      await changer.populate({ capacity: o.capacity, earlyWarning: 0 });
      return createDevice({ type: 'tape', path: SHIM_DEVICE_PREFIX + drive, changer: { type: 'vtape', path: slots, slots: o.slots, drives: [`../${drive}`] }, blockSize: o.blockSize, openRetryMs: 10 });
    },
  });
} else {
  const fileDirs = new WeakMap<object, string>();
  deviceConformance('file', {
    async device(t) {
      const dir = tempDir(t, 'cairn-devconf-');
      const d = createDevice({ type: 'file', dir });
      fileDirs.set(d, dir);
      return d;
    },
    spec: (d) => ({ type: 'file', dir: fileDirs.get(d)! }),
  });

  deviceConformance('vtape (VtapeDrive, vtape changer)', {
    async device(t, o) {
      const dir = tempDir(t, 'cairn-devconf-vt-');
      await new VtapeChanger({ path: dir, slots: o.slots }).populate({ capacity: o.capacity, earlyWarning: 0 });
      return createDevice({ type: 'vtape', path: dir, slots: o.slots, blockSize: o.blockSize, openRetryMs: 10 });
    },
  });

  test('device conformance passes for the tape device: NativeTapeDrive through the addon over the LD_PRELOAD st shim (child process)', async (t) => {
    if (!requireTool('cc', t)) return;
    const lib = buildTapeShim();
    // The shim's device names must not hold a '/', so its folder is short and the drives' files live in it.
    const dir = mkdtempSync(join(tmpdir(), 'cairn-devshim-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const r = await runUnderShim(lib, dir, ['--test', '--test-reporter=tap', fileURLToPath(import.meta.url)]);
    const summary = r.stdout.split('\n').filter((l) => /^# (tests|pass|fail|skipped)/.test(l));
    for (const l of summary) t.diagnostic(`child: ${l.slice(2)}`);
    assert.equal(r.code, 0, `child suite failed:\n${r.stdout.slice(-6000)}\n${r.stderr.slice(-2000)}`);
    assert.ok(summary.includes('# fail 0') && summary.includes('# pass 6'), summary.join(' '));
  });
}
