#!/usr/bin/env node
// cairn-btape: tests a tape drive or vtape file (docs/tape.md). The TypeScript sources compile to dist/ (npm run build).
import { existsSync } from 'node:fs';
import module from 'node:module';
module.enableCompileCache?.();
const entry = new URL('../dist/sd/tools/btape-cli.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('cairn-btape: the compiled program is missing (dist/). Run `npm run build` in the cairn folder first. [CAIRN_E_NOT_BUILT]');
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main();
