/**
 * Notifications (cairn-dir.yaml messages.notify): when a job ends the
 * Director runs each matching command with the job report as JSON on stdin
 * and CAIRN_JOB_* in the environment — only for the statuses (`on`) and job
 * types (`types`) it names; a command that cannot run is a warning in the
 * Director's log and changes nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTree, file, tempDir } from '../support/index.js';
import { startDaemonSet } from './daemon-set.js';

async function files(dir: string, count: number): Promise<string[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const names = existsSync(dir) ? readdirSync(dir).sort() : [];
    if (names.length >= count || Date.now() > deadline) return names;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('notifications: a failed backup and an OK restore each run the commands that ask for them, with the report on stdin', async (t) => {
  const tmp = tempDir(t, 'cairn-notify-');
  const src = join(tmp, 'src');
  await buildTree(src, { 'a.bin': file(1, 50_000) });
  // The notification command: writes what it was given (stdin, CAIRN_JOB_*) to DIR/<id>-<status>.json.
  const script = join(tmp, 'notify.mjs');
  writeFileSync(script, [
    "import fs from 'node:fs';",
    "import path from 'node:path';",
    "let input = '';",
    "process.stdin.setEncoding('utf8').on('data', (c) => (input += c)).on('end', () => {",
    "  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('CAIRN_JOB_')));",
    "  fs.writeFileSync(path.join(process.argv[2], env.CAIRN_JOB_ID + '-' + env.CAIRN_JOB_STATUS + '.json'), JSON.stringify({ env, report: JSON.parse(input) }));",
    '});',
  ].join('\n'));
  const onError = join(tmp, 'on-error');
  const onRestore = join(tmp, 'on-restore');
  mkdirSync(onError);
  mkdirSync(onRestore);
  const d = await startDaemonSet(t, join(tmp, 'conf'), {
    source: src,
    edit: {
      dir: (doc) => {
        doc.messages = {
          notify: [
            { command: [process.execPath, script, onError] },
            { command: [process.execPath, script, onRestore], on: ['ok', 'warning'], types: ['restore'] },
            { command: [join(tmp, 'no-such-program')], on: ['error'] },
          ],
        };
        doc.jobs.push({ ...doc.jobs[0], name: 'broken', runBefore: [{ command: [process.execPath, '-e', 'process.exit(3)'], on: 'director' }] });
      },
    },
  });
  const ok = d.console(['run', 'demo', '--level', 'full', '--wait', '--json']);
  assert.equal(ok.json.status, 'ok', ok.describe);
  const restore = d.console(['restore', 'latest', '--job', 'demo', '--to', join(tmp, 'out'), '--wait', '--json']);
  assert.equal(restore.json.status, 'ok', restore.describe);
  const broken = d.console(['run', 'broken', '--wait', '--json']);
  assert.equal(broken.json.status, 'error', broken.describe);

  assert.deepEqual(await files(onError, 1), [`${broken.json.jobId}-error.json`], 'only the failed job, not the OK backup or restore');
  const e = JSON.parse(readFileSync(join(onError, `${broken.json.jobId}-error.json`), 'utf8'));
  assert.equal(e.report.error.code, 'CAIRN_E_JOB_SCRIPT');
  assert.equal(e.report.jobId, broken.json.jobId);
  assert.deepEqual([e.env.CAIRN_JOB_NAME, e.env.CAIRN_JOB_TYPE, e.env.CAIRN_JOB_CLIENT], ['broken', 'backup', 'local-fd']);
  assert.match(e.env.CAIRN_JOB_SUMMARY, new RegExp(`^Cairn job ${broken.json.jobId} broken \\(backup incremental, client local-fd\\): error — CAIRN_E_JOB_SCRIPT`));

  assert.deepEqual(await files(onRestore, 1), [`${restore.json.jobId}-ok.json`], 'the restore, and not the backups');
  const r = JSON.parse(readFileSync(join(onRestore, `${restore.json.jobId}-ok.json`), 'utf8'));
  assert.equal(r.report.type, 'restore');
  assert.equal(r.report.files, restore.json.files);

  const deadline = Date.now() + 10_000;
  while (!/notification command could not run/.test(d.log('dir')) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
  assert.match(d.log('dir'), /notification command could not run/);
  for (const k of ['dir', 'fd', 'sd'] as const) assert.equal(await d.stop(k), 0, d.log(k).slice(-2000));
});
