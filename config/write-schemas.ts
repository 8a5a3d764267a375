/**
 * Writes the published JSON Schemas (docs/schema/*.schema.json) from the
 * TypeScript ones. Run after a schema change:
 *   npm run build && node dist/config/write-schemas.js
 * config/schemas.test.ts fails while the two differ.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_KINDS, SCHEMAS, SCHEMA_FILES } from './schemas/index.js';

/** The exact text of a published schema file. */
export function schemaText(kind: keyof typeof SCHEMAS): string {
  return `${JSON.stringify(SCHEMAS[kind], null, 2)}\n`;
}

export function writeSchemas(dir: string): string[] {
  return CONFIG_KINDS.map((kind) => {
    const file = join(dir, SCHEMA_FILES[kind]);
    writeFileSync(file, schemaText(kind));
    return file;
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const docs = fileURLToPath(new URL('../../docs/schema/', import.meta.url));
  for (const f of writeSchemas(docs)) console.log(`wrote ${f}`);
}
