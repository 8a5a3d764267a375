import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { runConformance } from '../../plugin-api/index.js';
import { platformFileServices } from '../../native/index.js';
import * as fsAgent from './index.js';
import { ioModes, tempDir } from './test-fixture.js';

for (const mode of ioModes(platformFileServices())) {
  test(`[${mode.name}] the fs agent passes the plugin API conformance kit on a real tree`, { skip: mode.skip }, async () => {
    const top = tempDir('conf');
    const src = path.join(top, 'src');
    try {
      fs.mkdirSync(path.join(src, 'etc/deep/er'), { recursive: true });
      fs.mkdirSync(path.join(src, 'a-b'));
      fs.writeFileSync(path.join(src, 'etc/a.conf'), 'conf\n');
      fs.writeFileSync(path.join(src, 'etc/deep/er/x'), Buffer.alloc(5000, 3));
      fs.writeFileSync(path.join(src, 'a-b/y'), '');
      fs.writeFileSync(path.join(src, 'big'), Buffer.alloc(3 * 1024 * 1024 + 17, 5));
      const fd = fs.openSync(path.join(src, 'sparse'), 'w');
      fs.writeSync(fd, Buffer.alloc(4096, 1), 0, 4096, 2 * 1024 * 1024);
      fs.ftruncateSync(fd, 4 * 1024 * 1024);
      fs.closeSync(fd);
      fs.linkSync(path.join(src, 'etc/a.conf'), path.join(src, 'hard'));
      fs.symlinkSync('etc/a.conf', path.join(src, 'link'));
      fs.symlinkSync('/nowhere', path.join(src, 'dangling'));
      execFileSync('mkfifo', [path.join(src, 'fifo')]);
      fs.writeFileSync(Buffer.from(`${src}/caf\xe9`, 'latin1'), 'latin1 name');
      fs.chmodSync(path.join(src, 'etc'), 0o750);
      fs.writeFileSync(path.join(src, 'skip.tmp'), 'excluded');

      const report = await runConformance(fsAgent, {
        platform: mode.platform,
        options: mode.options,
        include: [src],
        exclude: ['*.tmp'],
        scratch: path.join(top, 'scratch'),
        mutate: async () => {
          fs.writeFileSync(path.join(src, 'etc/a.conf'), 'changed conf\n');
          fs.rmSync(path.join(src, 'etc/deep'), { recursive: true });
          fs.writeFileSync(path.join(src, 'a-b/new'), 'new');
          fs.chmodSync(path.join(src, 'a-b'), 0o700);
          fs.rmSync(path.join(src, 'dangling'));
        },
      });
      const failed = report.checks.filter((c) => !c.ok);
      assert.deepEqual(failed, []);
      assert.equal(report.ok, true);
      assert.deepEqual(report.checks.map((c) => c.name).sort(), ['abort', 'call-order', 'error-wrapping', 'hooks', 'manifest', 'restore-round-trip', 'state-round-trip', 'version-negotiation']);
      assert.equal(report.agent, 'fs');
      assert.deepEqual(fs.readdirSync(path.join(top, 'scratch')), []);
    } finally {
      fs.rmSync(top, { recursive: true, force: true });
    }
  });
}
