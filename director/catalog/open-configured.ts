/**
 * The catalog a Director's config names (director.catalog): a SQLite file
 * or a PostgreSQL database. Used by cairn-dir and by `cairn catalog-restore
 * --dir-config`.
 */
import { CairnError } from '../../plugin-api/index.js';
import type { CatalogConfig } from '../../config/index.js';
import { Catalog } from './catalog.js';
import { PgDriver } from './pg-driver.js';

/** Where a postgres catalog is reached: its socket folder, else its host. */
export function postgresHost(c: Extract<CatalogConfig, { engine: 'postgres' }>): string {
  const host = c.socketDir ?? c.host;
  if (!host) throw new CairnError('CAIRN_E_CONFIG_INVALID', 'catalog: a postgres catalog needs socketDir or host', { key: 'director.catalog' });
  return host;
}

export async function openConfiguredCatalog(c: CatalogConfig): Promise<Catalog> {
  if (c.engine === 'sqlite') return Catalog.open(c.path);
  const driver = await PgDriver.open({ host: postgresHost(c), port: c.port, database: c.database, user: c.user, password: c.password });
  return Catalog.openWith(driver);
}
