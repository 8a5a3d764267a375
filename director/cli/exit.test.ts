/**
 * The console exits only after its output reached the OS: on a pipe (how
 * scripts and tests read `--json`) process.exit() used to drop what was
 * still queued, cutting a big report short — and with its tail the job's
 * error (a restore's CAIRN_E_PROTOCOL_CLOSED hidden behind 40,000 lines of
 * files not restored).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const MAIN = new URL('./main.js', import.meta.url).href;

test('a big report written just before the exit reaches a pipe whole, with the exit code', () => {
  const bytes = 4 * 1024 * 1024;
  const script = `
    const { exitWhenWritten } = await import(${JSON.stringify(MAIN)});
    process.stdout.write('x'.repeat(${bytes - 1}) + '\\n');
    process.stderr.write('e'.repeat(${bytes - 1}) + '\\n');
    await exitWhenWritten(3);
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 3);
  assert.equal(r.stdout.length, bytes, 'all of stdout');
  assert.equal(r.stderr.length, bytes, 'all of stderr');
});
