import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runConformance } from '../../plugin-api/index.js';
import * as pipeAgent from './index.js';
import { PIPE_KIT_FILES, compareToFiles } from './test-fixture.js';

test('[inprocess] the pipe agent passes the plugin API conformance kit', async () => {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-pipe-conf-'));
  try {
    const report = await runConformance(pipeAgent, {
      include: [],
      scratch: path.join(top, 'scratch'),
      options: { files: PIPE_KIT_FILES },
      restoreOptions: { toFiles: true },
      commands: [process.execPath],
      compare: compareToFiles,
    });
    assert.deepEqual(report.checks.filter((c) => !c.ok), []);
    assert.equal(report.agent, 'pipe');
  } finally {
    fs.rmSync(top, { recursive: true, force: true });
  }
});
