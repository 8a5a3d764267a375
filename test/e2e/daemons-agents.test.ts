/**
 * Acceptance over the three daemons: the FD's own config decides where
 * agents run (plugins.isolation: bundled agents in child processes here)
 * and which programs they may run (commands.allow); per-job agent options
 * come from the Director's job entry (agentOptions) and `cairn run
 * --option`, per-restore ones from `cairn restore --option`; a fileset that
 * names a program the FD does not allow fails only its job.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertTreesEqual, buildTree, file, tempDir } from '../support/index.js';
import { startDaemonSet } from './daemon-set.js';

const NODE = process.execPath;
const say = (text: string) => [NODE, '-e', `process.stdout.write(${JSON.stringify(text)})`];

test('daemons: isolation and commands.allow from the FD config; agent options from the job entry, run --option and restore --option', async (t) => {
  const tmp = tempDir(t, 'cairn-daemon-agents-');
  const src = join(tmp, 'src');
  await buildTree(src, { 'a.txt': file(1, 1000), sub: { 'b.bin': file(2, 300_000) } });
  const d = await startDaemonSet(t, join(tmp, 'conf'), {
    source: src,
    edit: {
      fd: (doc) => {
        doc.commands = { allow: [NODE] };
        doc.plugins = { ...(doc.plugins ?? {}), isolation: { bundled: 'process' } };
      },
      dir: (doc) => {
        doc.filesets.push({ name: 'piped', agents: [{ agent: 'pipe', options: { files: [{ path: '/pipe/a', reader: say('from the fileset') }] } }] });
        const { schedule: _schedule, ...base } = doc.jobs[0];
        doc.jobs.push({ ...base, name: 'piped', fileset: 'piped', level: 'full', agentOptions: { pipe: { files: [{ path: '/pipe/b', reader: say('from the job entry') }] } } });
      },
    },
  });
  // The fs agent, in a child process of the FD, round-trips the tree.
  const demo = d.console(['run', 'demo', '--wait', '--json']);
  assert.equal(demo.status, 0, demo.describe);
  const out = join(tmp, 'out');
  assert.equal(d.console(['restore', 'latest', '--job', 'demo', '--to', out, '--wait', '--json']).status, 0);
  assertTreesEqual(src, join(out, src));

  const ls = (jobId: number) => d.console(['ls', String(jobId), '--json']).json.files.map((f: { path: string }) => f.path);
  const entry = d.console(['run', 'piped', '--wait', '--json']);
  assert.equal(entry.status, 0, entry.describe);
  assert.deepEqual(ls(entry.json.jobId), ['/pipe/b'], "the job entry's agentOptions override the fileset line");

  const files = JSON.stringify([{ path: '/pipe/c', reader: say('from the command line') }]);
  const cli = d.console(['run', 'piped', '--option', `pipe.files=${files}`, '--wait', '--json']);
  assert.equal(cli.status, 0, cli.describe);
  assert.deepEqual(ls(cli.json.jobId), ['/pipe/c'], '--option overrides the job entry');

  const restored = join(tmp, 'piped-out');
  const r = d.console(['restore', 'latest', '--job', 'piped', '--to', restored, '--option', 'pipe.toFiles=true', '--wait', '--json']);
  assert.equal(r.status, 0, r.describe);
  assert.equal(readFileSync(join(restored, 'pipe', 'c'), 'utf8'), 'from the command line');

  const typo = d.console(['run', 'piped', '--option', 'pipe.nosuch=1', '--wait', '--json']);
  assert.equal(typo.status, 3, typo.describe);
  assert.equal(typo.json.error.code, 'CAIRN_E_AGENT_OPTIONS');
  assert.match(typo.json.error.message, /options for agent pipe: unknown option "nosuch"/);

  const marker = join(tmp, 'touched');
  const forbidden = d.console(['run', 'piped', '--option', `pipe.files=${JSON.stringify([{ path: '/pipe/x', reader: ['/usr/bin/touch', marker] }])}`, '--wait', '--json']);
  assert.equal(forbidden.status, 3, forbidden.describe);
  assert.match(forbidden.json.error.message, /does not run \/usr\/bin\/touch: it is not in its commands\.allow/);
  assert.equal(existsSync(marker), false);

  // The FD still serves.
  const again = d.console(['run', 'piped', '--wait', '--json']);
  assert.equal(again.status, 0, again.describe);
});
