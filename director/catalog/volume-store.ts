/**
 * Volumes and pools in the catalog: the facts an SD asks for (appendable
 * volume, committed end, next name) and the pools' settings, whose limits
 * (jobs, bytes, use duration) are applied here when a volume is offered for
 * appending, and whose recycled volumes are offered once no appendable one
 * is left (oldest purge first). Writes that the SD relies on (create,
 * committed end, status) are durable commits: a volume must never be
 * appended past what the catalog recorded. Catalog extends this class;
 * volumeCatalogPort() serves it to the SD. Times come from `clock` (tests
 * and simulations inject one).
 */
import { CairnError } from '../../plugin-api/index.js';
import type { CatalogDriver } from './driver.js';
import { addDuration, parseDuration } from './duration.js';
import { DEFAULT_LABEL_TEMPLATE, expandLabelTemplate } from './label-template.js';
import { jsonOrNull, toNum, volumeFromRow } from './row-codec.js';
import { and, eq, inList } from './sql/conditions.js';
import type { SqlValue } from './sql/conditions.js';
import type { QueryBuilder } from './sql/query-builder.js';
import type { CatalogVolume, NewVolume, VolumeChange, VolumeFilter } from './types.js';

/** restic-style keep rules (counts: -1 = unlimited; durations as text, e.g. `30d`). */
export interface KeepRules {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  within?: string;
  withinHourly?: string;
  withinDaily?: string;
  withinWeekly?: string;
  withinMonthly?: string;
  withinYearly?: string;
}

/**
 * A pool's settings as the catalog keeps them (docs/catalog.md §Pools).
 * Durations are text (`30d`, `6m`, `1y`; duration.ts). Absent = no limit /
 * keep forever.
 */
export interface PoolSettings {
  /** Only volumes of this media type belong to the pool (default: any). */
  mediaType?: string;
  /** How new volumes are named (label-template.ts); default `${Pool}-${Counter:4}`. */
  labelFormat?: string;
  /** A volume with this many committed bytes is Full. */
  maxVolumeBytes?: number;
  /** A volume that started this many jobs is Used. */
  maxVolumeJobs?: number;
  /** A volume first written longer ago than this takes no new job (Used). */
  volumeUseDuration?: string;
  /** Where a purged volume of this pool goes (default: stays in the pool). */
  recyclePool?: string;
  jobRetention?: string;
  fileRetention?: string;
  volumeRetention?: string;
  /** Keep rules applied with the retention periods (a job either keeps is kept). */
  keep?: KeepRules;
  /** Prune after each job of the pool (default true when any retention rule is set). */
  autoPrune?: boolean;
  /** Purged volumes are truncated and reused (default true). */
  recycle?: boolean;
  [key: string]: unknown;
}

const VOLUME_COLUMNS = ['name', 'pool', 'media_type', 'status', 'committed_bytes', 'committed_blocks', 'jobs', 'first_written', 'last_written', 'label', 'protected', 'recycle_count', 'purged_at'];

export class VolumeStore {
  /** The catalog's clock for volume times (ms since epoch). */
  clock: () => number = Date.now;

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

  /** Every pool with its settings and name counter, by name. */
  async listPools(): Promise<Array<{ name: string; settings: PoolSettings; volumeCounter: number }>> {
    const rows = await this.driver.all(this.qb.select({ from: 'pools', orderBy: ['name'] }));
    return rows.map((r) => ({ name: String(r.name), settings: jsonOrNull<PoolSettings>(r.settings) ?? {}, volumeCounter: toNum(r.volume_counter) }));
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
              label: v.label == null ? null : JSON.stringify(v.label), created_at: this.clock(),
            },
            returning: VOLUME_COLUMNS,
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
              recycle_count: v.recycleCount ?? 0,
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

  /**
   * The volume as an SD about to start a job on it must see it: an
   * appendable volume past one of its pool's limits is first marked Used
   * (jobs, use duration) or Full (bytes). Durable when it changes.
   */
  async getVolumeForAppend(name: string): Promise<CatalogVolume | null> {
    const v = await this.getVolume(name);
    if (v === null || v.status !== 'append') return v;
    return this.applyLimits(v, (await this.getPool(v.pool)) ?? {});
  }

  private async applyLimits(v: CatalogVolume, s: PoolSettings): Promise<CatalogVolume> {
    let status: 'used' | 'full' | null = null;
    if (s.maxVolumeJobs !== undefined && v.jobs >= s.maxVolumeJobs) status = 'used';
    else if (s.maxVolumeBytes !== undefined && v.committedBytes >= s.maxVolumeBytes) status = 'full';
    else if (s.volumeUseDuration !== undefined && v.firstWritten !== null && this.clock() >= addDuration(v.firstWritten, parseDuration(s.volumeUseDuration, 'volumeUseDuration')).getTime()) status = 'used';
    if (status === null) return v;
    await this.updateVolume(v.name, { status });
    return { ...v, status };
  }

  /**
   * The oldest volume of the pool and media type with status 'append' that
   * is within its pool's limits (volumes past them are marked Used/Full on
   * the way); else the pool's recycled volume ('recycle': purged and
   * truncated) purged longest ago, now 'append' again; else null (the SD
   * labels a new one).
   */
  async findAppendableVolume(pool: string, mediaType: string): Promise<CatalogVolume | null> {
    const settings = (await this.getPool(pool)) ?? {};
    const rows = await this.driver.all(this.qb.select({ from: 'volumes', where: and(eq('pool', pool), eq('media_type', mediaType), eq('status', 'append')), orderBy: ['id'] }));
    for (const row of rows) {
      const v = await this.applyLimits(volumeFromRow(row), settings);
      if (v.status === 'append') return v;
    }
    if (settings.recycle === false) return null;
    return this.driver.transaction(
      async (tx) => {
        const rec = await tx.all(this.qb.select({ from: 'volumes', where: and(eq('pool', pool), eq('media_type', mediaType), eq('status', 'recycle'), eq('protected', false)), orderBy: ['purged_at', 'id'], limit: 1 }));
        if (rec.length === 0) return null;
        const r = await tx.run(
          this.qb.update({
            table: 'volumes',
            set: { status: 'append', jobs: 0, first_written: null, last_written: null, purged_at: null, recycle_count: { add: 1 } },
            where: and(eq('name', String(rec[0].name)), eq('status', 'recycle')),
            returning: VOLUME_COLUMNS,
          }),
        );
        return r.rows.length ? volumeFromRow(r.rows[0]) : null;
      },
      { durable: true },
    );
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
          const now = this.clock();
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

  /** Never recycle (true) or allow recycling again (false). Durable. */
  async setVolumeProtected(name: string, on: boolean): Promise<void> {
    const r = await this.driver.transaction((tx) => tx.run(this.qb.update({ table: 'volumes', set: { protected: on }, where: eq('name', name) })), { durable: true });
    if (r.changes === 0) throw new CairnError('CAIRN_E_CATALOG_NO_VOLUME', `no volume ${name} in the catalog`, { volume: name });
  }

  /**
   * A volume none of whose jobs is left: status 'purged' (data still on
   * it), moved to `pool` when given (its pool's recyclePool). Durable.
   */
  async purgeVolume(name: string, pool?: string): Promise<void> {
    await this.driver.transaction(
      (tx) => tx.run(this.qb.update({ table: 'volumes', set: { status: 'purged', purged_at: this.clock(), ...(pool ? { pool } : {}) }, where: and(eq('name', name), inList('status', ['append', 'full', 'used', 'error'])) })),
      { durable: true },
    );
  }

  /** A purged volume the SD truncated to its (new) label: ready to be reused ('recycle'). Durable. */
  async markVolumeTruncated(name: string, blockSize: number, label: Record<string, unknown> | null): Promise<void> {
    await this.driver.transaction(
      (tx) =>
        tx.run(
          this.qb.update({
            table: 'volumes',
            set: { status: 'recycle', committed_bytes: blockSize, committed_blocks: 1, jobs: 0, ...(label ? { label: JSON.stringify(label) } : {}) },
            where: and(eq('name', name), eq('status', 'purged')),
          }),
        ),
      { durable: true },
    );
  }

  /**
   * The pool's next volume name from its label template (labelFormat,
   * default `${Pool}-${Counter:4}`): a counter per pool kept in the pools
   * table, skipping names already taken. The name is reserved by the
   * counter, not by a volume row: createVolume registers it.
   */
  nextVolumeName(pool: string): Promise<string> {
    return this.driver.transaction(async (tx) => {
      for (;;) {
        const r = await tx.run(
          this.qb.insert({
            into: 'pools',
            values: { name: pool, settings: '{}', volume_counter: 1 },
            onConflict: { target: ['name'], update: { volume_counter: { add: 1 } } },
            returning: ['volume_counter', 'settings'],
          }),
        );
        const n = toNum(r.rows[0].volume_counter);
        const template = jsonOrNull<PoolSettings>(r.rows[0].settings)?.labelFormat ?? DEFAULT_LABEL_TEMPLATE;
        const name = expandLabelTemplate(template, { pool, counter: n, date: new Date(this.clock()) });
        const taken = await tx.get(this.qb.select({ from: 'volumes', columns: ['id'], where: eq('name', name) }));
        if (taken === undefined) return name;
      }
    });
  }
}
