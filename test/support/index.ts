/**
 * Test support library: one import for scenario tests.
 *
 * Owns nothing itself; re-exports the tree builder (tree.ts), the
 * deterministic content generator (content.ts), the tree comparison
 * (compare-trees.ts) and temp-dir/tool helpers (temp.ts).
 */
export * from './tree.js';
export { CONTENT_BLOCK, contentBytes, fillContent, mixSeed, writeContentFile, writeContentRange } from './content.js';
export { smallFileSize } from './small-files.js';
export { setTimesNs, touchDate } from './file-times.js';
export * from './compare-trees.js';
export * from './temp.js';
export * from './sample-trees.js';
