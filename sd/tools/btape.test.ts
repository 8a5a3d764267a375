// cairn-btape end to end: against a vtape file (--vtape), and against the
// real addon driving the LD_PRELOAD st shim (what CI can run of a drive).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { requireTool, tempDir } from '../../test/support/temp.js';
import { SHIM_DEVICE_PREFIX, buildTapeShim, runUnderShim } from '../../test/support/tape-shim.js';
import { createVtape } from '../device/vtape-drive.js';
import type { BtapeReport } from './btape.js';

const BIN = fileURLToPath(new URL('../../../bin/cairn-btape.js', import.meta.url));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function assertReport(r: BtapeReport, maxBlock: number): void {
  assert.equal(r.ok, true, JSON.stringify(r.checks, null, 1));
  assert.equal(r.maxBlockSize, maxBlock);
  assert.equal(r.fixedBlockMode, true);
  assert.deepEqual(r.recommended, { blockSize: Math.min(262144, maxBlock), variableBlocks: true });
  assert.ok(r.fill !== undefined);
  assert.equal(r.fill.endedBy, 'hard');
  assert.ok(r.fill.blocksBeforeEarlyWarning > 0 && r.fill.blocksAfterEarlyWarning > 0);
  assert.equal(r.fill.blocksReadBack * r.fill.blockSize, r.fill.bytesWritten);
}

test('cairn-btape --vtape: every check passes, block limit and end of medium found; a tape with data is refused without --overwrite', async (t) => {
  const file = join(tempDir(t, 'cairn-btape-'), 'v.vtape');
  const r = await run(['--vtape', file, '--create', String(8 * 1024 * 1024), '--fill', '--json']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assertReport(JSON.parse(r.stdout) as BtapeReport, 1024 * 1024);
  const again = await run(['--vtape', file]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /holds data/);
  const human = await run(['--vtape', file, '--overwrite']);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /all checks passed/);
  assert.match(human.stdout, /blockSize: 262144/);
  assert.equal((await run(['--bogus'])).code, 2);
});

test('cairn-btape on a drive: the real addon over the LD_PRELOAD st shim', async (t) => {
  if (!requireTool('cc', t)) return;
  const lib = buildTapeShim();
  const dir = tempDir(t, 'cairn-btape-shim-');
  await createVtape(join(dir, 'drive0'), { capacity: 8 * 1024 * 1024, maxBlock: 512 * 1024 });
  const r = await runUnderShim(lib, dir, [BIN, `${SHIM_DEVICE_PREFIX}drive0`, '--fill', '--json']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const report = JSON.parse(r.stdout) as BtapeReport;
  assert.equal(report.kind, 'tape');
  assertReport(report, 512 * 1024);
  const missing = await runUnderShim(lib, dir, [BIN, `${SHIM_DEVICE_PREFIX}nothing`]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /CAIRN_E_TAPE_NO_MEDIUM/);
});
