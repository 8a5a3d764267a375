#!/usr/bin/env node
// cairn-bls: a volume tool (docs/volume-tools.md). The TypeScript sources compile to dist/ (npm run build).
import { existsSync } from 'node:fs';
import module from 'node:module';
module.enableCompileCache?.();
const entry = new URL('../dist/director/tools/bls.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('cairn-bls: the compiled program is missing (dist/). Run `npm run build` in the cairn folder first. [CAIRN_E_NOT_BUILT]');
  process.exit(2);
}
const m = await import(entry.href);
await m.runBls();
