#!/usr/bin/env node
// The `cairn` console. The TypeScript sources compile to dist/ (npm run build).
import { existsSync } from 'node:fs';
import module from 'node:module';
// Node ≥ 22.1 caches compiled modules on disk: ~0.3 s of the console's start is compiling ~200 modules.
module.enableCompileCache?.();
const entry = new URL('../dist/director/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('cairn: the compiled program is missing (dist/). Run `npm run build` in the cairn folder first. [CAIRN_E_NOT_BUILT]');
  process.exit(2);
}
const { runCli } = await import(entry.href);
await runCli();
