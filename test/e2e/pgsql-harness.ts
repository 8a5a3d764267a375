/**
 * Helpers for the pgsql agent's acceptance tests (not a test file itself):
 * SQL on a test cluster, a writer that inserts sequential ids in one-row
 * autocommit transactions, the pgsql entries of a backup as the catalog
 * stored them (meta included), and a restore of dump files through the
 * agent's own restore hooks with restore options — the host's restore
 * hands agents no options yet (per-restore options are issue 4 item 5), so
 * the cluster target is driven here through the same HookRunner the host
 * uses, the data being the files `cairn restore` wrote.
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { HookRunner, kitContext, nodePlatformFileServices, type FileEntry, type KitMessage, type ReplacePolicy } from '../../plugin-api/index.js';
import * as pgsqlAgent from '../../plugins/pgsql/index.js';
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

/** Restores `entries` (data from the dump files under `filesRoot`, at their virtual paths) with the pgsql agent's hooks. */
export async function restoreWithAgent(entries: readonly FileEntry[], filesRoot: string, options: Record<string, unknown>, replace: ReplacePolicy, where?: string): Promise<KitMessage[]> {
  const kc = kitContext(pgsqlAgent.manifest, { major: 1, minor: 2 }, nodePlatformFileServices(), []);
  const runner = new HookRunner('pgsql', pgsqlAgent.manifest.version, { controller: kc.controller });
  const agent = await pgsqlAgent.createAgent(kc.ctx);
  await runner.call('prepareRestore', () => agent.prepareRestore({ jobId: 77, where, replace, options }));
  for (const entry of entries) {
    const r = await runner.call('createFile', () => agent.createFile(entry), { path: entry.path });
    if (r === 'extract') {
      const file = join(filesRoot, Buffer.from(entry.path).toString('utf8'));
      for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
        await runner.call('writeData', () => agent.writeData(entry, entry.streams[0], chunk as Buffer), { path: entry.path });
      }
    }
    if (r !== 'skip') await runner.call('endFile', () => agent.endFile(entry, true), { path: entry.path });
  }
  await runner.call('endRestore', () => agent.endRestore());
  return kc.messages;
}
