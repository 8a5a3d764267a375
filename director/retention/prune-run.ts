/**
 * Running a prune: read the catalog, plan (prune-plan.ts), then — unless it
 * is a dry run — remove the planned jobs and file rows, purge the volumes no
 * kept job uses any more (moving them to their pool's recyclePool), and have
 * the SD truncate each purged volume to a fresh label so its space returns
 * to the disk and the volume can be reused ('recycle'). The SD refuses a
 * volume a read or append session still uses (CAIRN_E_VOLUME_BUSY): that
 * volume stays purged and is truncated by a later prune.
 */
import { isCairnError } from '../../plugin-api/index.js';
import type { Catalog, PoolSettings } from '../catalog/index.js';
import { planPrune, type PrunePlan, type PrunePlanInput } from './prune-plan.js';

/** Asks the SD that holds `volume` to truncate it (SdDirectorClient.truncateVolume). */
export type VolumeTruncator = (volume: string, pool: string) => Promise<{ bytesBefore: number; bytesAfter: number; blockSize: number; label: Record<string, unknown> }>;

export interface PruneOptions extends Pick<PrunePlanInput, 'clients' | 'keep' | 'scope'> {
  now?: Date;
  dryRun?: boolean;
  truncate?: VolumeTruncator;
}

export interface PruneReport extends PrunePlan {
  dryRun: boolean;
  /** Volumes marked purged by this run. */
  purged: string[];
  /** Volumes truncated (space returned) and ready for reuse. */
  truncated: Array<{ volume: string; bytesBefore: number; bytesAfter: number }>;
  /** Purged volumes the SD would not truncate now (in use), with why; a later prune retries. */
  deferred: Array<{ volume: string; code: string; reason: string }>;
}

/** Pools as the catalog holds them (the Director syncs its config, local mode its repository file, into it). */
export async function poolMap(catalog: Catalog): Promise<Map<string, PoolSettings>> {
  return new Map((await catalog.listPools()).map((p) => [p.name, p.settings]));
}

export async function runPrune(catalog: Catalog, o: PruneOptions = {}): Promise<PruneReport> {
  const now = o.now ?? new Date(catalog.clock());
  const [jobs, jobVolumes, volumes, pools] = await Promise.all([catalog.retention.allJobs(), catalog.retention.jobVolumes(), catalog.listVolumes(), poolMap(catalog)]);
  const plan = planPrune({ jobs, jobVolumes, volumes, pools, now, clients: o.clients, keep: o.keep, scope: o.scope });
  const report: PruneReport = { ...plan, dryRun: o.dryRun === true, purged: [], truncated: [], deferred: [] };
  if (o.dryRun) return report;
  await catalog.retention.deleteJobs(plan.remove);
  await catalog.retention.pruneFiles(plan.pruneFiles);
  for (const v of plan.volumes) {
    if (v.action === 'purge') {
      await catalog.purgeVolume(v.name, v.moveTo);
      report.purged.push(v.name);
    }
    if ((v.action === 'purge' || v.action === 'truncate') && v.recycle && o.truncate) {
      const pool = v.moveTo ?? v.pool;
      try {
        const r = await o.truncate(v.name, pool);
        await catalog.markVolumeTruncated(v.name, r.blockSize, r.label);
        report.truncated.push({ volume: v.name, bytesBefore: r.bytesBefore, bytesAfter: r.bytesAfter });
      } catch (err) {
        if (!isCairnError(err) || (err.code !== 'CAIRN_E_VOLUME_BUSY' && err.code !== 'CAIRN_E_VOLUME_NOT_FOUND')) throw err;
        report.deferred.push({ volume: v.name, code: err.code, reason: err.message });
      }
    }
  }
  return report;
}
