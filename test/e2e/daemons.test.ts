/**
 * Acceptance (issue 3): backup and restore through three separate processes
 * — cairn-dir, cairn-fd, cairn-sd — over TCP on loopback, and again with
 * TLS (PSK) on every connection; byte-exact. The console drives the
 * Director (`cairn --config console.yaml run demo --wait`, `restore latest
 * --job demo --to OUT --wait`), the way the quickstart says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertTreesEqual, buildTree, everyKindSpec, generateSmallFiles, tempDir } from '../support/index.js';
import { startDaemonSet } from './daemon-set.js';

const TRANSPORTS = {
  tcp: 'TCP',
  tls: 'TLS (PSK)',
  stdio: 'TCP, the SD reached over stdio (cairn-sd --stdio, no TCP port)',
} as const;

for (const via of ['tcp', 'tls', 'stdio'] as const) {
  const tls = via === 'tls' ? 'psk' : undefined;
  test(`three daemons over ${TRANSPORTS[via]}: Full, Incremental and restore latest are byte-exact`, async (t) => {
    const tmp = tempDir(t, 'cairn-daemons-');
    const src = join(tmp, 'src');
    await buildTree(src, everyKindSpec());
    generateSmallFiles(join(src, 'small'), { count: 1500, dirs: 8, minSize: 10, maxSize: 9000, seed: 11 });
    writeFileSync(join(src, 'large.bin'), Buffer.alloc(6 * 1024 * 1024, 7));
    const d = await startDaemonSet(t, join(tmp, 'conf'), { source: src, tls, sdOverStdio: via === 'stdio' });

    const full = d.console(['run', 'demo', '--wait', '--json']);
    assert.equal(full.status, 0, full.describe);
    assert.equal(full.json.status, 'ok');
    assert.equal(full.json.level, 'full');
    assert.ok(full.json.files > 1500);

    writeFileSync(join(src, 'etc', 'a.conf'), 'changed on the client');
    const inc = d.console(['run', 'demo', '--wait', '--json']);
    assert.equal(inc.status, 0, inc.describe);
    assert.equal(inc.json.level, 'incremental');
    assert.ok(inc.json.files < 10, `incremental sent ${inc.json.files} files`);

    const out = join(tmp, 'out');
    const rest = d.console(['restore', 'latest', '--job', 'demo', '--to', out, '--wait', '--json']);
    assert.equal(rest.status, 0, rest.describe);
    assert.equal(rest.json.status, 'ok');
    assert.deepEqual(rest.json.chain, [full.json.jobId, inc.json.jobId]);
    assertTreesEqual(src, join(out, src));

    const fdStatus = d.console(['status', 'client', 'local-fd', '--json']);
    assert.equal(fdStatus.status, 0, fdStatus.describe);
    assert.equal(fdStatus.json.name, 'local-fd');
    assert.deepEqual(fdStatus.json.jobs, []);
    const sdStatus = d.console(['status', 'storage', 'File1', '--json']);
    assert.equal(sdStatus.status, 0, sdStatus.describe);
    assert.deepEqual(sdStatus.json.sessions, { append: 0, read: 0 });
    const jobs = d.console(['jobs', '--json']);
    assert.deepEqual(jobs.json.map((j: { id: number; status: string }) => j.status), ['ok', 'ok', 'ok']);
    if (tls) assert.match(d.log('sd'), /"tls":true/, 'the SD saw TLS connections');
    if (via === 'stdio') {
      assert.match(d.log('sd'), /Unix socket only/, 'the SD opened no TCP port');
      assert.match(d.log('sd'), /"role":"fd"[^\n]*"address":"local"/, 'the FD came in through the relay');
      assert.match(sdStatus.json.address, /^command: .*cairn-sd\.js --stdio/);
    }
    // Clean shutdown: each daemon exits 0 on SIGTERM.
    for (const k of ['dir', 'fd', 'sd'] as const) assert.equal(await d.stop(k), 0, d.log(k).slice(-2000));
  });
}
