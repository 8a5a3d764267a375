/**
 * The prune plan (docs/retention.md): which jobs a prune keeps and why,
 * which it removes and why, whose file rows go, and which volumes are purged
 * and recycled. A pure function of the catalog's facts, the pools' and
 * clients' rules and `now`, so `prune --dry-run` prints exactly what a real
 * prune then does.
 *
 * A job is kept when any of these holds: it is protected; it is running;
 * its job retention has not run out (job time + period > now); a keep rule
 * of its group keeps it (keep-rules.ts); no rule applies to it at all; or a
 * kept job needs it — a kept Incremental or Differential needs its Full,
 * the Differential it builds on and the Incrementals between (the restore
 * chain), and when any job of that stretch holds a log agent's data
 * (`logChain`) every job back to the Full. The closure runs to a fixed
 * point, so no kept job ever loses a job its restore reads.
 */
import { addDuration, parseDuration, type CatalogJob, type CatalogVolume, type KeepRules, type PoolSettings } from '../catalog/index.js';
import { applyKeepRules, emptyKeepRules } from './keep-rules.js';

/** Retention periods set on a client (they override its pools' for its jobs). */
export interface ClientRetention {
  jobRetention?: string;
  fileRetention?: string;
}

export interface PrunePlanInput {
  jobs: readonly CatalogJob[];
  jobVolumes: ReadonlyMap<number, readonly string[]>;
  volumes: readonly CatalogVolume[];
  pools: ReadonlyMap<string, PoolSettings>;
  clients?: Readonly<Record<string, ClientRetention>>;
  now: Date;
  /** Keep rules for this run, replacing every pool's own (`prune --keep-*`). */
  keep?: KeepRules;
  /** Only jobs and volumes of pools this accepts are acted on (others are kept, and still count as needing their chains). */
  scope?: (pool: string) => boolean;
}

export interface PlannedJob {
  id: number;
  name: string;
  client: string;
  type: string;
  level: string | null;
  status: string;
  pool: string | null;
  startedAt: string;
  /** When job retention lets it go (null: no job retention applies). */
  expiresAt: string | null;
  action: 'keep' | 'remove' | 'prune-files';
  reasons: string[];
}

export interface PlannedVolume {
  name: string;
  pool: string;
  status: string;
  /** purge: no kept job left on it (then truncate, unless the pool does not recycle); truncate: purged earlier, recycling was deferred. */
  action: 'keep' | 'purge' | 'truncate';
  reasons: string[];
  /** The pool a purged volume moves to (its pool's recyclePool). */
  moveTo?: string;
  /** Whether its pool recycles (truncate and reuse) purged volumes. */
  recycle: boolean;
  expiresAt: string | null;
}

export interface PrunePlan {
  now: string;
  jobs: PlannedJob[];
  /** Jobs removed, oldest first. */
  remove: number[];
  /** Kept jobs whose file rows go (file retention). */
  pruneFiles: number[];
  volumes: PlannedVolume[];
}

const SUCCESS = new Set(['ok', 'warning']);
const iso = (d: Date): string => d.toISOString();

function isBackup(j: CatalogJob): boolean {
  return j.type === 'backup' && SUCCESS.has(j.status);
}

/** The jobs `job`'s restore reads, oldest first (it included), from its group's successful backups sorted by id. */
export function chainOf(job: CatalogJob, group: readonly CatalogJob[]): CatalogJob[] {
  const upTo = group.filter((j) => j.id <= job.id);
  const full = [...upTo].reverse().find((j) => j.level === 'full');
  if (!full) return [job];
  const after = upTo.filter((j) => j.id >= full.id);
  if (after.some((j) => j.logChain)) return after;
  const diff = [...after].reverse().find((j) => j.level === 'differential' && j.id > full.id);
  const since = diff?.id ?? full.id;
  return [full, ...(diff ? [diff] : []), ...after.filter((j) => j.level === 'incremental' && j.id > since)];
}

function role(j: CatalogJob, needer: CatalogJob): string {
  if (j.level === 'full') return 'its Full';
  if (j.level === 'differential') return 'its Differential';
  return needer.logChain || j.logChain ? 'its log chain' : 'its Incremental chain';
}

export function planPrune(input: PrunePlanInput): PrunePlan {
  const { now } = input;
  const scope = input.scope ?? (() => true);
  const settingsOf = (j: CatalogJob): PoolSettings => input.pools.get(j.pool ?? '') ?? {};
  const period = (j: CatalogJob, key: keyof ClientRetention): string | undefined => input.clients?.[j.client]?.[key] ?? (settingsOf(j)[key] as string | undefined);
  const expiry = (j: CatalogJob, key: keyof ClientRetention): Date | null => {
    const p = period(j, key);
    return p === undefined ? null : addDuration(j.startedAt, parseDuration(p, key));
  };

  // Groups of successful backups (client + job name), oldest id first.
  const groups = new Map<string, CatalogJob[]>();
  for (const j of input.jobs) {
    if (!isBackup(j)) continue;
    const k = `${j.client}\0${j.name}`;
    const g = groups.get(k) ?? [];
    g.push(j);
    groups.set(k, g);
  }
  for (const g of groups.values()) g.sort((a, b) => a.id - b.id);
  const groupOf = (j: CatalogJob) => groups.get(`${j.client}\0${j.name}`) ?? [j];

  const byRule = new Map<number, string[]>();
  const rulesOf = new Map<string, KeepRules | undefined>();
  for (const [k, g] of groups) {
    const rules = input.keep ?? settingsOf(g[g.length - 1]).keep;
    rulesOf.set(k, rules);
    if (emptyKeepRules(rules)) continue;
    for (const [id, reasons] of applyKeepRules(g.map((j) => ({ id: j.id, time: j.startedAt })), rules!, now)) byRule.set(id, reasons);
  }

  const keep = new Map<number, string[]>();
  const removeWhy = new Map<number, string[]>();
  for (const j of input.jobs) {
    const reasons: string[] = [];
    const why: string[] = [];
    const exp = expiry(j, 'jobRetention');
    const rules = isBackup(j) ? rulesOf.get(`${j.client}\0${j.name}`) : undefined;
    if (j.protected) reasons.push('protected');
    if (j.status === 'running') reasons.push('running');
    if (!scope(j.pool ?? '')) reasons.push(`pool ${j.pool ?? '(none)'} is not pruned in this run`);
    if (exp !== null) {
      if (now.getTime() < exp.getTime()) reasons.push(`job retention ${period(j, 'jobRetention')} until ${iso(exp)}`);
      else why.push(`job retention ${period(j, 'jobRetention')} ran out on ${iso(exp)}`);
    }
    reasons.push(...(byRule.get(j.id) ?? []));
    if (!emptyKeepRules(rules) && !byRule.has(j.id)) why.push('kept by no keep rule');
    if (exp === null && emptyKeepRules(rules)) reasons.push('no retention rule applies');
    if (reasons.length) keep.set(j.id, reasons);
    else removeWhy.set(j.id, why);
  }

  // Kept jobs keep what their restores read, to a fixed point.
  const byId = new Map(input.jobs.map((j) => [j.id, j]));
  const closure = (kept: Map<number, string[]>, dropped: Map<number, string[]> | null): void => {
    const queue = [...kept.keys()];
    while (queue.length) {
      const j = byId.get(queue.pop()!)!;
      if (!isBackup(j)) continue;
      for (const dep of chainOf(j, groupOf(j))) {
        if (dep.id === j.id) continue;
        const note = `needed by job ${j.id} (${role(dep, j)})`;
        const had = kept.get(dep.id);
        if (had) {
          if (!had.some((r) => r.startsWith('needed by'))) had.push(note);
          continue;
        }
        kept.set(dep.id, [note]);
        dropped?.delete(dep.id);
        queue.push(dep.id);
      }
    }
  };
  closure(keep, removeWhy);

  // File rows: a kept job keeps them while its file retention lasts, or while a job that keeps its own needs it.
  const filesKept = new Map<number, string[]>();
  for (const j of input.jobs) {
    if (!keep.has(j.id) || j.filesPruned) continue;
    const exp = expiry(j, 'fileRetention');
    if (j.protected || j.status === 'running' || !scope(j.pool ?? '') || exp === null || now.getTime() < exp.getTime()) filesKept.set(j.id, []);
  }
  closure(filesKept, null);

  const jobs: PlannedJob[] = [];
  const remove: number[] = [];
  const pruneFiles: number[] = [];
  for (const j of input.jobs) {
    const exp = expiry(j, 'jobRetention');
    const base = { id: j.id, name: j.name, client: j.client, type: j.type, level: j.level, status: j.status, pool: j.pool, startedAt: iso(j.startedAt), expiresAt: exp ? iso(exp) : null };
    if (!keep.has(j.id)) {
      remove.push(j.id);
      jobs.push({ ...base, action: 'remove', reasons: removeWhy.get(j.id) ?? [] });
      continue;
    }
    const reasons = [...keep.get(j.id)!];
    if (!j.filesPruned && !filesKept.has(j.id)) {
      pruneFiles.push(j.id);
      const fexp = expiry(j, 'fileRetention');
      jobs.push({ ...base, action: 'prune-files', reasons: [...reasons, `file retention ${period(j, 'fileRetention')} ran out on ${fexp ? iso(fexp) : '?'}`] });
    } else {
      jobs.push({ ...base, action: 'keep', reasons });
    }
  }

  // Volumes: purged once no kept job's data is on them, they are Full/Used/Error, their volume retention ran out,
  // they are not protected and no backup of their pool is running (its data may be landing on them).
  const onVolume = new Map<string, number[]>();
  for (const [id, vols] of input.jobVolumes) {
    if (!keep.has(id)) continue;
    for (const v of vols) onVolume.set(v, [...(onVolume.get(v) ?? []), id]);
  }
  const running = new Set(input.jobs.filter((j) => j.status === 'running' && j.type === 'backup').map((j) => j.pool ?? ''));
  const volumes: PlannedVolume[] = [];
  for (const v of input.volumes) {
    const s = input.pools.get(v.pool) ?? {};
    const recycle = s.recycle !== false;
    const vexp = s.volumeRetention !== undefined && v.lastWritten !== null ? addDuration(v.lastWritten, parseDuration(s.volumeRetention, 'volumeRetention')) : null;
    const base = { name: v.name, pool: v.pool, status: v.status, recycle, expiresAt: vexp ? iso(vexp) : null };
    const reasons: string[] = [];
    const held = onVolume.get(v.name) ?? [];
    if (v.status === 'purged') {
      if (recycle && scope(v.pool)) volumes.push({ ...base, action: 'truncate', reasons: [`purged on ${v.purgedAt ? iso(v.purgedAt) : '?'}; not truncated yet`] });
      else volumes.push({ ...base, action: 'keep', reasons: [recycle ? `pool ${v.pool} is not pruned in this run` : `pool ${v.pool} does not recycle`] });
      continue;
    }
    if (v.status === 'recycle') {
      volumes.push({ ...base, action: 'keep', reasons: ['recycled: empty, waiting to be reused'] });
      continue;
    }
    if (held.length) reasons.push(`holds kept job${held.length > 1 ? 's' : ''} ${held.join(', ')}`);
    if (v.status === 'append') reasons.push('still appendable');
    if (v.protected) reasons.push('protected');
    if (vexp && now.getTime() < vexp.getTime()) reasons.push(`volume retention ${s.volumeRetention} until ${iso(vexp)}`);
    if (running.has(v.pool)) reasons.push(`a backup of pool ${v.pool} is running`);
    if (!scope(v.pool)) reasons.push(`pool ${v.pool} is not pruned in this run`);
    if (reasons.length) {
      volumes.push({ ...base, action: 'keep', reasons });
      continue;
    }
    volumes.push({
      ...base,
      action: 'purge',
      reasons: [`no kept job left on it${vexp ? `; volume retention ${s.volumeRetention} ran out on ${iso(vexp)}` : ''}`],
      ...(s.recyclePool && s.recyclePool !== v.pool ? { moveTo: s.recyclePool } : {}),
    });
  }
  return { now: iso(now), jobs, remove, pruneFiles, volumes };
}
