#!/usr/bin/env node
// Writes docs/errors.md from the error catalogues (run after `npm run build`).
import { writeFileSync } from 'node:fs';
const { CATALOGUES } = await import(new URL('../dist/test/error-catalogues.js', import.meta.url).href);
const lines = [
  '# Error codes',
  '',
  'Every error Cairn reports carries a stable code. Match on the code, never on the message.',
  'Codes are never reused once retired. The exit status is what `cairn` exits with when that',
  'error ends a command; `retryable` says whether trying again later may succeed.',
  'This file is generated from the catalogues (`node scripts/gen-errors-doc.mjs`); a test checks they agree.',
  '',
  'Job outcomes have their own exit statuses: 0 OK, 1 OK with warnings, 3 Error, 4 Cancelled.',
  'Codes marked with exit status 0 or 1 appear as per-file messages in a job report.',
  '',
];
for (const c of CATALOGUES) {
  lines.push(`## ${c.part}`, '', `Catalogue: \`${c.source}\``, '', '| code | exit | retryable | meaning |', '|---|---|---|---|');
  for (const [code, spec] of Object.entries(c.errors)) lines.push(`| \`${code}\` | ${spec.exitCode} | ${spec.retryable ? 'yes' : 'no'} | ${spec.summary.replace(/\|/g, '\\|')} |`);
  lines.push('');
}
writeFileSync(new URL('../docs/errors.md', import.meta.url), lines.join('\n'));
console.log('wrote docs/errors.md');
