/**
 * Error catalogue of the pglog agent (PostgreSQL base backup + WAL). Codes
 * thrown (the job fails) and codes used in job messages (warnings).
 */
import type { ErrorSpec } from '../../plugin-api/index.js';

export const PGLOG_ERRORS = {
  CAIRN_E_PGLOG_CONNECT: { exitCode: 2, retryable: true, summary: 'The agent could not connect to the PostgreSQL server (host, port, user and database options; pg_hba.conf).' },
  CAIRN_E_PGLOG_SERVER_VERSION: { exitCode: 2, retryable: false, summary: 'The server is older than PostgreSQL 12, which the agent needs (recovery.signal, restore_command in postgresql.conf).' },
  CAIRN_E_PGLOG_STANDBY: { exitCode: 2, retryable: false, summary: 'The server is a standby (in recovery): the agent backs up a primary, where it can force a WAL switch.' },
  CAIRN_E_PGLOG_NOT_ARCHIVING: { exitCode: 2, retryable: false, summary: 'wal_level, archive_mode or archive_command do not ship WAL to the spool folder (docs/agents/pglog.md lists the settings).' },
  CAIRN_E_PGLOG_TABLESPACES: { exitCode: 2, retryable: false, summary: 'The cluster has tablespaces beyond pg_default and pg_global; the agent refuses rather than back up part of the data.' },
  CAIRN_E_PGLOG_TOOL_MISSING: { exitCode: 2, retryable: false, summary: 'pg_basebackup was not found (binDir option, /usr/lib/postgresql/<major>/bin, PATH).' },
  CAIRN_E_PGLOG_TOOL_VERSION: { exitCode: 2, retryable: false, summary: 'pg_basebackup is older than the server; use the one of the server’s major version or newer (binDir option).' },
  CAIRN_E_PGLOG_BASE_BACKUP: { exitCode: 3, retryable: true, summary: 'pg_basebackup failed (its exit status and last stderr lines are in the message).' },
  CAIRN_E_PGLOG_SPOOL: { exitCode: 2, retryable: false, summary: 'The spool folder the archive_command copies into is missing or unreadable.' },
  CAIRN_E_PGLOG_ARCHIVE_TIMEOUT: { exitCode: 3, retryable: true, summary: 'A WAL segment did not arrive in the spool in time after the WAL switch (archive_command failing or slow; pg_stat_archiver’s last failure is in the message).' },
  CAIRN_E_PGLOG_WAL_GAP: { exitCode: 3, retryable: false, summary: 'A WAL segment the backup must ship is missing from the spool; the message names it. Run a Full, or set onGap: full.' },
  CAIRN_E_PGLOG_TIMELINE_SWITCH: { exitCode: 3, retryable: false, summary: 'The cluster changed timeline since the base backup (a promotion or PITR); the chain cannot continue. Run a Full, or set onGap: full.' },
  CAIRN_E_PGLOG_CLUSTER_CHANGED: { exitCode: 3, retryable: false, summary: 'The server’s system identifier differs from the one the chain was taken from (a new initdb, another cluster on that address).' },
  CAIRN_E_PGLOG_NO_BASE_STATE: { exitCode: 3, retryable: false, summary: 'An Incremental or Differential found no pglog state in its base job (the base was not taken by this agent line). Run a Full.' },
  CAIRN_E_PGLOG_FORCED_FULL: { exitCode: 1, retryable: false, summary: 'A gap, timeline switch or changed cluster made the agent take a new base backup in an Incremental or Differential (onGap: full) (warning).' },
  CAIRN_E_PGLOG_BASE_LABEL: { exitCode: 3, retryable: false, summary: 'The base backup’s tar stream had no readable backup_label, so the WAL it needs is unknown.' },
  CAIRN_E_PGLOG_CALL_ORDER: { exitCode: 3, retryable: false, summary: 'The host called the pglog agent out of the documented order.' },
  CAIRN_E_PGLOG_RESTORE_TARGET: { exitCode: 2, retryable: false, summary: 'A pglog restore needs an absolute `where` folder whose data directory does not exist yet or is empty.' },
  CAIRN_E_PGLOG_RESTORE_UNSAFE: { exitCode: 3, retryable: false, summary: 'The base backup’s tar has a member the agent will not write (a `..` or absolute name, a link, a device).' },
  CAIRN_E_PGLOG_RESTORE_NO_BASE: { exitCode: 3, retryable: false, summary: 'The restored chain holds WAL but no base backup for a cluster.' },
  CAIRN_E_PGLOG_TARGET_BEFORE_BASE: { exitCode: 3, retryable: false, summary: 'The recovery target is earlier than the point the chain’s base backup is consistent at; PostgreSQL cannot stop there. Restore from an earlier Full.' },
  CAIRN_E_PGLOG_TARGET_PAST_WAL: { exitCode: 1, retryable: false, summary: 'The restored WAL ends before the recovery target; the cluster recovers to the end of the WAL instead (warning).' },
  CAIRN_E_PGLOG_RESTORE_WRITE: { exitCode: 3, retryable: false, summary: 'Writing the restored base, a WAL segment or the recovery settings failed.' },
} as const satisfies Record<string, ErrorSpec>;

export type PglogErrorCode = keyof typeof PGLOG_ERRORS;
