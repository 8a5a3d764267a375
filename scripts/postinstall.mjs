#!/usr/bin/env node
// postinstall: builds Cairn's native addon (native/ → native/build/Release/
// cairn_native.node) with node-gyp, offline: it points node-gyp at this
// Node's own headers (--nodedir) when they are installed. One line on
// success. On failure it prints a loud WARNING naming what runs degraded
// and exits 0, so `npm install` still succeeds and Cairn runs without the
// addon (native/index.ts falls back to node:fs). Does not build TypeScript.
// CAIRN_SKIP_NATIVE=1 skips the build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const binary = join('native', 'build', 'Release', 'cairn_native.node');

if (process.env.CAIRN_SKIP_NATIVE === '1') {
  console.log('cairn: native addon build skipped (CAIRN_SKIP_NATIVE=1); file services run degraded');
  process.exit(0);
}

/** node-gyp: ours (devDependency), else the copy npm bundles and announces. */
function findNodeGyp() {
  const candidates = [
    join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    process.env.npm_config_node_gyp,
  ];
  return candidates.find((p) => p !== undefined && p !== '' && existsSync(p));
}

/** This Node's prefix when its headers are installed there (so no download). */
function localNodedir() {
  const prefix = resolve(process.execPath, '..', '..');
  return existsSync(join(prefix, 'include', 'node', 'node.h')) ? prefix : undefined;
}

/** A one-line guess at the cause from node-gyp's output (its info lines ignored). */
function diagnose(output) {
  const errors = output.split('\n').filter((l) => !l.startsWith('gyp info')).join('\n');
  const compiler = /(g\+\+|c\+\+|clang\+\+|cc1plus|\bcc\b|\bCXX\b)/i;
  const missing = /(not found|No such file|ENOENT)/i;
  if (errors.split('\n').some((l) => compiler.test(l) && missing.test(l)) || /GetCompilerPredefines/.test(errors)) return 'no C++ compiler was found (install g++ or clang)';
  if (/not found: make|make: (command )?not found|spawn make ENOENT/i.test(errors)) return '`make` was not found';
  if (/find Python|Could not find any Python/i.test(errors)) return 'python3 was not found (node-gyp needs it)';
  if (/node\.h|napi\.h|common\.gypi|download|ENOTFOUND|EAI_AGAIN|getaddrinfo/i.test(errors)) return "Node's headers are not installed locally and could not be downloaded";
  if (/error:/.test(errors)) return 'the C++ sources failed to compile';
  return 'node-gyp failed';
}

function warn(cause, output) {
  const noise = /^gyp (info|ERR! (System|command|cwd|node -v|node-gyp -v|not ok|stack\s+at))/;
  const tail = output.trim().split('\n').filter((l) => !noise.test(l)).slice(-12).map((l) => `    | ${l}`).join('\n');
  const bar = '!'.repeat(78);
  console.warn([
    bar,
    '!! WARNING: Cairn native addon (cairn_native) was NOT built.',
    `!! cause: ${cause}`,
    '!! Cairn still works, but these file services run DEGRADED:',
    '!!   - nanosecond times: restored file times only to about a microsecond',
    '!!   - fifos/devices:    fifos and device nodes cannot be restored',
    '!!   - sparse detection: holes are not detected; sparse files are stored in full',
    '!!   - directory fsync:  skipped (newly created entries may not survive a crash)',
    '!! Fix: install python3, make and a C++ compiler (e.g. apt-get install build-essential),',
    '!!      then run `npm run build:native` in this directory.',
    bar,
    tail === '' ? '' : `  last lines of node-gyp output:\n${tail}`,
  ].join('\n'));
}

const nodeGyp = findNodeGyp();
if (nodeGyp === undefined) {
  warn('node-gyp is not installed (neither node_modules/node-gyp nor npm\'s bundled copy)', '');
  process.exit(0);
}
const args = [nodeGyp, 'rebuild', '--directory', 'native'];
const nodedir = localNodedir();
if (nodedir !== undefined) args.push(`--nodedir=${nodedir}`);

const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 10 * 60 * 1000 });
const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? `\n${r.error.message}` : ''}`;
if (r.status === 0 && existsSync(join(root, binary))) {
  console.log(`cairn: native addon built (${binary})`);
} else {
  warn(r.error?.code === 'ETIMEDOUT' ? 'node-gyp timed out' : diagnose(output), output);
}
process.exit(0);
