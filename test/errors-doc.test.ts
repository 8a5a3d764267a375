/**
 * docs/errors.md and the error catalogues list exactly the same codes, both
 * ways; every CAIRN_E_ code written in the sources is catalogued; no code is
 * catalogued twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CATALOGUES } from './error-catalogues.js';

const root = new URL('../..', import.meta.url).pathname;

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === 'build' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (/\.(ts|mjs|js|cc)$/.test(name) && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

test('no code is catalogued twice', () => {
  const seen = new Map<string, string>();
  for (const c of CATALOGUES) {
    for (const code of Object.keys(c.errors)) {
      assert.equal(seen.get(code), undefined, `${code} is in ${c.source} and ${seen.get(code)}`);
      seen.set(code, c.source);
    }
  }
});

test('docs/errors.md lists exactly the catalogued codes', () => {
  const doc = readFileSync(join(root, 'docs/errors.md'), 'utf8');
  const documented = new Set([...doc.matchAll(/^\| `(CAIRN_E_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]));
  const catalogued = new Set(CATALOGUES.flatMap((c) => Object.keys(c.errors)));
  assert.deepEqual([...catalogued].filter((c) => !documented.has(c)), [], 'catalogued but not in docs/errors.md (run `node scripts/gen-errors-doc.mjs`)');
  assert.deepEqual([...documented].filter((c) => !catalogued.has(c)), [], 'in docs/errors.md but in no catalogue');
});

test('every CAIRN_E_ code used in the sources is catalogued', () => {
  const catalogued = new Set(CATALOGUES.flatMap((c) => Object.keys(c.errors)));
  const missing: string[] = [];
  for (const dir of ['plugin-api', 'core', 'plugins', 'sd', 'director', 'native', 'config', 'net', 'daemon', 'bin', 'scripts']) {
    for (const f of sourceFiles(join(root, dir))) {
      for (const m of readFileSync(f, 'utf8').matchAll(/['"`](CAIRN_E_[A-Z0-9_]*[A-Z0-9])['"`\]]/g)) {
        if (!catalogued.has(m[1])) missing.push(`${m[1]} (${f.slice(root.length)})`);
      }
    }
  }
  assert.deepEqual([...new Set(missing)], []);
});
