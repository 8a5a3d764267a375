/**
 * Acceptance: the console's small promises, driven as a user runs it
 * (child process, --json parsed): `init` twice, `jobs --json`, `ls latest
 * PATH`, `restore --dry-run` listing without writing, and the error codes and
 * exit statuses of an unknown command, a missing job and a missing repository.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTree, file, symlink, tempDir } from '../support/index.js';
import { PROJECT_ROOT, cairn, cairnOk } from './cli-runner.js';

/** A small tree: src/{a.txt, docs/{one,two}, docs/sub/three, link}. */
async function smallTree(root: string): Promise<string> {
  const src = join(root, 'src');
  await buildTree(src, {
    'a.txt': file(1, 1000),
    docs: { one: file(2, 10), two: file(3, 2000), sub: { three: file(4, 30) } },
    link: symlink('a.txt'),
  });
  return src;
}

test('init twice is fine and says whether it created the repository', (t) => {
  const repo = join(tempDir(t, 'cairn-e2e-cli-'), 'R');
  const first = cairnOk(repo, ['init', '--json']);
  assert.deepEqual(first.json, { repo, created: true });
  const second = cairnOk(repo, ['init', '--json']);
  assert.deepEqual(second.json, { repo, created: false });
  assert.ok(existsSync(join(repo, 'cairn-repo.json')));
  // The repository still works after the second init.
  const jobs = cairnOk(repo, ['jobs', '--json']);
  assert.deepEqual(jobs.json, []);
});

test('jobs on a missing repository → exit 2, CAIRN_E_REPO_NOT_FOUND, nothing created', (t) => {
  const repo = join(tempDir(t, 'cairn-e2e-cli-'), 'nothing-here');
  const r = cairn(repo, ['jobs', '--json']);
  assert.equal(r.status, 2, r.describe);
  assert.equal(r.json?.error?.code, 'CAIRN_E_REPO_NOT_FOUND', r.describe);
  assert.equal(r.json.error.repo, repo);
  assert.equal(existsSync(repo), false, 'jobs must not create a repository');
  // Text mode names the code on stderr.
  const text = cairn(repo, ['jobs']);
  assert.equal(text.status, 2, text.describe);
  assert.match(text.stderr, /CAIRN_E_REPO_NOT_FOUND/);
});

test('unknown command → exit 2 with CAIRN_E_USAGE', (t) => {
  const repo = join(tempDir(t, 'cairn-e2e-cli-'), 'R');
  const r = cairn(repo, ['frobnicate', '--json']);
  assert.equal(r.status, 2, r.describe);
  assert.equal(r.json?.error?.code, 'CAIRN_E_USAGE', r.describe);
  const text = cairn(repo, ['frobnicate']);
  assert.equal(text.status, 2, text.describe);
  assert.match(text.stderr, /CAIRN_E_USAGE/);
  assert.equal(existsSync(repo), false);
});

test('restore of a nonexistent job → CAIRN_E_JOB_NOT_FOUND, target untouched', async (t) => {
  const tmp = tempDir(t, 'cairn-e2e-cli-');
  const repo = join(tmp, 'R');
  const src = await smallTree(tmp);
  cairnOk(repo, ['backup', src, '--json']);
  const to = join(tmp, 'out');
  const r = cairn(repo, ['restore', '999', '--to', to, '--json']);
  assert.equal(r.status, 2, r.describe);
  assert.equal(r.json?.error?.code, 'CAIRN_E_JOB_NOT_FOUND', r.describe);
  assert.equal(existsSync(to), false, 'a failed restore must not create the target');
  // `latest` on an empty repository is the same error.
  const empty = join(tmp, 'R2');
  cairnOk(empty, ['init']);
  const latest = cairn(empty, ['restore', 'latest', '--to', to, '--json']);
  assert.equal(latest.status, 2, latest.describe);
  assert.equal(latest.json?.error?.code, 'CAIRN_E_JOB_NOT_FOUND', latest.describe);
});

test('jobs --json, ls latest PATH, restore --dry-run lists paths and writes nothing', async (t) => {
  const tmp = tempDir(t, 'cairn-e2e-cli-');
  const repo = join(tmp, 'R');
  const src = await smallTree(tmp);
  const b = cairnOk(repo, ['backup', src, '--json']).json;
  assert.equal(b.type, 'backup');
  assert.equal(b.status, 'ok');
  assert.equal(b.level, 'full');

  // jobs --json: an array with the backup job as the catalog has it.
  const jobs = cairnOk(repo, ['jobs', '--json']).json;
  assert.ok(Array.isArray(jobs), 'jobs --json prints an array');
  assert.equal(jobs.length, 1);
  assert.equal(jobs[0].id, b.jobId);
  assert.equal(jobs[0].type, 'backup');
  assert.equal(jobs[0].status, 'ok');
  assert.equal(jobs[0].files, b.files);

  // ls latest PATH (text): exactly the entries at and under PATH.
  const docs = join(src, 'docs');
  const ls = cairnOk(repo, ['ls', 'latest', docs]);
  const listed = ls.stdout.split('\n').filter(Boolean).map((l) => l.split(' ').pop());
  assert.deepEqual(new Set(listed), new Set([docs, join(docs, 'one'), join(docs, 'two'), join(docs, 'sub'), join(docs, 'sub', 'three')]), ls.stdout);
  // ls latest PATH --json: same paths, with kinds and sizes.
  const lsj = cairnOk(repo, ['ls', 'latest', docs, '--json']).json;
  assert.equal(lsj.jobId, b.jobId);
  const byPath = new Map<string, { kind: string; size: number }>(lsj.files.map((f: { path: string; kind: string; size: number }) => [f.path, f]));
  assert.deepEqual(new Set(byPath.keys()), new Set(listed));
  assert.equal(byPath.get(join(docs, 'two'))?.kind, 'file');
  assert.equal(byPath.get(join(docs, 'two'))?.size, 2000);
  assert.equal(byPath.get(join(docs, 'sub'))?.kind, 'dir');
  // A path that names a file lists just that file.
  const one = cairnOk(repo, ['ls', 'latest', join(src, 'a.txt'), '--json']).json;
  assert.deepEqual(one.files.map((f: { path: string }) => f.path), [join(src, 'a.txt')]);

  // restore --dry-run (text): lists every path that would be restored, writes nothing.
  const to = join(tmp, 'out');
  const dry = cairnOk(repo, ['restore', 'latest', '--to', to, '--dry-run']);
  for (const p of [src, join(src, 'a.txt'), join(src, 'link'), docs, join(docs, 'sub', 'three')]) {
    assert.ok(dry.stdout.split('\n').includes(p), `dry run should list ${p}:\n${dry.stdout}`);
  }
  assert.equal(existsSync(to), false, 'dry run must not create the target');
  // With PATHs, only those are listed.
  const dryPart = cairnOk(repo, ['restore', 'latest', '--to', to, '--dry-run', docs]);
  assert.ok(dryPart.stdout.includes(join(docs, 'sub', 'three')), dryPart.stdout);
  assert.ok(!dryPart.stdout.split('\n').includes(join(src, 'a.txt')), `a.txt is outside ${docs}:\n${dryPart.stdout}`);
  // --json dry run: a report, counts matching the tree, still nothing written.
  const dryJson = cairnOk(repo, ['restore', 'latest', '--to', to, '--dry-run', '--json']).json;
  assert.equal(dryJson.type, 'restore');
  assert.equal(dryJson.status, 'ok');
  assert.equal(dryJson.files, b.files);
  assert.equal(existsSync(to), false);
  // A dry run is not a job.
  assert.equal(cairnOk(repo, ['jobs', '--json']).json.length, 1);

  // A real restore then writes, and is listed as a restore job.
  const real = cairnOk(repo, ['restore', 'latest', '--to', to, '--json']).json;
  assert.equal(real.status, 'ok');
  assert.ok(readdirSync(join(to, src)).includes('a.txt'));
  const after = cairnOk(repo, ['jobs', '--json']).json;
  assert.equal(after.length, 2);
  assert.ok(after.some((j: { type: string; id: number; status: string }) => j.type === 'restore' && j.id === real.jobId && j.status === 'ok'));
});

test('quick commands exit cleanly: nothing on stderr after a successful backup, ls, jobs, verify', async (t) => {
  const dir = tempDir(t, 'cairn-quiet-');
  const src = join(dir, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'a'), 'a');
  const repo = join(dir, 'repo');
  for (const args of [['backup', src], ['ls', 'latest'], ['jobs'], ['verify', 'latest']]) {
    const r = cairn(repo, args);
    assert.equal(r.status, 0, r.describe);
    assert.equal(r.stderr, '', `stderr of cairn ${args.join(' ')}:\n${r.stderr}`);
  }
});

test('cairn plugin check runs the conformance kit: the fs agent passes, a broken agent fails its named check', (t) => {
  const dir = tempDir(t, 'cairn-plugin-check-');
  const src = join(dir, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'a'), 'hello');
  const fsAgent = join(PROJECT_ROOT, 'dist', 'plugins', 'fs', 'index.js');
  const good = cairn(null, ['plugin', 'check', fsAgent, '--include', src, '--json']);
  assert.equal(good.status, 0, good.describe);
  const report = JSON.parse(good.stdout) as { ok: boolean; checks: Array<{ name: string; ok: boolean }> };
  assert.equal(report.ok, true);
  assert.ok(report.checks.some((c) => c.name === 'restore-round-trip' && c.ok));
  const broken = join(dir, 'broken.mjs');
  writeFileSync(
    broken,
    `export const manifest = { name: 'broken', version: '1.0.0', api: '>=1 <2', formatMajor: 1 };
     export function createAgent() {
       return {
         async prepareBackup() {}, async nextFile() { throw new Error('boom'); }, async *readData() {}, async endBackup() { return { state: null }; },
         async prepareRestore() {}, async createFile() { return 'skip'; }, async writeData() {}, async endFile() {}, async endRestore() {},
       };
     }`,
  );
  const bad = cairn(null, ['plugin', 'check', broken, '--include', src, '--json']);
  assert.equal(bad.status, 1, bad.describe);
  const badReport = JSON.parse(bad.stdout) as { ok: boolean; checks: Array<{ name: string; ok: boolean }> };
  assert.equal(badReport.ok, false);
  assert.equal(badReport.checks.find((c) => c.name === 'call-order')?.ok, false);
});
