// The mtx changer driver against a fake `mtx` on PATH that replays recorded
// `mtx status` outputs (test/fixtures/mtx/) and records how it was called.
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../../test/support/temp.js';
import { MtxChanger, parseMtxStatus } from './mtx-changer.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/mtx/', import.meta.url));
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

// The fake: `status` prints DIR/status.txt; `load S D` / `unload S D` print what mtx prints and, when DIR holds
// status-after-load-S-D.txt (…unload…), that becomes the status; DIR/fail makes it fail as mtx does. Every call
// is appended to DIR/calls.log.
const FAKE_MTX = `#!${process.execPath}
const fs = require('node:fs');
const path = require('node:path');
const dir = process.env.FAKE_MTX_DIR;
const args = process.argv.slice(2);
fs.appendFileSync(path.join(dir, 'calls.log'), args.join(' ') + '\\n');
if (args[0] !== '-f' || !args[1]) { process.stderr.write('Usage: mtx -f <device> command\\n'); process.exit(1); }
const [cmd, a, b] = args.slice(2);
if (fs.existsSync(path.join(dir, 'fail'))) { process.stderr.write(fs.readFileSync(path.join(dir, 'fail'), 'utf8')); process.exit(1); }
if (cmd === 'status') { process.stdout.write(fs.readFileSync(path.join(dir, 'status.txt'), 'utf8')); process.exit(0); }
if (cmd === 'load' || cmd === 'unload') {
  process.stdout.write(cmd === 'load' ? 'Loading media from Storage Element ' + a + ' into drive ' + b + '...done\\n' : 'Unloading drive ' + b + ' into Storage Element ' + a + '...done\\n');
  const next = path.join(dir, 'status-after-' + cmd + '-' + a + '-' + b + '.txt');
  if (fs.existsSync(next)) fs.copyFileSync(next, path.join(dir, 'status.txt'));
  process.exit(0);
}
process.stderr.write('mtx: unknown command ' + cmd + '\\n');
process.exit(1);
`;

function fakeMtxOnPath(t: import('node:test').TestContext, status: string): string {
  const bin = tempDir(t, 'cairn-fake-mtx-');
  writeFileSync(join(bin, 'mtx'), FAKE_MTX);
  chmodSync(join(bin, 'mtx'), 0o755);
  copyFileSync(join(FIXTURES, status), join(bin, 'status.txt'));
  const oldPath = process.env.PATH;
  const oldDir = process.env.FAKE_MTX_DIR;
  process.env.PATH = `${bin}${delimiter}${oldPath ?? ''}`;
  process.env.FAKE_MTX_DIR = bin;
  t.after(() => {
    process.env.PATH = oldPath;
    if (oldDir === undefined) delete process.env.FAKE_MTX_DIR;
    else process.env.FAKE_MTX_DIR = oldDir;
  });
  return bin;
}

test('parseMtxStatus: drives with their source slot and tag, slots full/empty with tags, import/export slots', () => {
  assert.deepEqual(parseMtxStatus(fixture('status-lto-8slots.txt')), {
    drives: [{ drive: 0, full: true, slot: 3, tag: 'CRN003L6' }],
    slots: [
      { slot: 1, full: true, tag: 'CRN001L6' },
      { slot: 2, full: true, tag: 'CRN002L6' },
      { slot: 3, full: false },
      { slot: 4, full: true, tag: 'CLN001L1' },
      { slot: 5, full: false },
      { slot: 6, full: true },
      { slot: 7, full: false },
      { slot: 8, full: true, tag: 'CRN008L6', importExport: true },
    ],
  });
  assert.deepEqual(parseMtxStatus(fixture('status-2drives-nobarcode.txt')), {
    drives: [{ drive: 0, full: false }, { drive: 1, full: true }],
    slots: [1, 2, 3, 4, 5, 6].map((slot) => ({ slot, full: [1, 2, 4, 6].includes(slot) })),
  });
  const alt = parseMtxStatus(fixture('status-alternate-tags.txt'));
  assert.deepEqual(alt.drives, [{ drive: 0, full: true, slot: 2, tag: '000042L5' }]);
  assert.deepEqual(alt.slots, [{ slot: 1, full: true, tag: '000041L5' }, { slot: 2, full: false }, { slot: 3, full: true, tag: '000043L5' }, { slot: 4, full: false }]);
  assert.throws(() => parseMtxStatus('mtx: cannot open SCSI device /dev/sg9\n'), { code: 'CAIRN_E_CHANGER_FAILED' });
});

test('MtxChanger runs mtx from PATH: status parsed, load and unload with slot and drive, each as argv', async (t) => {
  const dir = fakeMtxOnPath(t, 'status-lto-8slots.txt');
  copyFileSync(join(FIXTURES, 'status-2drives-nobarcode.txt'), join(dir, 'status-after-unload-3-0.txt'));
  const ch = new MtxChanger({ device: '/dev/sg3' });
  const st = await ch.status();
  assert.equal(st.drives[0].slot, 3);
  await ch.unload(3, 0);
  await ch.load(1, 0);
  assert.deepEqual((await ch.status()).drives, [{ drive: 0, full: false }, { drive: 1, full: true }], 'the status after the unload is the one mtx now reports');
  assert.deepEqual(readFileSync(join(dir, 'calls.log'), 'utf8').trim().split('\n'), ['-f /dev/sg3 status', '-f /dev/sg3 unload 3 0', '-f /dev/sg3 load 1 0', '-f /dev/sg3 status']);
});

test('MtxChanger failures are CAIRN_E_CHANGER_FAILED with the command and what mtx printed; a missing mtx says so', async (t) => {
  const dir = fakeMtxOnPath(t, 'status-lto-8slots.txt');
  writeFileSync(join(dir, 'fail'), 'source Element Address 5 is Empty\n');
  const ch = new MtxChanger({ device: '/dev/sg3' });
  await assert.rejects(ch.load(5, 0), (err: { code: string; fields: Record<string, unknown> }) => {
    assert.equal(err.code, 'CAIRN_E_CHANGER_FAILED');
    assert.equal(err.fields.command, 'mtx -f /dev/sg3 load 5 0');
    assert.equal(err.fields.exitCode, 1);
    assert.match(String(err.fields.stderr), /source Element Address 5 is Empty/);
    return true;
  });
  assert.ok(existsSync(join(dir, 'calls.log')));
  await assert.rejects(new MtxChanger({ device: '/dev/sg3', program: join(dir, 'no-such-mtx') }).status(), (err: Error & { code: string }) => err.code === 'CAIRN_E_CHANGER_FAILED' && /not found/.test(err.message));
});
