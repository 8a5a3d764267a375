/**
 * What `volumes` and `pools` show, in local mode and through the Director's
 * console alike: each volume's state, bytes (committed, and allocated on
 * disk where the folder is known), jobs, last write, the jobs that hold it
 * and when it expires (from a dry-run prune plan); each pool's settings and
 * its volumes by state.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Catalog } from '../catalog/index.js';
import type { PruneReport } from './prune-run.js';

/** Volume rows for `volumes` (local and Director): state, bytes, jobs, last written, expiry, what holds it. */
export async function volumeRows(repo: { catalog: Catalog; prune(o: { dryRun: true }): Promise<PruneReport> }, volumeDir?: string): Promise<Array<Record<string, unknown>>> {
  const plan = await repo.prune({ dryRun: true });
  const vols = await repo.catalog.listVolumes();
  const media = await repo.catalog.retention.jobVolumes();
  const jobs = new Map(plan.jobs.map((j) => [j.id, j]));
  return vols.map((v) => {
    const held = [...media].filter(([id, vs]) => vs.includes(v.name) && jobs.get(id)?.action !== 'remove').map(([id]) => id);
    const planned = plan.volumes.find((p) => p.name === v.name);
    const jobExpiries = held.map((id) => jobs.get(id)?.expiresAt ?? null);
    const expiresAt = held.length === 0 || jobExpiries.includes(null) ? (held.length === 0 ? planned?.expiresAt ?? null : null) : [...jobExpiries, planned?.expiresAt ?? null].filter((x): x is string => x !== null).sort().at(-1) ?? null;
    let allocated: number | undefined;
    try {
      if (volumeDir) allocated = statSync(join(volumeDir, v.name)).blocks * 512;
    } catch {
      allocated = undefined;
    }
    return {
      name: v.name, pool: v.pool, mediaType: v.mediaType, status: v.status, bytes: v.committedBytes, ...(allocated !== undefined ? { allocatedBytes: allocated } : {}), jobs: v.jobs,
      heldBy: held, firstWritten: v.firstWritten?.toISOString() ?? null, lastWritten: v.lastWritten?.toISOString() ?? null, expiresAt,
      protected: v.protected, recycleCount: v.recycleCount, nextAction: planned?.action ?? 'keep', why: planned?.reasons ?? [],
    };
  });
}

/** Pool rows for `pools`: settings, volume counts by state, bytes, jobs, last written. */
export async function poolRows(catalog: Catalog): Promise<Array<Record<string, unknown>>> {
  const pools = await catalog.listPools();
  const vols = await catalog.listVolumes();
  const jobs = await catalog.retention.allJobs();
  const names = [...new Set([...pools.map((p) => p.name), ...vols.map((v) => v.pool)])].sort();
  return names.map((name) => {
    const p = pools.find((x) => x.name === name);
    const mine = vols.filter((v) => v.pool === name);
    const states: Record<string, number> = {};
    for (const v of mine) states[v.status] = (states[v.status] ?? 0) + 1;
    const last = mine.map((v) => v.lastWritten?.getTime() ?? 0).reduce((a, b) => Math.max(a, b), 0);
    return {
      name, settings: p?.settings ?? {}, volumeCounter: p?.volumeCounter ?? 0, volumes: mine.length, states,
      bytes: mine.reduce((n, v) => n + v.committedBytes, 0), jobs: jobs.filter((j) => j.pool === name && j.type === 'backup').length,
      lastWritten: last ? new Date(last).toISOString() : null,
    };
  });
}

