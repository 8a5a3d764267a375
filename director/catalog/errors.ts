/**
 * The catalog's error catalogue (CAIRN_E_CATALOG_*). Throw these codes with
 * CairnError from plugin-api; facts go in fields (path, version, jobId…).
 */
import type { ErrorSpec } from '../../plugin-api/index.js';

export const CATALOG_ERRORS = {
  CAIRN_E_CATALOG_OPEN: { exitCode: 2, retryable: false, summary: 'The catalog database could not be opened (path, permissions, not a database).' },
  CAIRN_E_CATALOG_TOO_NEW: { exitCode: 2, retryable: false, summary: 'The catalog was written by a newer Cairn (schema version above what this code knows); refusing to use it.' },
  CAIRN_E_CATALOG_MIGRATION: { exitCode: 2, retryable: false, summary: 'A schema migration failed; the catalog was left at its previous version.' },
  CAIRN_E_CATALOG_BUSY: { exitCode: 3, retryable: true, summary: 'The catalog stayed locked by another process past the busy timeout.' },
  CAIRN_E_CATALOG_QUERY: { exitCode: 3, retryable: false, summary: 'A catalog statement failed (constraint, I/O or disk full).' },
  CAIRN_E_CATALOG_CLOSED: { exitCode: 3, retryable: false, summary: 'The catalog was used after close().' },
  CAIRN_E_CATALOG_NO_JOB: { exitCode: 2, retryable: false, summary: 'No job with that id is in the catalog.' },
  CAIRN_E_CATALOG_NO_FULL: { exitCode: 2, retryable: false, summary: 'No successful Full backup precedes the job, so no restore chain exists.' },
  CAIRN_E_CATALOG_JOB_STATE: { exitCode: 3, retryable: false, summary: 'The job is not in a state that allows the change (e.g. finishing a job twice).' },
  CAIRN_E_CATALOG_VOLUME_EXISTS: { exitCode: 2, retryable: false, summary: 'A volume with that name is already in the catalog.' },
  CAIRN_E_CATALOG_NO_VOLUME: { exitCode: 2, retryable: false, summary: 'No volume with that name is in the catalog.' },
  CAIRN_E_CATALOG_BAD_ROW: { exitCode: 3, retryable: false, summary: 'A row handed to the catalog is malformed (missing path, bad kind, bad file index).' },
  CAIRN_E_CATALOG_LABEL_TEMPLATE: { exitCode: 2, retryable: false, summary: 'A pool\'s label template is malformed (unknown variable, no ${Counter}, or it makes invalid volume names).' },
  CAIRN_E_CATALOG_DURATION: { exitCode: 2, retryable: false, summary: 'A retention period, use duration or --keep-within value is not a duration like 30d, 6m, 1y or 12h.' },
  CAIRN_E_CATALOG_RESTORE_EXISTS: { exitCode: 2, retryable: false, summary: 'catalog-restore would overwrite a repository that already has a catalog (use a new folder, or --force).' },
  CAIRN_E_CATALOG_RESTORE_NONE: { exitCode: 2, retryable: false, summary: 'No complete CatalogBackup session was found on the volumes given to catalog-restore.' },
} as const satisfies Record<string, ErrorSpec>;

export type CatalogErrorCode = keyof typeof CATALOG_ERRORS;
