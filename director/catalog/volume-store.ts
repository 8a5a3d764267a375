/**
 * Volumes and pools in the catalog: the facts an SD asks for (appendable
 * volume, committed end, next name) and the Director's pool settings.
 * Writes that the SD relies on (create, committed end, status) are durable
 * commits: a volume must never be appended past what the catalog recorded.
 * Catalog extends this class; volumeCatalogPort() serves it to the SD.
 */
import { CairnError } from '../../plugin-api/index.js';
import type { CatalogDriver } from './driver.js';
import { jsonOrNull, toNum, volumeFromRow } from './row-codec.js';
import { and, eq, lt } from './sql/conditions.js';
import type { SqlValue } from './sql/conditions.js';
import type { QueryBuilder } from './sql/query-builder.js';
import type { CatalogVolume, NewVolume, VolumeChange, VolumeFilter } from './types.js';

/** Pool settings the catalog itself reads; the Director may store more. */
export interface PoolSettings {
  /** A volume with this many committed bytes or more is not offered for appending. */
  maxVolumeBytes?: number;
  [key: string]: unknown;
}

export class VolumeStore {
  protected constructor(
    protected readonly driver: CatalogDriver,
    protected readonly qb: QueryBuilder,
  ) {}

  async setPool(name: string, settings: PoolSettings): Promise<void> {
    await this.driver.run(
      this.qb.insert({
        into: 'pools',
        values: { name, settings: JSON.stringify(settings) },
        onConflict: { target: ['name'], update: { settings: { excluded: 'settings' } } },
      }),
    );
  }

  async getPool(name: string): Promise<PoolSettings | null> {
    const row = await this.driver.get(this.qb.select({ from: 'pools', columns: ['settings'], where: eq('name', name) }));
    return row === undefined ? null : jsonOrNull<PoolSettings>(row.settings);
  }

  /** Registers a new volume (status 'append' unless given). Durable. */
  createVolume(v: NewVolume): Promise<CatalogVolume> {
    return this.driver.transaction(
      async (tx) => {
        const exists = await tx.get(this.qb.select({ from: 'volumes', columns: ['id'], where: eq('name', v.name) }));
        if (exists !== undefined) {
          throw new CairnError('CAIRN_E_CATALOG_VOLUME_EXISTS', `volume ${v.name} is already in the catalog`, { volume: v.name, pool: v.pool });
        }
        const r = await tx.run(
          this.qb.insert({
            into: 'volumes',
            values: {
              name: v.name, pool: v.pool, media_type: v.mediaType, status: v.status ?? 'append',
              label: v.label == null ? null : JSON.stringify(v.label), created_at: Date.now(),
            },
            returning: ['name', 'pool', 'media_type', 'status', 'committed_bytes', 'committed_blocks', 'jobs', 'first_written', 'last_written', 'label'],
          }),
        );
        return volumeFromRow(r.rows[0]);
      },
      { durable: true },
    );
  }

  /** Registers a volume found on the media with everything known about it (bscan). Durable; CAIRN_E_CATALOG_VOLUME_EXISTS if present. */
  importVolume(v: CatalogVolume): Promise<void> {
    return this.driver.transaction(
      async (tx) => {
        const exists = await tx.get(this.qb.select({ from: 'volumes', columns: ['id'], where: eq('name', v.name) }));
        if (exists !== undefined) throw new CairnError('CAIRN_E_CATALOG_VOLUME_EXISTS', `volume ${v.name} is already in the catalog`, { volume: v.name, pool: v.pool });
        await tx.run(
          this.qb.insert({
            into: 'volumes',
            values: {
              name: v.name, pool: v.pool, media_type: v.mediaType, status: v.status, committed_bytes: v.committedBytes, committed_blocks: v.committedBlocks, jobs: v.jobs,
              first_written: v.firstWritten?.getTime() ?? null, last_written: v.lastWritten?.getTime() ?? null, label: v.label == null ? null : JSON.stringify(v.label), created_at: Date.now(),
            },
          }),
        );
      },
      { durable: true },
    );
  }

  async getVolume(name: string): Promise<CatalogVolume | null> {
    const row = await this.driver.get(this.qb.select({ from: 'volumes', where: eq('name', name) }));
    return row === undefined ? null : volumeFromRow(row);
  }

  /** The oldest volume of the pool and media type with status 'append' and room left (pool maxVolumeBytes), or null. */
  async findAppendableVolume(pool: string, mediaType: string): Promise<CatalogVolume | null> {
    const settings = await this.getPool(pool);
    const max = settings?.maxVolumeBytes;
    const row = await this.driver.get(
      this.qb.select({
        from: 'volumes',
        where: and(eq('pool', pool), eq('media_type', mediaType), eq('status', 'append'), typeof max === 'number' ? lt('committed_bytes', max) : undefined),
        orderBy: ['id'],
        limit: 1,
      }),
    );
    return row === undefined ? null : volumeFromRow(row);
  }

  /**
   * Records a status change or a new committed end. Durable. Writing
   * counters stamps last_written (and first_written the first time).
   */
  updateVolume(name: string, change: VolumeChange): Promise<void> {
    return this.driver.transaction(
      async (tx) => {
        const row = await tx.get(this.qb.select({ from: 'volumes', columns: ['first_written'], where: eq('name', name) }));
        if (row === undefined) throw new CairnError('CAIRN_E_CATALOG_NO_VOLUME', `no volume ${name} in the catalog`, { volume: name });
        const set: Record<string, SqlValue> = {};
        if (change.status !== undefined) set.status = change.status;
        if (change.committedBytes !== undefined) set.committed_bytes = change.committedBytes;
        if (change.committedBlocks !== undefined) set.committed_blocks = change.committedBlocks;
        if (change.jobs !== undefined) set.jobs = change.jobs;
        if (change.label !== undefined) set.label = change.label === null ? null : JSON.stringify(change.label);
        if (change.committedBytes !== undefined || change.committedBlocks !== undefined || change.jobs !== undefined) {
          const now = Date.now();
          set.last_written = now;
          if (row.first_written == null) set.first_written = now;
        }
        if (Object.keys(set).length === 0) return;
        await tx.run(this.qb.update({ table: 'volumes', set, where: eq('name', name) }));
      },
      { durable: true },
    );
  }

  async listVolumes(filter: VolumeFilter = {}): Promise<CatalogVolume[]> {
    const rows = await this.driver.all(
      this.qb.select({
        from: 'volumes',
        where: and(filter.pool === undefined ? undefined : eq('pool', filter.pool), filter.status === undefined ? undefined : eq('status', filter.status)),
        orderBy: ['id'],
      }),
    );
    return rows.map(volumeFromRow);
  }

  /**
   * `${pool}-0001`, `${pool}-0002`…: a counter per pool kept in the pools
   * table, skipping names already taken. The name is reserved by the counter,
   * not by a volume row: createVolume registers it.
   */
  nextVolumeName(pool: string): Promise<string> {
    return this.driver.transaction(async (tx) => {
      for (;;) {
        const r = await tx.run(
          this.qb.insert({
            into: 'pools',
            values: { name: pool, settings: '{}', volume_counter: 1 },
            onConflict: { target: ['name'], update: { volume_counter: { add: 1 } } },
            returning: ['volume_counter'],
          }),
        );
        const n = toNum(r.rows[0].volume_counter);
        const name = `${pool}-${String(n).padStart(4, '0')}`;
        const taken = await tx.get(this.qb.select({ from: 'volumes', columns: ['id'], where: eq('name', name) }));
        if (taken === undefined) return name;
      }
    });
  }
}
