/**
 * The catalog engines a catalog test runs against: SQLite (in memory) and
 * PostgreSQL (a fresh database per test in a throwaway cluster started once
 * per test file, test/support/postgres.ts). In CI a missing PostgreSQL fails
 * the test; elsewhere it is skipped loudly.
 */
import { after, type TestContext } from 'node:test';
import { startPostgres, type PostgresCluster } from '../../test/support/postgres.js';
import { requireTool } from '../../test/support/temp.js';
import { Catalog } from './catalog.js';
import { PgDriver } from './pg-driver.js';

export interface CatalogEngine {
  name: 'sqlite' | 'postgres';
  /** A new, empty catalog; null when the engine is missing outside CI (the test is then skipped). */
  open(t: TestContext): Promise<Catalog | null>;
}

let cluster: Promise<PostgresCluster | null> | null = null;

after(async () => {
  const c = await cluster?.catch(() => null);
  await c?.stop();
});

/** The file's cluster (started at the first call), or null when PostgreSQL is missing outside CI. */
export async function postgresCluster(t: TestContext): Promise<PostgresCluster | null> {
  cluster ??= startPostgres(t);
  const c = await cluster;
  if (!c) requireTool('initdb', t);
  return c;
}

/** A catalog on `database` of the file's cluster. */
export async function openPostgres(c: PostgresCluster, database: string): Promise<Catalog> {
  return Catalog.openWith(await PgDriver.open({ host: c.host, port: c.port, user: c.user, database }));
}

export const ENGINES: CatalogEngine[] = [
  { name: 'sqlite', open: () => Catalog.open(':memory:') },
  {
    name: 'postgres',
    async open(t) {
      const c = await postgresCluster(t);
      return c ? openPostgres(c, await c.createDatabase()) : null;
    },
  },
];
