// A file the agent skips at restore (replace never, the target exists) is
// kept, not reported "not restored whole": its streams end at their digest
// records all the same. Regression: a streamed (not packed) file was listed
// as CAIRN_E_FILE_INCOMPLETE and the restore ended in error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/index.js';
import { cairnOk } from './cli-runner.js';

test('restore --replace never keeps an existing large file and the job is OK', (t) => {
  const dir = tempDir(t, 'cairn-skip-');
  const repo = join(dir, 'repo');
  const src = join(dir, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'big'), Buffer.alloc(3 * 1024 * 1024, 7));
  cairnOk(repo, ['init']);
  cairnOk(repo, ['backup', src, '--json']);
  const out = join(dir, 'out');
  cairnOk(repo, ['restore', 'latest', '--to', out, '--json']);
  const restored = join(out, src, 'big');
  writeFileSync(restored, 'changed');
  const r = cairnOk(repo, ['restore', 'latest', '--to', out, '--replace', 'never', '--json']);
  assert.equal(r.json.status, 'ok', r.describe);
  assert.deepEqual(r.json.problems, []);
  assert.equal(readFileSync(restored, 'utf8'), 'changed');
});
