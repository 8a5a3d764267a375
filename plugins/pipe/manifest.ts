/**
 * The pipe agent's manifest: identity, API range (1.3: it needs the host's
 * command service) and options.
 */
import type { AgentManifest } from '../../plugin-api/index.js';

const argv = { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } };

export const manifest: AgentManifest = {
  name: 'pipe',
  version: '1.0.0',
  api: '>=1.5 <2',
  formatMajor: 1,
  restoreKind: 'files',
  description: "Command agent: a virtual file's data is a reader program's stdout; restore feeds it to a writer program's stdin.",
  options: {
    type: 'object',
    properties: {
      files: {
        type: 'array',
        description: 'The virtual files: { path, reader: [argv…], writer: [argv…] }. At restore, entries override the writer by path.',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['path'],
          properties: {
            path: { type: 'string', minLength: 1, description: 'Absolute virtual path, e.g. /pipe/db.dump (the name in the catalog).' },
            reader: { ...argv, description: 'Backup: the program and its arguments; its stdout is the data. Required at backup.' },
            writer: { ...argv, description: 'Restore: the program fed the data on stdin. Without one the data is written as a file under the restore target.' },
          },
        },
      },
      toFiles: { type: 'boolean', default: false, description: "Restore: write every file's data under the restore target instead of running its writer." },
    },
    additionalProperties: false,
  },
};

export interface PipeFile {
  path: string;
  reader?: string[];
  writer?: string[];
}
