/**
 * Error catalogue of the pgsql agent. Codes thrown (the job fails) and codes
 * used as `code` in job messages about one database (the job goes on).
 */
import type { ErrorSpec } from '../../plugin-api/index.js';

export const PGSQL_ERRORS = {
  CAIRN_E_PGSQL_CONNECT: { exitCode: 2, retryable: true, summary: 'The agent could not connect to the PostgreSQL server (socket or host, port, role, password), or a query it needs failed.' },
  CAIRN_E_PGSQL_TOOL_MISSING: { exitCode: 2, retryable: false, summary: 'pg_dump, pg_dumpall, pg_restore or psql was not found in binDir, in PATH or under /usr/lib/postgresql/*/bin, or it does not run.' },
  CAIRN_E_PGSQL_VERSION_MISMATCH: { exitCode: 2, retryable: false, summary: 'The PostgreSQL client programs found cannot work with the server or the archive (pg_dump older than the server, pg_restore older than the pg_dump that wrote the dump); the message names the binaries found and their versions.' },
  CAIRN_E_PGSQL_NO_DATABASE: { exitCode: 2, retryable: false, summary: 'The include/exclude patterns select no database of the cluster; the job fails rather than store nothing.' },
  CAIRN_E_PGSQL_OPTIONS: { exitCode: 2, retryable: false, summary: 'The agent options do not make sense together (renameTo with several databases, a rename mapping onto one name, an unknown restore target).' },
  CAIRN_E_PGSQL_DUMP_FAILED: { exitCode: 1, retryable: true, summary: 'pg_dump or pg_dumpall exited with an error for one database (or the globals); the message carries the tool\'s own words. Before its first byte the database is not stored; after, its stored copy is cut short.' },
  CAIRN_E_PGSQL_RESTORE_FAILED: { exitCode: 1, retryable: false, summary: 'Restoring one database or the globals failed (CREATE DATABASE, pg_restore, psql or the final rename); a partly restored database is dropped, an existing one is left as it was.' },
  CAIRN_E_PGSQL_DB_EXISTS: { exitCode: 1, retryable: false, summary: 'The restore target database (or dump file) exists and the replace policy (never, ifnewer, ifolder) keeps it; nothing was written.' },
  CAIRN_E_PGSQL_TOOL_MESSAGE: { exitCode: 1, retryable: false, summary: 'A PostgreSQL client program wrote a warning (pg_dump warning, psql ERROR tolerated while restoring globals such as an existing role); the line is in the job log.' },
  CAIRN_E_PGSQL_CALL_ORDER: { exitCode: 3, retryable: false, summary: 'The host called the pgsql agent out of the documented order (readData for an entry that is not the current one, a restore hook before prepareRestore, a sparse chunk for a dump).' },
  CAIRN_E_PGSQL_LEVEL_FULL: { exitCode: 0, retryable: false, summary: 'A logical dump has no incremental form: an Incremental or Differential job dumps every selected database in full (info).' },
} as const satisfies Record<string, ErrorSpec>;

export type PgsqlErrorCode = keyof typeof PGSQL_ERRORS;
