#!/usr/bin/env node
// The README's main job: a real backup of a folder in local mode, its
// listing and a restore, then a byte-for-byte check of what came back.
// Usage: npm run demo [-- SOURCE_DIR]   (default: this project's docs/ and plugin-api/ sources)
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, lstatSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'bin', 'cairn.js');
const work = mkdtempSync(join(tmpdir(), 'cairn-demo-'));
const repo = join(work, 'repo');
let source = process.argv[2];
if (!source) {
  source = join(work, 'source');
  for (const part of ['docs', 'plugin-api', 'core', 'sd', 'README.md', 'package.json']) cpSync(join(root, part), join(source, part), { recursive: true });
}
const out = join(work, 'restored');

function cairn(...args) {
  console.log(`\n$ cairn --repo ${repo} ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [cli, '--repo', repo, ...args], { stdio: 'inherit' });
  if (r.status !== 0 && r.status !== 1) {
    console.error(`demo: cairn ${args[0]} exited with ${r.status}`);
    process.exit(r.status ?? 1);
  }
}

function walk(dir, base = dir, acc = new Map()) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    const rel = relative(base, p);
    if (st.isDirectory()) {
      acc.set(rel, 'dir');
      walk(p, base, acc);
    } else if (st.isSymbolicLink()) acc.set(rel, `link:${readlinkSync(p)}`);
    else acc.set(rel, readFileSync(p).toString('base64'));
  }
  return acc;
}

console.log(`demo: backing up ${source}`);
cairn('init');
cairn('backup', source, '--level', 'full');
cairn('ls', 'latest', source);
cairn('restore', 'latest', '--to', out);
cairn('verify', 'latest');

const a = walk(source);
const b = walk(join(out, source));
let diff = 0;
for (const [k, v] of a) if (b.get(k) !== v) diff++;
for (const k of b.keys()) if (!a.has(k)) diff++;
console.log(`\ndemo: restored ${b.size} entries under ${out}${source}; ${diff === 0 ? 'identical to the source' : `${diff} DIFFERENCES`}`);
if (!process.env.CAIRN_DEMO_KEEP) rmSync(work, { recursive: true, force: true });
process.exit(diff === 0 ? 0 : 1);
