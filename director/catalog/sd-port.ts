/**
 * volumeCatalogPort(): the SD's VolumeCatalogPort (sd/api.ts) implemented
 * directly on a Catalog, for local mode and for the Director's SD
 * connection. Pool limits travel with each volume (maxBytes, maxJobs) and
 * are applied by the catalog when a volume is offered or re-checked
 * (volume-store.ts). Also re-exports the SD contract types the catalog serves.
 */
import type { JobMediaRange, VolumeCatalogPort, VolumeInfo } from '../../sd/index.js';
import type { CatalogVolume } from './types.js';
import type { VolumeStore } from './volume-store.js';

export type { JobMediaRange, VolumeCatalogPort, VolumeInfo };

/** VolumeCatalogPort served straight from the catalog (all writes durable). */
export function volumeCatalogPort(catalog: VolumeStore): VolumeCatalogPort {
  const info = async (v: CatalogVolume): Promise<VolumeInfo> => {
    const pool = (await catalog.getPool(v.pool)) ?? {};
    return {
      name: v.name, pool: v.pool, mediaType: v.mediaType, status: v.status, committedBytes: v.committedBytes, committedBlocks: v.committedBlocks, jobs: v.jobs,
      ...(pool.maxVolumeBytes !== undefined ? { maxBytes: pool.maxVolumeBytes } : {}),
      ...(pool.maxVolumeJobs !== undefined ? { maxJobs: pool.maxVolumeJobs } : {}),
    };
  };
  return {
    findAppendableVolume: async (pool, mediaType) => {
      const v = await catalog.findAppendableVolume(pool, mediaType);
      return v === null ? null : info(v);
    },
    createVolume: async (i) => info(await catalog.createVolume({ name: i.name, pool: i.pool, mediaType: i.mediaType })),
    updateVolume: (name, change) => catalog.updateVolume(name, change),
    getVolume: async (name) => {
      const v = await catalog.getVolumeForAppend(name);
      return v === null ? null : info(v);
    },
    nextVolumeName: (pool) => catalog.nextVolumeName(pool),
  };
}
