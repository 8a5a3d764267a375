/**
 * Forward-only schema migrations, run at open. Each entry moves the catalog
 * from version N-1 to N inside one transaction together with its
 * schema_version row, so a failed migration leaves the previous version
 * intact. A catalog whose version is above the last entry here was written
 * by newer code and is refused (CAIRN_E_CATALOG_TOO_NEW). Rules: append
 * only; never edit a published entry; docs/catalog.md §Migrations.
 */
import { CairnError } from '../../plugin-api/index.js';
import type { CatalogDriver } from './driver.js';
import { COLUMNS_V3, COLUMNS_V5, INDEXES_V3, SCHEMA_VERSION_TABLE, TABLES_V1, TABLES_V4 } from './schema.js';
import { addColumnStatement, createIndexStatement, createTableStatements, dropIndexStatement, migrationLockStatement } from './sql/ddl.js';
import { type Dialect, dialectOf } from './sql/dialect.js';
import { QueryBuilder } from './sql/query-builder.js';
import { toNum } from './row-codec.js';

export interface Migration {
  readonly version: number;
  readonly description: string;
  /** Statements that move the schema from version - 1 to version. */
  statements(dialect: Dialect): string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'schema v1: clients, filesets, pools, jobs, job_log, files, volumes, job_media, agent_state',
    statements: (d) => TABLES_V1.flatMap((t) => createTableStatements(d, t)),
  },
  {
    version: 2,
    description: 'files index covers file_index: a job\'s tree streams in (tree_key, agent, file_index) order without a sort',
    statements: (d) => [dropIndexStatement(d, 'files_job_tree'), createIndexStatement(d, 'files', { name: 'files_job_tree_v2', columns: ['job_id', 'tree_key', 'agent', 'file_index'] })],
  },
  {
    version: 3,
    description: 'retention: protected jobs and volumes, pruned file records, log-agent chains, volume recycle counts',
    statements: (d) => [
      ...COLUMNS_V3.map((c) => addColumnStatement(d, c.table, c.column)),
      ...INDEXES_V3.map((i) => createIndexStatement(d, i.table, i.index)),
    ],
  },
  {
    version: 4,
    description: 'client-side encryption: job_crypto (header, signer, recipients, signed manifest per encrypted job) and job_key_wraps (data-key wraps made after the job)',
    statements: (d) => TABLES_V4.flatMap((t) => createTableStatements(d, t)),
  },
  {
    version: 5,
    description: 'mirrored copies: job_media.copy (0 the primary, 1 a mirrored copy written at the same time)',
    statements: (d) => COLUMNS_V5.map((c) => addColumnStatement(d, c.table, c.column)),
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** The schema version recorded in the catalog (0 for an empty database). */
export async function readSchemaVersion(driver: CatalogDriver): Promise<number> {
  const qb = new QueryBuilder(driver.dialect);
  const row = await driver.get(qb.select({ from: 'schema_version', columns: [{ fn: 'max', column: 'version', as: 'v' }] }));
  return row?.v == null ? 0 : toNum(row.v);
}

/**
 * Brings the catalog to LATEST_SCHEMA_VERSION, or refuses a newer one.
 * Returns the version now in force. `migrations` is overridable for tests.
 */
export async function migrate(driver: CatalogDriver, migrations: readonly Migration[] = MIGRATIONS, now: () => number = Date.now): Promise<number> {
  const dialect = dialectOf(driver.dialect);
  const qb = new QueryBuilder(dialect);
  const latest = migrations.length === 0 ? 0 : migrations[migrations.length - 1].version;
  return driver.transaction(
    async (tx) => {
      const lock = migrationLockStatement(dialect);
      if (lock) await tx.exec(lock);
      for (const s of createTableStatements(dialect, SCHEMA_VERSION_TABLE, { ifNotExists: true })) await tx.exec(s);
      const row = await tx.get(qb.select({ from: 'schema_version', columns: [{ fn: 'max', column: 'version', as: 'v' }] }));
      const current = row?.v == null ? 0 : toNum(row.v);
      if (current > latest) {
        throw new CairnError(
          'CAIRN_E_CATALOG_TOO_NEW',
          `the catalog has schema version ${current} but this Cairn knows only up to ${latest}; upgrade Cairn or use a catalog backup made by this version`,
          { catalogVersion: current, supportedVersion: latest },
        );
      }
      for (const m of migrations) {
        if (m.version <= current) continue;
        try {
          for (const s of m.statements(dialect)) await tx.exec(s);
          await tx.run(qb.insert({ into: 'schema_version', values: { version: m.version, applied_at: now() } }));
        } catch (err) {
          throw new CairnError('CAIRN_E_CATALOG_MIGRATION', `catalog migration to version ${m.version} (${m.description}) failed; the catalog stays at version ${current}`, { fromVersion: current, toVersion: m.version }, { cause: err });
        }
      }
      return Math.max(current, latest);
    },
    { durable: true },
  );
}
