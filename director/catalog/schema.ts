/**
 * Schema v1 of the catalog, written once as table definitions and rendered
 * per dialect by sql/ddl.ts. docs/catalog.md describes each table. Never
 * edit a published version's tables: add a migration (migrations.ts).
 */
import type { ColumnDef, IndexDef, TableDef } from './sql/ddl.js';

export const SCHEMA_VERSION_TABLE: TableDef = {
  name: 'schema_version',
  columns: [
    { name: 'version', type: 'integer', notNull: true },
    { name: 'applied_at', type: 'bigint', notNull: true },
  ],
  primaryKey: ['version'],
};

export const TABLES_V1: readonly TableDef[] = [
  {
    name: 'clients',
    columns: [
      { name: 'id', type: 'id' },
      { name: 'name', type: 'text', notNull: true },
      { name: 'created_at', type: 'bigint', notNull: true },
    ],
    unique: [['name']],
  },
  {
    name: 'filesets',
    columns: [
      { name: 'id', type: 'id' },
      { name: 'name', type: 'text', notNull: true },
      { name: 'hash', type: 'text', notNull: true },
      { name: 'text', type: 'text', notNull: true },
      { name: 'created_at', type: 'bigint', notNull: true },
    ],
    unique: [['name', 'hash']],
  },
  {
    name: 'pools',
    columns: [
      { name: 'id', type: 'id' },
      { name: 'name', type: 'text', notNull: true },
      { name: 'settings', type: 'text', notNull: true, default: '{}' },
      { name: 'volume_counter', type: 'bigint', notNull: true, default: 0 },
    ],
    unique: [['name']],
  },
  {
    name: 'jobs',
    columns: [
      { name: 'id', type: 'id' },
      { name: 'name', type: 'text', notNull: true },
      { name: 'type', type: 'text', notNull: true },
      { name: 'level', type: 'text' },
      { name: 'client', type: 'text', notNull: true },
      { name: 'fileset', type: 'text' },
      { name: 'fileset_hash', type: 'text' },
      { name: 'pool', type: 'text' },
      { name: 'status', type: 'text', notNull: true },
      { name: 'started_at', type: 'bigint', notNull: true },
      { name: 'ended_at', type: 'bigint' },
      { name: 'files', type: 'bigint', notNull: true, default: 0 },
      { name: 'bytes', type: 'bigint', notNull: true, default: 0 },
      { name: 'read_bytes', type: 'bigint', notNull: true, default: 0 },
      { name: 'errors', type: 'bigint', notNull: true, default: 0 },
      { name: 'session_id', type: 'bigint' },
      { name: 'report', type: 'text' },
    ],
    indexes: [
      { name: 'jobs_client_name', columns: ['client', 'name', 'type', 'status'] },
      { name: 'jobs_ended', columns: ['ended_at'] },
    ],
  },
  {
    name: 'job_log',
    columns: [
      { name: 'id', type: 'id' },
      { name: 'job_id', type: 'bigint', notNull: true },
      { name: 'time', type: 'bigint', notNull: true },
      { name: 'level', type: 'text', notNull: true },
      { name: 'code', type: 'text' },
      { name: 'path', type: 'blob' },
      { name: 'text', type: 'text', notNull: true },
    ],
    indexes: [{ name: 'job_log_job', columns: ['job_id', 'id'] }],
  },
  {
    name: 'files',
    columns: [
      { name: 'job_id', type: 'bigint', notNull: true },
      { name: 'file_index', type: 'bigint', notNull: true },
      { name: 'path', type: 'blob', notNull: true },
      { name: 'tree_key', type: 'blob', notNull: true },
      { name: 'agent', type: 'text', notNull: true },
      { name: 'kind', type: 'text', notNull: true },
      { name: 'deleted', type: 'boolean', notNull: true, default: false },
      { name: 'mode', type: 'bigint', notNull: true },
      { name: 'uid', type: 'bigint', notNull: true },
      { name: 'gid', type: 'bigint', notNull: true },
      { name: 'size', type: 'bigint', notNull: true },
      { name: 'mtime_ns', type: 'bigint', notNull: true },
      { name: 'atime_ns', type: 'bigint', notNull: true },
      { name: 'ctime_ns', type: 'bigint', notNull: true },
      { name: 'dev', type: 'bigint', notNull: true },
      { name: 'ino', type: 'bigint', notNull: true },
      { name: 'nlink', type: 'bigint', notNull: true },
      { name: 'rdev', type: 'bigint', notNull: true },
      { name: 'link_target', type: 'blob' },
      { name: 'hardlink_target', type: 'blob' },
      { name: 'meta', type: 'text' },
      { name: 'digest', type: 'blob' },
    ],
    primaryKey: ['job_id', 'file_index'],
    indexes: [{ name: 'files_job_tree', columns: ['job_id', 'tree_key', 'agent'] }],
  },
  {
    name: 'volumes',
    columns: [
      { name: 'id', type: 'id' },
      { name: 'name', type: 'text', notNull: true },
      { name: 'pool', type: 'text', notNull: true },
      { name: 'media_type', type: 'text', notNull: true },
      { name: 'status', type: 'text', notNull: true },
      { name: 'committed_bytes', type: 'bigint', notNull: true, default: 0 },
      { name: 'committed_blocks', type: 'bigint', notNull: true, default: 0 },
      { name: 'jobs', type: 'bigint', notNull: true, default: 0 },
      { name: 'first_written', type: 'bigint' },
      { name: 'last_written', type: 'bigint' },
      { name: 'label', type: 'text' },
      { name: 'created_at', type: 'bigint', notNull: true },
    ],
    unique: [['name']],
    indexes: [{ name: 'volumes_pool_status', columns: ['pool', 'media_type', 'status'] }],
  },
  {
    name: 'job_media',
    columns: [
      { name: 'id', type: 'id' },
      { name: 'job_id', type: 'bigint', notNull: true },
      { name: 'volume', type: 'text', notNull: true },
      { name: 'session_id', type: 'bigint', notNull: true },
      { name: 'first_index', type: 'bigint', notNull: true },
      { name: 'last_index', type: 'bigint', notNull: true },
      { name: 'start_file', type: 'bigint', notNull: true },
      { name: 'start_block', type: 'bigint', notNull: true },
      { name: 'end_file', type: 'bigint', notNull: true },
      { name: 'end_block', type: 'bigint', notNull: true },
    ],
    indexes: [
      { name: 'job_media_job', columns: ['job_id', 'id'] },
      { name: 'job_media_volume', columns: ['volume'] },
    ],
  },
  {
    name: 'agent_state',
    columns: [
      { name: 'job_id', type: 'bigint', notNull: true },
      { name: 'agent', type: 'text', notNull: true },
      { name: 'state', type: 'text', notNull: true },
    ],
    primaryKey: ['job_id', 'agent'],
  },
];

/**
 * Schema v3 (retention, docs/catalog.md §Retention): columns added to
 * existing tables. `protected` jobs and volumes are never pruned or
 * recycled; `files_pruned` marks a job whose file rows were removed by file
 * retention; `log_chain` marks a job holding data of an agent whose restores
 * need the whole chain back to the Full (restoreKind `log`); volumes count
 * their recycles and remember when they were purged.
 */
export const COLUMNS_V3: ReadonlyArray<{ table: string; column: ColumnDef }> = [
  { table: 'jobs', column: { name: 'protected', type: 'boolean', notNull: true, default: false } },
  { table: 'jobs', column: { name: 'files_pruned', type: 'boolean', notNull: true, default: false } },
  { table: 'jobs', column: { name: 'log_chain', type: 'boolean', notNull: true, default: false } },
  { table: 'volumes', column: { name: 'protected', type: 'boolean', notNull: true, default: false } },
  { table: 'volumes', column: { name: 'recycle_count', type: 'bigint', notNull: true, default: 0 } },
  { table: 'volumes', column: { name: 'purged_at', type: 'bigint' } },
];

export const INDEXES_V3: ReadonlyArray<{ table: string; index: IndexDef }> = [
  { table: 'jobs', index: { name: 'jobs_pool_type', columns: ['pool', 'type', 'status'] } },
];

/** Schema v4 (client-side encryption, docs/encryption.md §Catalog): each encrypted job's header and signed manifest, and data-key wraps made later (rotation, master keys added afterwards). */
export const TABLES_V4: readonly TableDef[] = [
  {
    name: 'job_crypto',
    columns: [
      { name: 'job_id', type: 'bigint', notNull: true },
      { name: 'cipher', type: 'text', notNull: true },
      /** Fingerprint of the key that signed the manifest. */
      { name: 'signer', type: 'text', notNull: true },
      /** Fingerprints the data key was wrapped to when the job ran, comma-separated. */
      { name: 'recipients', type: 'text', notNull: true },
      /** The encryption header as in the session start label (JSON). */
      { name: 'header', type: 'text', notNull: true },
      /** The signed manifest (job-manifest.ts), as on the volume. */
      { name: 'manifest', type: 'blob' },
    ],
    primaryKey: ['job_id'],
  },
  {
    name: 'job_key_wraps',
    columns: [
      { name: 'id', type: 'id' },
      { name: 'job_id', type: 'bigint', notNull: true },
      { name: 'fingerprint', type: 'text', notNull: true },
      /** The wrap (JSON: fingerprint, epk, nonce, box). */
      { name: 'wrap', type: 'text', notNull: true },
      { name: 'created_at', type: 'bigint', notNull: true },
    ],
    indexes: [{ name: 'job_key_wraps_job', columns: ['job_id', 'id'] }],
  },
];

/** Schema v5 (mirrored copies, docs/catalog.md): which copy of a job a job-media row locates — 0 the primary, 1 the mirror. */
export const COLUMNS_V5: ReadonlyArray<{ table: string; column: ColumnDef }> = [{ table: 'job_media', column: { name: 'copy', type: 'integer', notNull: true, default: 0 } }];
