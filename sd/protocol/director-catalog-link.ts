/**
 * DirectorCatalogLink: the SD's VolumeCatalogPort when it runs as a daemon.
 * Each catalog question travels as a request of the SD's own on a Director
 * connection (`catalog <operation>`, protocol.md §4.1) and the Director
 * answers from its catalog. The link uses the Director connection attached
 * most recently that is still open.
 */
import { CairnError } from '../../plugin-api/index.js';
import type { VolumeCatalogPort, VolumeInfo } from '../api.js';
import type { SdConnection } from './sd-connection.js';

/** The operations, by wire name (protocol.md §4.1), and the port method each one is. */
export const CATALOG_OPERATIONS = {
  'find-appendable-volume': 'findAppendableVolume',
  'create-volume': 'createVolume',
  'update-volume': 'updateVolume',
  'get-volume': 'getVolume',
  'next-volume-name': 'nextVolumeName',
} as const satisfies Record<string, keyof VolumeCatalogPort>;

export class DirectorCatalogLink implements VolumeCatalogPort {
  private readonly links: SdConnection[] = [];

  attach(conn: SdConnection): void {
    this.links.push(conn);
  }

  detach(conn: SdConnection): void {
    const i = this.links.indexOf(conn);
    if (i >= 0) this.links.splice(i, 1);
  }

  findAppendableVolume(pool: string, mediaType: string): Promise<VolumeInfo | null> {
    return this.ask('find-appendable-volume', [pool, mediaType]) as Promise<VolumeInfo | null>;
  }

  createVolume(info: { name: string; pool: string; mediaType: string }): Promise<VolumeInfo> {
    return this.ask('create-volume', [info]) as Promise<VolumeInfo>;
  }

  async updateVolume(name: string, change: Partial<Pick<VolumeInfo, 'status' | 'committedBytes' | 'committedBlocks' | 'jobs'>>): Promise<void> {
    await this.ask('update-volume', [name, change]);
  }

  getVolume(name: string): Promise<VolumeInfo | null> {
    return this.ask('get-volume', [name]) as Promise<VolumeInfo | null>;
  }

  nextVolumeName(pool: string): Promise<string> {
    return this.ask('next-volume-name', [pool]) as Promise<string>;
  }

  private async ask(op: keyof typeof CATALOG_OPERATIONS, args: unknown[]): Promise<unknown> {
    const conn = this.links[this.links.length - 1];
    if (!conn) {
      throw new CairnError('CAIRN_E_SD_NO_DIRECTOR', `The SD needs its Director's catalog (${op}) and no Director is connected.`, { operation: op });
    }
    const r = await conn.call(`catalog ${op}`, args);
    return (r.body as { result?: unknown } | undefined)?.result ?? null;
  }
}
