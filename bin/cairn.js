#!/usr/bin/env node
// The `cairn` console. The TypeScript sources compile to dist/ (npm run build).
import { existsSync } from 'node:fs';
const entry = new URL('../dist/director/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('cairn: the compiled program is missing (dist/). Run `npm run build` in the cairn folder first. [CAIRN_E_NOT_BUILT]');
  process.exit(2);
}
const { runCli } = await import(entry.href);
await runCli();
