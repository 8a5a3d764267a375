/**
 * Cold start (docs/cold-start.md): rebuild a repository's catalog from its
 * own volumes, with no catalog at all. The volumes are scanned with the SD's
 * volume reader for sessions of the `CatalogBackup` job; the newest one that
 * ended OK is read back through the ordinary restore path (an SD on the
 * volume folder, the FD and its fs agent: decompression, packs and digests
 * as in any restore), and its catalog copy, settings and bootstrap files are
 * put in place. Then the catalog is reconciled with what is on the volumes:
 * volumes it does not know are registered, volumes that hold more than it
 * counts (the catalog backup's own session, jobs run after the dump) are
 * marked Used at their real size, so nothing ever trims or appends over
 * that data; and the SD's session counter is moved past every session on
 * the volumes. A folder made by `catalog-backup --copy-to` may be given
 * instead of a volume folder: its catalog copy is used directly.
 */
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CairnError } from '../../plugin-api/index.js';
import { readVolume, type Bootstrap, type SessionStartLabel, type VolumeLabel } from '../../sd/index.js';
import { Catalog } from '../catalog/index.js';
import { CATALOG_BACKUP_JOB, PG_DUMP, SQLITE_DUMP, SUMMARY_JSON } from './catalog-backup.js';
import { LocalRepository, REPO_FILE, initRepository } from './repository.js';

/** What a scan of the volume folder found of one session. */
export interface FoundSession {
  sessionId: number;
  job: SessionStartLabel['job'];
  ok: boolean;
  /** Per volume, in the order met: the blocks of the session there. */
  spans: Array<{ volume: string; first: number; last: number; time: number }>;
}

export interface CatalogRestoreResult {
  repo: string;
  /** The catalog backup used: its job id and start, or the copy folder. */
  source: { jobId: number; startedAt: string; volumes: string[] } | { copy: string };
  jobs: number;
  volumes: number;
  /** Volumes registered or grown to their real size and marked Used. */
  adopted: Array<{ volume: string; bytes: number; was: string }>;
  nextSessionId: number;
}

const VOLUME_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export function volumeFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => VOLUME_NAME.test(n) && statSync(join(dir, n)).isFile()).sort();
}

/** Every session on the volumes (labels only are kept), and the highest session id seen. */
export type VolumeScan = { sessions: Map<number, FoundSession>; labels: Map<string, VolumeLabel>; maxSessionId: number };

export async function scanSessions(dir: string): Promise<VolumeScan> {
  const sessions = new Map<number, FoundSession>();
  const labels = new Map<string, VolumeLabel>();
  let maxSessionId = 0;
  for (const name of volumeFiles(dir)) {
    try {
      for await (const it of readVolume(join(dir, name))) {
        if (it.kind === 'volume-label') labels.set(name, it.label);
        else if (it.kind === 'session-start') {
          const id = it.label.sessionId;
          maxSessionId = Math.max(maxSessionId, id);
          const s = sessions.get(id) ?? { sessionId: id, job: it.label.job, ok: false, spans: [] };
          s.spans.push({ volume: name, first: it.block, last: it.block, time: it.label.time });
          sessions.set(id, s);
        } else if (it.kind === 'session-end') {
          const s = sessions.get(it.label.sessionId);
          const span = s?.spans.find((x) => x.volume === name);
          if (s && span) {
            span.last = Math.max(span.last, it.block);
            s.ok = it.label.status === 'ok';
          }
        } else if (it.kind === 'record') {
          it.release?.();
        }
      }
    } catch {
      // Not a volume (or a damaged label): skipped; the others may still hold the catalog backup.
    }
  }
  return { sessions, labels, maxSessionId };
}

/** The newest complete session of a catalog backup job (any of `jobNames`) on the scanned volumes. */
export function latestCatalogBackup(scan: VolumeScan, jobNames: readonly string[], from: string): FoundSession {
  const candidates = [...scan.sessions.values()].filter((s) => s.ok && jobNames.includes(s.job.jobName)).sort((a, b) => b.job.startedAt - a.job.startedAt || b.sessionId - a.sessionId);
  const latest = candidates[0];
  if (!latest) throw new CairnError('CAIRN_E_CATALOG_RESTORE_NONE', `no complete session of ${jobNames.join(' or ')} on the volumes in ${from}; is this the right folder?`, { from, jobs: jobNames });
  return latest;
}

/**
 * Reads a catalog backup session back through the ordinary restore path of a catalog-less local
 * repository at `repoPath` (its volumes folder holds the session's volumes) into `staged`; returns the
 * folder there holding the dump and the summary.
 */
export async function readCatalogBackup(repoPath: string, latest: FoundSession, staged: string): Promise<{ found: string; source: { jobId: number; startedAt: string; volumes: string[] } }> {
  const spans = [...latest.spans].sort((a, b) => a.time - b.time);
  const bootstrap: Bootstrap = { entries: spans.map((s) => ({ volume: s.volume, sessionId: latest.sessionId, startFile: 0, startBlock: s.first, endFile: 0, endBlock: s.last })) };
  rmSync(join(repoPath, 'catalog.db'), { force: true });
  const repo = await LocalRepository.open(repoPath);
  try {
    const grant = await repo.director.openReadSession(bootstrap);
    const outcome = await repo.files.restore({ mode: 'restore', restoreJobId: 0, where: staged, replace: 'always', sessions: [{ jobId: latest.job.jobId, grant }] });
    if (outcome.error || outcome.problems.length) {
      throw new CairnError('CAIRN_E_RESTORE_INCOMPLETE', `the catalog backup (job ${latest.job.jobId}) did not come back whole: ${outcome.error?.message ?? outcome.problems[0]?.text}`, { jobId: latest.job.jobId });
    }
  } finally {
    await repo.close();
  }
  const found = findDump(staged);
  if (!found) throw new CairnError('CAIRN_E_CATALOG_RESTORE_NONE', `job ${latest.job.jobId} holds no catalog copy (${SQLITE_DUMP} or ${PG_DUMP})`, { jobId: latest.job.jobId });
  return { found, source: { jobId: latest.job.jobId, startedAt: new Date(latest.job.startedAt).toISOString(), volumes: spans.map((s) => s.volume) } };
}

/** A folder made by `catalog-backup --copy-to` (or a catalog job's copyTo): the catalog copy and the summary. */
export function isCatalogCopy(dir: string): boolean {
  return (existsSync(join(dir, SQLITE_DUMP)) || existsSync(join(dir, PG_DUMP))) && existsSync(join(dir, SUMMARY_JSON));
}

export async function restoreCatalog(o: { from: string; repo: string; force?: boolean; volumes?: string }): Promise<CatalogRestoreResult> {
  const from = resolve(o.from);
  const repoPath = resolve(o.repo);
  const catalogFile = join(repoPath, 'catalog.db');
  if (existsSync(catalogFile) && !o.force) {
    throw new CairnError('CAIRN_E_CATALOG_RESTORE_EXISTS', `${repoPath} already has a catalog; restore into a new repository folder, or pass --force to replace it`, { repo: repoPath });
  }
  const isCopy = isCatalogCopy(from);
  const volumeDir = join(repoPath, 'volumes');
  initRepository(repoPath);
  // The volumes go into the repository's volume folder (from --from, or with a copy folder from --volumes).
  const volumesFrom = isCopy ? (o.volumes ? resolve(o.volumes) : null) : from;
  if (volumesFrom && volumesFrom !== resolve(volumeDir)) {
    for (const n of volumeFiles(volumesFrom)) if (!existsSync(join(volumeDir, n))) copyFileSync(join(volumesFrom, n), join(volumeDir, n));
  }
  const scan = await scanSessions(volumeDir);
  let source: CatalogRestoreResult['source'];
  const staged = join(repoPath, '.catalog-restore');
  rmSync(staged, { recursive: true, force: true });
  try {
    let found: string;
    if (isCopy) {
      found = from;
      source = { copy: from };
    } else {
      // A catalog-less repository over the same volume folder: its SD serves the read, its FD restores.
      ({ found, source } = await readCatalogBackup(repoPath, latestCatalogBackup(scan, [CATALOG_BACKUP_JOB], from), staged));
    }
    if (!existsSync(join(found, SQLITE_DUMP))) throw new CairnError('CAIRN_E_CATALOG_RESTORE_NONE', `${found} holds a PostgreSQL catalog dump (${PG_DUMP}): it belongs to a Director; restore it with catalog-restore --dir-config`, { from: found });
    for (const suffix of ['', '-wal', '-shm']) rmSync(catalogFile + suffix, { force: true });
    copyFileSync(join(found, SQLITE_DUMP), `${catalogFile}.tmp`);
    renameSync(`${catalogFile}.tmp`, catalogFile);
    if (existsSync(join(found, REPO_FILE))) copyFileSync(join(found, REPO_FILE), join(repoPath, REPO_FILE));
    if (existsSync(join(found, 'bootstraps'))) cpSync(join(found, 'bootstraps'), join(repoPath, 'bootstraps'), { recursive: true });
  } finally {
    rmSync(staged, { recursive: true, force: true });
  }
  const catalog = await Catalog.open(catalogFile);
  try {
    const r = await reconcile(catalog, volumeDir, scan);
    mkdirSync(join(repoPath, 'logs'), { recursive: true });
    return { repo: repoPath, source, ...r };
  } finally {
    await catalog.close();
  }
}

/** The folder under `root` holding the dump and the summary (restores land under the original absolute path). */
export function findDump(root: string): string | null {
  if (!existsSync(root)) return null;
  if (isCatalogCopy(root)) return root;
  for (const e of readdirSync(root, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const f = findDump(join(root, e.name));
    if (f) return f;
  }
  return null;
}

/**
 * The catalog put back, made to agree with the volumes: unknown volumes registered from their labels,
 * volumes holding more than it counts grown to their real size and marked Used (nothing trims or appends
 * over that data), and the SD's session counter in `volumeDir` moved past every session there.
 */
export async function reconcile(catalog: Catalog, volumeDir: string, scan: VolumeScan): Promise<Omit<CatalogRestoreResult, 'repo' | 'source'>> {
  const adopted: CatalogRestoreResult['adopted'] = [];
  for (const name of volumeFiles(volumeDir)) {
    const label = scan.labels.get(name);
    if (!label) continue;
    const bs = label.blockSize;
    const bytes = Math.floor(statSync(join(volumeDir, name)).size / bs) * bs;
    const v = await catalog.getVolume(name);
    if (!v) {
      await catalog.createVolume({ name, pool: label.pool, mediaType: label.mediaType, status: 'used', label });
      await catalog.updateVolume(name, { committedBytes: bytes, committedBlocks: bytes / bs });
      adopted.push({ volume: name, bytes, was: 'unknown' });
    } else if (bytes > v.committedBytes && (v.status === 'append' || v.status === 'full' || v.status === 'used')) {
      await catalog.updateVolume(name, { committedBytes: bytes, committedBlocks: bytes / bs, status: v.status === 'append' ? 'used' : v.status });
      adopted.push({ volume: name, bytes, was: `${v.status}, ${v.committedBytes} bytes` });
    }
  }
  // The SD's session counter (sd/session/session-counter.ts, .cairn-sd-state.json): past every session on the volumes.
  const stateFile = join(volumeDir, '.cairn-sd-state.json');
  let next = scan.maxSessionId + 1;
  try {
    next = Math.max(next, (JSON.parse(readFileSync(stateFile, 'utf8')) as { nextSessionId?: number }).nextSessionId ?? 0);
  } catch {
    // no counter yet
  }
  writeFileSync(`${stateFile}.tmp`, JSON.stringify({ nextSessionId: next }));
  renameSync(`${stateFile}.tmp`, stateFile);
  const jobs = (await catalog.retention.allJobs()).length;
  const volumes = (await catalog.listVolumes()).length;
  return { jobs, volumes, adopted, nextSessionId: next };
}
