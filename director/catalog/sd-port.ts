/**
 * The SD contract types the catalog serves (VolumeCatalogPort, VolumeInfo,
 * JobMediaRange), and volumeCatalogPort(): the port implemented directly on
 * a Catalog, for local mode and for the Director's SD connection.
 *
 * The types mirror sd/api.ts field for field. sd/ has no entry file
 * (sd/index.ts) yet, and director/ may import sd/ only through it; once it
 * exists these three declarations become re-exports from '../../sd/index.js'.
 * TypeScript's structural typing makes the mirror interchangeable meanwhile.
 */
import type { VolumeStore } from './volume-store.js';

export interface JobMediaRange {
  volume: string;
  sessionId: number;
  firstIndex: number;
  lastIndex: number;
  startFile: number;
  startBlock: number;
  endFile: number;
  endBlock: number;
}

export interface VolumeInfo {
  name: string;
  pool: string;
  mediaType: string;
  status: 'append' | 'full' | 'used' | 'error' | 'recycle' | 'purged';
  committedBytes: number;
  committedBlocks: number;
  jobs: number;
}

export interface VolumeCatalogPort {
  findAppendableVolume(pool: string, mediaType: string): Promise<VolumeInfo | null>;
  createVolume(info: { name: string; pool: string; mediaType: string }): Promise<VolumeInfo>;
  updateVolume(name: string, change: Partial<Pick<VolumeInfo, 'status' | 'committedBytes' | 'committedBlocks' | 'jobs'>>): Promise<void>;
  getVolume(name: string): Promise<VolumeInfo | null>;
  nextVolumeName(pool: string): Promise<string>;
}

/** VolumeCatalogPort served straight from the catalog (all writes durable). */
export function volumeCatalogPort(catalog: VolumeStore): VolumeCatalogPort {
  const info = (v: { name: string; pool: string; mediaType: string; status: VolumeInfo['status']; committedBytes: number; committedBlocks: number; jobs: number }): VolumeInfo => ({
    name: v.name, pool: v.pool, mediaType: v.mediaType, status: v.status, committedBytes: v.committedBytes, committedBlocks: v.committedBlocks, jobs: v.jobs,
  });
  return {
    findAppendableVolume: async (pool, mediaType) => {
      const v = await catalog.findAppendableVolume(pool, mediaType);
      return v === null ? null : info(v);
    },
    createVolume: async (i) => info(await catalog.createVolume({ name: i.name, pool: i.pool, mediaType: i.mediaType })),
    updateVolume: (name, change) => catalog.updateVolume(name, change),
    getVolume: async (name) => {
      const v = await catalog.getVolume(name);
      return v === null ? null : info(v);
    },
    nextVolumeName: (pool) => catalog.nextVolumeName(pool),
  };
}
