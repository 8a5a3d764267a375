/**
 * Helpers for the pgsql agent's acceptance tests (not a test file itself):
 * SQL on a test cluster, a writer that inserts sequential ids in one-row
 * autocommit transactions, and the pgsql entries of a backup as the catalog
 * stored them (meta included). Restores go through `cairn restore` with the
 * agent's restore options given by `--option`.
 */
import { join } from 'node:path';
import pg from 'pg';
import type { FileEntry } from '../../plugin-api/index.js';
import { catalog } from '../../director/index.js';
import type { PostgresCluster } from '../support/postgres.js';

export async function sql<T extends pg.QueryResultRow = Record<string, unknown>>(c: PostgresCluster, database: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ host: c.host, port: c.port, user: c.user, database });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

/** Inserts id = 1, 2, 3 … one row per autocommit transaction until stopped; resolves with the last id committed. */
export async function startWriter(c: PostgresCluster, database: string, table: string): Promise<{ stop(): Promise<number> }> {
  const client = new pg.Client({ host: c.host, port: c.port, user: c.user, database });
  await client.connect();
  let stopping = false;
  let last = 0;
  const loop = (async () => {
    while (!stopping) {
      await client.query(`INSERT INTO ${table} (id) VALUES ($1)`, [last + 1]);
      last++;
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      await client.end();
      return last;
    },
  };
}

/** The files of backup job `jobId` as the catalog holds them (path, stat, meta), each with its one stream. */
export async function catalogEntries(repo: string, jobId: number): Promise<FileEntry[]> {
  const cat = await catalog.Catalog.open(join(repo, 'catalog.db'));
  try {
    const out: FileEntry[] = [];
    for await (const r of cat.treeAsAt([jobId])) {
      if (r.kind !== 'file') continue;
      out.push({ path: r.path, kind: 'file', stat: r.stat, streams: [{ index: 0, name: 'dump', layout: 'sequential' }], meta: r.meta ?? undefined });
    }
    return out;
  } finally {
    await cat.close();
  }
}
