/**
 * director/catalog — the Director's catalog: jobs, file versions, volumes,
 * job media, job log and agent state, on SQLite (default) or
 * PostgreSQL (pg-driver.ts) behind the same CatalogDriver.
 *
 * Owns: schema and migrations, the SQL builder, durable job commits,
 * restore-chain and tree-as-at selection, the VolumeCatalogPort served to the
 * SD, pool limits and recycled volumes (volume-store.ts), label templates,
 * calendar durations and the removals pruning makes (retention-store.ts).
 * Does not promise: scheduling, which jobs a prune removes (that is
 * director/retention), or anything about media contents. docs/catalog.md describes schema and rules.
 */
export { Catalog, type CatalogJobCrypto, type CatalogKeyWrap } from './catalog.js';
export type { LastSuccessfulQuery } from './job-chain.js';
export { CATALOG_ERRORS, type CatalogErrorCode } from './errors.js';
export { LATEST_SCHEMA_VERSION, MIGRATIONS, migrate, readSchemaVersion, type Migration } from './migrations.js';
export type { CatalogDriver, CatalogSession, Row, RunResult, TransactionOptions } from './driver.js';
export { SqliteDriver, type SqliteDriverOptions } from './sqlite-driver.js';
export { PgDriver, type PgDriverOptions } from './pg-driver.js';
export { openConfiguredCatalog, postgresHost } from './open-configured.js';
export { volumeCatalogPort, type VolumeCatalogPort, type VolumeInfo, type JobMediaRange } from './sd-port.js';
export type { PoolSettings, KeepRules } from './volume-store.js';
export type { RetentionStore } from './retention-store.js';
export { DEFAULT_LABEL_TEMPLATE, checkLabelTemplate, expandLabelTemplate, type LabelContext } from './label-template.js';
export { addDuration, formatDuration, isZeroDuration, parseDuration, subtractDuration, ZERO_DURATION, type Duration } from './duration.js';
export { toBaseFile } from './base-file.js';
export * from './types.js';
export * as sql from './sql/index.js';
