/**
 * DirectorCatalogLink: the SD's VolumeCatalogPort when it runs as a daemon.
 * Each catalog question travels as a request of the SD's own on a Director
 * connection (`catalog <operation>`, protocol.md §4.1) and the Director
 * answers from its catalog. The link uses the Director connection attached
 * most recently that is still open.
 *
 * While no Director is connected (it restarts mid-job), sessions go on:
 * volume updates (committed size, status, job count) are kept, merged per
 * volume, and delivered first thing to the next Director that attaches —
 * kept in a state file too (a daemon's spool folder), written before the
 * update counts as done, so they survive an SD restart as the job's spooled
 * session-closed does (docs/volume-format.md §7);
 * questions that need an answer (a rollover's next volume) wait for a
 * Director, up to `waitMs`, then fail with CAIRN_E_SD_NO_DIRECTOR.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CairnError } from '../../plugin-api/index.js';
import type { VolumeCatalogPort, VolumeInfo } from '../api.js';
import { syncDirectory } from '../device/file-device.js';
import type { SdConnection } from './sd-connection.js';

/** The operations, by wire name (protocol.md §4.1), and the port method each one is. */
export const CATALOG_OPERATIONS = {
  'find-appendable-volume': 'findAppendableVolume',
  'create-volume': 'createVolume',
  'update-volume': 'updateVolume',
  'get-volume': 'getVolume',
  'next-volume-name': 'nextVolumeName',
} as const satisfies Record<string, keyof VolumeCatalogPort>;

/** How long a catalog question waits for a Director to (re)connect. */
export const DIRECTOR_WAIT_MS = 10 * 60_000;

type VolumeChange = Partial<Pick<VolumeInfo, 'status' | 'committedBytes' | 'committedBlocks' | 'jobs'>>;

export class DirectorCatalogLink implements VolumeCatalogPort {
  private readonly links: SdConnection[] = [];
  /** Volume updates made while no Director was connected, merged per volume, in first-change order. */
  private readonly pending = new Map<string, VolumeChange>();
  private readonly waiters = new Set<() => void>();
  /** Delivery of the pending updates to the Director that attached last. */
  private flushing: Promise<void> = Promise.resolve();

  /** Writes of the state file, one after another. */
  private saving: Promise<void> = Promise.resolve();

  /** `stateFile`: where kept updates survive a restart (null: memory only, local mode and tests). */
  constructor(
    private readonly waitMs = DIRECTOR_WAIT_MS,
    private readonly stateFile: string | null = null,
  ) {
    if (stateFile) for (const [name, change] of readKept(stateFile)) this.pending.set(name, change);
  }

  /** The kept updates as they are now, in the state file (temp file, fsync, rename, directory fsync). */
  private persist(): Promise<void> {
    const file = this.stateFile;
    if (!file) return Promise.resolve();
    const p = this.saving.then(async () => {
      const snapshot = JSON.stringify({ volumes: [...this.pending] });
      await fs.promises.mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.tmp`;
      const fh = await fs.promises.open(tmp, 'w');
      try {
        await fh.writeFile(snapshot);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fs.promises.rename(tmp, file);
      await syncDirectory(path.dirname(file));
    });
    this.saving = p.catch(() => undefined);
    return p;
  }

  attach(conn: SdConnection): void {
    this.links.push(conn);
    if (this.pending.size) this.flushing = this.flush(conn);
    for (const w of this.waiters) w();
    this.waiters.clear();
  }

  private async flush(conn: SdConnection): Promise<void> {
    for (const [name, change] of [...this.pending]) {
      await conn.call('catalog update-volume', [name, change]);
      if (this.pending.get(name) === change) {
        this.pending.delete(name);
        await this.persist();
      }
    }
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

  async updateVolume(name: string, change: VolumeChange): Promise<void> {
    if (this.links.length === 0 || this.pending.has(name)) {
      // No Director now (or an older change of this volume is still to be delivered): keep it, in order — on disk
      // before it counts as done (the session's close goes on to report the session durable).
      this.pending.set(name, { ...this.pending.get(name), ...change });
      await this.persist();
      if (this.links.length) {
        // Delivered before the caller goes on (a session's close then notifies the Director): the catalog has it first.
        const conn = this.links[this.links.length - 1];
        this.flushing = this.flushing.catch(() => undefined).then(() => this.flush(conn));
        await this.flushing.catch(() => undefined);
      }
      return;
    }
    await this.ask('update-volume', [name, change]);
  }

  getVolume(name: string): Promise<VolumeInfo | null> {
    return this.ask('get-volume', [name]) as Promise<VolumeInfo | null>;
  }

  nextVolumeName(pool: string): Promise<string> {
    return this.ask('next-volume-name', [pool]) as Promise<string>;
  }

  private async ask(op: keyof typeof CATALOG_OPERATIONS, args: unknown[]): Promise<unknown> {
    if (this.links.length === 0) await this.director(op);
    await this.flushing.catch(() => undefined);
    const conn = this.links[this.links.length - 1];
    if (!conn) throw new CairnError('CAIRN_E_SD_NO_DIRECTOR', `The SD needs its Director's catalog (${op}) and no Director is connected.`, { operation: op });
    const r = await conn.call(`catalog ${op}`, args);
    return (r.body as { result?: unknown } | undefined)?.result ?? null;
  }

  /** Resolves once the volume updates kept while no Director was connected have reached one (or failed). */
  async delivered(): Promise<void> {
    await this.flushing.catch(() => undefined);
  }

  /** Waits for a Director to attach, at most waitMs. */
  private director(op: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(done);
        reject(new CairnError('CAIRN_E_SD_NO_DIRECTOR', `The SD needs its Director's catalog (${op}) and no Director connected within ${Math.round(this.waitMs / 1000)} s.`, { operation: op, waitedMs: this.waitMs }));
      }, this.waitMs);
      timer.unref();
      this.waiters.add(done);
    });
  }
}

/** The updates a state file keeps; none when it is missing (a torn temp file is never read: it is renamed whole). */
function readKept(file: string): Array<[string, VolumeChange]> {
  try {
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { volumes?: Array<[string, VolumeChange]> };
    return Array.isArray(doc.volumes) ? doc.volumes.filter((e) => Array.isArray(e) && typeof e[0] === 'string' && e[1] && typeof e[1] === 'object') : [];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new CairnError('CAIRN_E_SD_STATE', `The SD's kept volume updates in ${file} cannot be read: ${(err as Error).message}. Restore or remove the file (its updates then reach the catalog no more).`, { file }, { cause: err });
  }
}
