/**
 * An in-memory VolumeCatalogPort (a Map) for sd/ tests and local experiments.
 * Not a catalog: no persistence, no pruning.
 */
import type { VolumeCatalogPort, VolumeInfo } from '../api.js';

export class MemoryCatalog implements VolumeCatalogPort {
  readonly volumes = new Map<string, VolumeInfo>();
  private seq = 0;

  async findAppendableVolume(pool: string, mediaType: string): Promise<VolumeInfo | null> {
    for (const v of this.volumes.values()) if (v.pool === pool && v.mediaType === mediaType && v.status === 'append') return { ...v };
    return null;
  }

  async createVolume(info: { name: string; pool: string; mediaType: string }): Promise<VolumeInfo> {
    const v: VolumeInfo = { ...info, status: 'append', committedBytes: 0, committedBlocks: 0, jobs: 0 };
    this.volumes.set(info.name, v);
    return { ...v };
  }

  async updateVolume(name: string, change: Partial<Pick<VolumeInfo, 'status' | 'committedBytes' | 'committedBlocks' | 'jobs'>>): Promise<void> {
    const v = this.volumes.get(name);
    if (!v) throw new Error(`no volume ${name}`);
    Object.assign(v, change);
  }

  async getVolume(name: string): Promise<VolumeInfo | null> {
    const v = this.volumes.get(name);
    return v ? { ...v } : null;
  }

  async nextVolumeName(pool: string): Promise<string> {
    return `${pool}-${String(++this.seq).padStart(4, '0')}`;
  }
}
