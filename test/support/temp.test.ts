/**
 * Tests of temp.ts: temp dirs are removed even when locked, CI detection,
 * and the missing-tool rule (throw in CI, skip loudly elsewhere).
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { findTool, isCI, makeTempDir, removeTree, requireTool, skipUnlessTool, withTempDir } from './temp.js';

function withCI<T>(value: string | undefined, fn: () => T): T {
  const saved = process.env.CI;
  if (value === undefined) delete process.env.CI;
  else process.env.CI = value;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.CI;
    else process.env.CI = saved;
  }
}

test('removeTree removes a tree with a read-only directory', () => {
  const dir = makeTempDir();
  mkdirSync(join(dir, 'locked'));
  writeFileSync(join(dir, 'locked', 'f'), 'x');
  chmodSync(join(dir, 'locked'), 0o500);
  removeTree(dir);
  assert.equal(existsSync(dir), false);
});

test('withTempDir cleans up after a throw', async () => {
  let seen = '';
  await assert.rejects(withTempDir((d) => { seen = d; throw new Error('boom'); }), /boom/);
  assert.equal(existsSync(seen), false);
});

test('isCI reads the CI variable', () => {
  assert.equal(withCI('true', isCI), true);
  assert.equal(withCI('1', isCI), true);
  assert.equal(withCI('false', isCI), false);
  assert.equal(withCI(undefined, isCI), false);
});

test('requireTool: present tool passes; missing tool throws in CI and skips outside', () => {
  assert.ok(findTool('sh'));
  assert.equal(requireTool('sh'), true);
  const missing = 'cairn-no-such-tool-4711';
  assert.throws(() => withCI('true', () => requireTool(missing)), /required tool "cairn-no-such-tool-4711" is not installed.*CI must provide it/);
  assert.equal(withCI(undefined, () => requireTool(missing)), false);
  assert.match(String(withCI(undefined, () => skipUnlessTool(missing))), /not installed/);
  assert.equal(skipUnlessTool('sh'), false);
});
