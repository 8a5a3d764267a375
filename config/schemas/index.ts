/**
 * The four published configuration schemas by file kind.
 */
import type { JsonSchema } from '../schema-validator.js';
import { dirSchema } from './dir.js';
import { fdSchema } from './fd.js';
import { sdSchema } from './sd.js';
import { consoleSchema } from './console.js';

export type ConfigKind = 'dir' | 'fd' | 'sd' | 'console';

export const CONFIG_KINDS: readonly ConfigKind[] = ['dir', 'fd', 'sd', 'console'];

export const SCHEMAS: Record<ConfigKind, JsonSchema> = { dir: dirSchema, fd: fdSchema, sd: sdSchema, console: consoleSchema };

/** docs/schema/<this>: cairn-dir.schema.json, cairn-fd…, cairn-sd…, cairn-console…. */
export const SCHEMA_FILES: Record<ConfigKind, string> = {
  dir: 'cairn-dir.schema.json',
  fd: 'cairn-fd.schema.json',
  sd: 'cairn-sd.schema.json',
  console: 'cairn-console.schema.json',
};

export { dirSchema, fdSchema, sdSchema, consoleSchema };
