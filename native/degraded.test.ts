// Tests of the degraded file services (no addon) and of the loader's
// messages for a missing or unloadable binary. Degraded mode is forced with
// the `forceDegraded` hook, so these run whether or not the addon is built.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CairnError, isCairnError } from '../plugin-api/index.js';
import { loadBinding } from './binding.js';
import { DEGRADED_SERVICES, NATIVE_ERRORS, NativeError, platformFileServices } from './index.js';

function tmpdir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-degraded-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const warnings: string[] = [];
const s = platformFileServices({ forceDegraded: true, warn: (m) => warnings.push(m) });

test('the first degraded hand-out warns once, naming what is degraded and the fix', () => {
  platformFileServices({ forceDegraded: true, warn: (m) => warnings.push(m) });
  assert.equal(warnings.length, 1);
  for (const what of DEGRADED_SERVICES) assert.ok(warnings[0].includes(what), what);
  assert.ok(warnings[0].includes('npm run build:native'));
  assert.deepEqual(s.available, { utimensat: false, mknod: false, seekData: false, fsyncDir: false, batch: false, xattrs: false });
});

test('degraded setTimes sets times to about a microsecond, on a symlink too', async (t) => {
  const dir = tmpdir(t);
  const file = path.join(dir, 'f');
  const link = path.join(dir, 'l');
  fs.writeFileSync(file, 'x');
  fs.symlinkSync('f', link);
  const want = 1_700_000_000_987_654_321n;
  await s.setTimes(file, want, want, true);
  const got = fs.statSync(file, { bigint: true }).mtimeNs;
  assert.ok(got - want < 2000n && want - got < 2000n, `${got} vs ${want}`);
  const linkTime = 1_600_000_000_500_000_000n;
  await s.setTimes(link, linkTime, linkTime, false);
  const l = fs.lstatSync(link, { bigint: true }).mtimeNs;
  assert.ok(l - linkTime < 2000n && linkTime - l < 2000n);
  assert.equal(fs.statSync(file, { bigint: true }).mtimeNs, got, 'the target is untouched');
  await assert.rejects(s.setTimes(path.join(dir, 'missing'), 0n, 0n, true), { code: 'ENOENT' });
});

test('degraded mkfifo and mknod throw CAIRN_E_PLATFORM_UNSUPPORTED, a CairnError', async (t) => {
  const fifo = path.join(tmpdir(t), 'fifo');
  for (const call of [() => s.mkfifo(fifo, 0o600), () => s.mknod(fifo, fs.constants.S_IFCHR | 0o600, 259)]) {
    const err = await call().then(() => undefined, (e: unknown) => e);
    assert.ok(isCairnError(err));
    assert.ok(err instanceof CairnError);
    assert.equal(err.code, 'CAIRN_E_PLATFORM_UNSUPPORTED');
    assert.equal(err.fields.path, fifo);
    assert.ok(typeof err.fields.operation === 'string');
  }
  assert.equal(fs.existsSync(fifo), false);
});

test('degraded dataRegions is one region covering the file; fsyncDir is a no-op', async (t) => {
  const dir = tmpdir(t);
  const file = path.join(dir, 'sparse');
  const fd = fs.openSync(file, 'w+');
  t.after(() => fs.closeSync(fd));
  fs.ftruncateSync(fd, 20 * 1024 * 1024);
  fs.writeSync(fd, Buffer.alloc(4096, 1), 0, 4096, 0);
  assert.deepEqual(await s.dataRegions(fd, 20 * 1024 * 1024), [[0, 20 * 1024 * 1024]]);
  assert.deepEqual(await s.dataRegions(fd, 0), []);
  await s.fsyncDir(dir);
  await s.fsyncDir(path.join(dir, 'missing'));
});

test('NativeError is recognised as a CairnError and every code is catalogued', () => {
  const err = new NativeError('CAIRN_E_NATIVE_LOAD', 'x', { binary: 'b' });
  assert.ok(err instanceof CairnError);
  assert.deepEqual(err.toJSON(), { code: 'CAIRN_E_NATIVE_LOAD', message: 'x', binary: 'b' });
  for (const [code, spec] of Object.entries(NATIVE_ERRORS)) {
    assert.match(code, /^CAIRN_E_[A-Z]+_[A-Z_]+$/);
    assert.equal(typeof spec.exitCode, 'number');
  }
});

test('the loader explains a missing or foreign binary in one line, without throwing', (t) => {
  const dir = tmpdir(t);
  const missing = loadBinding(path.join(dir, 'nope.node'));
  assert.equal(missing.binding, undefined);
  assert.match(missing.reason ?? '', /not built/);

  const garbage = path.join(dir, 'garbage.node');
  fs.writeFileSync(garbage, 'this is not a shared object');
  const bad = loadBinding(garbage);
  assert.equal(bad.binding, undefined);
  assert.match(bad.reason ?? '', /cannot be loaded/);
  assert.ok(!(bad.reason ?? '').includes('\n    at '), 'no stack trace in the reason');
});
