/**
 * Acceptance (issue 3, job control): run-before and run-after commands on
 * the Director and on the client (only programs the FD's own config allows),
 * a failing command failing the job or warning as configured, and a failed
 * job retried.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertTreesEqual, buildTree, file, tempDir } from '../support/index.js';
import { startDaemonSet } from './daemon-set.js';

test('run scripts on the Director and the client; a failing one fails or warns; a failed job is retried', async (t) => {
  const tmp = tempDir(t, 'cairn-scripts-');
  const src = join(tmp, 'src');
  await buildTree(src, { 'a.txt': file(1, 1000), sub: { 'b.bin': file(2, 70_000) } });
  const mark = join(tmp, 'after-status');
  const counter = join(tmp, 'attempts');
  const sh = (script: string) => ['/bin/sh', '-c', script];
  const d = await startDaemonSet(t, join(tmp, 'conf'), {
    source: src,
    edit: {
      fd: (doc) => (doc.commands = { allow: ['/bin/sh'] }),
      dir: (doc) => {
        const base = doc.jobs[0];
        doc.jobs = [
          { ...base, name: 'scripted', runBefore: [{ command: sh('echo before $CAIRN_JOB_NAME'), on: 'director' }], runAfter: [{ command: sh(`echo $CAIRN_JOB_STATUS > ${mark}`), on: 'client' }] },
          { ...base, name: 'blocked', runBefore: [{ command: sh('echo no disk >&2; exit 3'), on: 'director', onFailure: 'fail' }] },
          { ...base, name: 'warned', runAfter: [{ command: sh('exit 1'), on: 'director', onFailure: 'warn' }] },
          { ...base, name: 'forbidden', runBefore: [{ command: ['/usr/bin/env', 'true'], on: 'client' }] },
          { ...base, name: 'retried', maxRetries: 2, retryDelaySeconds: 0, runBefore: [{ command: sh(`echo x >> ${counter}; test $(wc -l < ${counter}) -ge 2`), on: 'director' }] },
        ];
      },
    },
  });

  const ok = d.console(['run', 'scripted', '--wait', '--json']);
  assert.equal(ok.status, 0, ok.describe);
  assert.equal(readFileSync(mark, 'utf8').trim(), 'ok', 'the client-side run-after saw the job status');
  const log = d.console(['messages', String(ok.json.jobId), '--json']).json;
  assert.ok(log.some((e: { text: string }) => /before scripted/.test(e.text)), 'the run-before output is in the job log');

  const blocked = d.console(['run', 'blocked', '--wait', '--json']);
  assert.equal(blocked.status, 3, blocked.describe);
  assert.equal(blocked.json.error.code, 'CAIRN_E_JOB_SCRIPT');
  assert.match(blocked.json.error.message, /exited 3: no disk/);
  assert.equal(blocked.json.files, 0, 'nothing was backed up');

  const warned = d.console(['run', 'warned', '--wait', '--json']);
  assert.equal(warned.status, 1, warned.describe);
  assert.equal(warned.json.status, 'warning');
  assert.equal(warned.json.warnings[0].code, 'CAIRN_W_JOB_SCRIPT');

  const forbidden = d.console(['run', 'forbidden', '--wait', '--json']);
  assert.equal(forbidden.status, 3, forbidden.describe);
  assert.equal(forbidden.json.error.code, 'CAIRN_E_COMMAND_NOT_ALLOWED', 'the FD runs only what its own config allows');

  const retried = d.console(['run', 'retried', '--wait', '--json']);
  assert.equal(retried.status, 0, retried.describe);
  assert.equal(readFileSync(counter, 'utf8').trim().split('\n').length, 2, 'one failure, then the retry');
  const jobs = d.console(['jobs', '--json']).json.filter((j: { name: string }) => j.name === 'retried');
  assert.deepEqual(jobs.map((j: { status: string }) => j.status), ['ok', 'error']);
  const out = join(tmp, 'out');
  assert.equal(d.console(['restore', 'latest', '--job', 'retried', '--to', out, '--wait', '--json']).status, 0);
  assertTreesEqual(src, join(out, src));
  assert.ok(existsSync(mark));
});
