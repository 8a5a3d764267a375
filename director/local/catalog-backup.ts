/**
 * The catalog backup job (docs/cold-start.md): a consistent copy of the
 * catalog (SQLite online backup; `pg_dump` for a PostgreSQL catalog), the
 * repository settings, the bootstrap files folder if there is one, and an
 * "emergency restore" summary — every job, its chain and where its data lies
 * (volume, session, blocks), as JSON and as text — are staged in a folder and
 * written to storage as a regular Full backup job named `CatalogBackup`,
 * then optionally copied to a second place. `catalog-restore` finds that
 * job on the volumes without any catalog.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CairnError } from '../../plugin-api/index.js';
import { filesetFromObject } from '../../core/index.js';
import type { Catalog, CatalogJob } from '../catalog/index.js';
import { runBackupJob, type BackupRequest } from '../jobs/backup-job.js';
import type { JobPlumbing } from '../jobs/job-plumbing.js';
import type { JobReport } from '../jobs/job-report.js';

/** The job name the catalog backup runs under; catalog-restore looks for its sessions on the volumes. */
export const CATALOG_BACKUP_JOB = 'CatalogBackup';
export const SUMMARY_JSON = 'emergency-restore.json';
export const SUMMARY_TEXT = 'emergency-restore.txt';
export const SQLITE_DUMP = 'catalog.db';
export const PG_DUMP = 'catalog.pgdump';
/** A Director's catalog job also keeps its config file, under this name. */
export const DIR_CONFIG_COPY = 'cairn-dir.yaml';

export interface PgDumpTarget {
  database: string;
  user: string;
  host?: string;
  port?: number;
  password?: string;
  /** Folder holding pg_dump; default PATH. */
  binDir?: string;
}

export interface CatalogBackupOptions {
  /** Folder the dump is staged in (emptied first, removed after). */
  staging: string;
  /** The pool the job writes to. */
  pool: string;
  /** Files copied beside the dump: the repository settings file, the bootstrap files folder. */
  extras?: Array<{ from: string; as: string }>;
  /** A PostgreSQL catalog is dumped with pg_dump from here. */
  pg?: PgDumpTarget;
  /** A second place the staged files are copied to. */
  copyTo?: string;
  now?: () => Date;
  /** The job's name (default CatalogBackup; a Director runs it under its config name). */
  jobName?: string;
  /** What the Director's job control passes to any backup job. */
  job?: Pick<BackupRequest, 'signal' | 'onProgress' | 'onJobId' | 'scripts'>;
}

export interface CatalogBackupResult {
  report: JobReport;
  /** What was staged and backed up. */
  files: string[];
  copiedTo?: string;
}

/** The summary: enough to find every job's data on the volumes by hand if all else fails. */
export async function emergencySummary(catalog: Catalog, now: Date): Promise<Record<string, unknown>> {
  const jobs = await catalog.retention.allJobs();
  const vols = await catalog.listVolumes();
  const out: Array<Record<string, unknown>> = [];
  for (const j of jobs) {
    let chain: number[] = [];
    if (j.type === 'backup' && (j.status === 'ok' || j.status === 'warning')) chain = (await catalog.restoreChain(j).catch(() => [] as CatalogJob[])).map((c) => c.id);
    out.push({
      id: j.id, name: j.name, type: j.type, level: j.level, client: j.client, fileset: j.fileset, pool: j.pool, status: j.status,
      startedAt: j.startedAt.toISOString(), endedAt: j.endedAt?.toISOString() ?? null, files: j.files, bytes: j.bytes, sessionId: j.sessionId,
      protected: j.protected, filesPruned: j.filesPruned, chain, media: await catalog.jobMedia(j.id),
    });
  }
  return {
    format: 1,
    createdAt: now.toISOString(),
    catalog: { engine: catalog.engine, schemaVersion: await catalog.schemaVersion() },
    howToRestore: 'cairn catalog-restore --from VOLUME_FOLDER --repo NEW_REPOSITORY  (docs/cold-start.md)',
    volumes: vols.map((v) => ({ name: v.name, pool: v.pool, mediaType: v.mediaType, status: v.status, committedBytes: v.committedBytes, jobs: v.jobs, lastWritten: v.lastWritten?.toISOString() ?? null })),
    jobs: out,
  };
}

export function summaryText(s: Record<string, unknown>): string {
  const lines = [
    `Cairn emergency restore summary, written ${String(s.createdAt)}`,
    `Catalog: ${JSON.stringify(s.catalog)}`,
    `To rebuild the catalog: ${String(s.howToRestore)}`,
    '',
    'Volumes:',
    ...(s.volumes as Array<Record<string, unknown>>).map((v) => `  ${String(v.name).padEnd(24)} pool ${String(v.pool).padEnd(12)} ${String(v.status).padEnd(8)} ${v.committedBytes} bytes, ${v.jobs} jobs, last written ${v.lastWritten}`),
    '',
    'Jobs (id, name, level, status, started; chain; where the data is: volume session blocks):',
  ];
  for (const j of s.jobs as Array<Record<string, unknown>>) {
    lines.push(`  ${j.id} ${j.name} ${j.type}${j.level ? ` ${j.level}` : ''} ${j.status} ${j.startedAt} client ${j.client}, ${j.files} files, ${j.bytes} bytes${(j.chain as number[]).length ? `; restore reads jobs ${(j.chain as number[]).join(', ')}` : ''}`);
    for (const m of j.media as Array<Record<string, unknown>>) lines.push(`      ${m.volume} session ${m.sessionId} blocks ${m.startBlock}-${m.endBlock} files ${m.firstIndex}-${m.lastIndex}`);
  }
  return lines.join('\n') + '\n';
}

export async function runCatalogBackup(plumbing: JobPlumbing, o: CatalogBackupOptions): Promise<CatalogBackupResult> {
  const now = o.now ?? (() => new Date());
  const catalog = plumbing.catalog;
  rmSync(o.staging, { recursive: true, force: true });
  mkdirSync(o.staging, { recursive: true, mode: 0o700 });
  try {
    const files: string[] = [];
    if (catalog.engine === 'sqlite') {
      await catalog.backupTo(join(o.staging, SQLITE_DUMP));
      files.push(SQLITE_DUMP);
    } else {
      if (!o.pg) throw new CairnError('CAIRN_E_CATALOG_QUERY', 'a PostgreSQL catalog backup needs its connection (database, user, host)', {});
      await pgDump(o.pg, join(o.staging, PG_DUMP));
      files.push(PG_DUMP);
    }
    const summary = await emergencySummary(catalog, now());
    writeFileSync(join(o.staging, SUMMARY_JSON), JSON.stringify(summary, null, 1) + '\n');
    writeFileSync(join(o.staging, SUMMARY_TEXT), summaryText(summary));
    files.push(SUMMARY_JSON, SUMMARY_TEXT);
    for (const e of o.extras ?? []) {
      if (!existsSync(e.from)) continue;
      cpSync(e.from, join(o.staging, e.as), { recursive: true });
      files.push(e.as);
    }
    const jobName = o.jobName ?? CATALOG_BACKUP_JOB;
    const fileset = filesetFromObject({ name: jobName, include: [o.staging], options: { compression: 'zstd', level: 3 } }, 'catalog backup');
    const report = await runBackupJob({ ...pick(plumbing), pool: o.pool }, { ...o.job, fileset, jobName, level: 'full', now });
    let copiedTo: string | undefined;
    if (o.copyTo && (report.status === 'ok' || report.status === 'warning')) {
      mkdirSync(o.copyTo, { recursive: true });
      for (const f of files) cpSync(join(o.staging, f), join(o.copyTo, f), { recursive: true });
      copiedTo = o.copyTo;
    }
    return { report, files, copiedTo };
  } finally {
    rmSync(o.staging, { recursive: true, force: true });
  }
}

/** The plumbing without autoprune: a catalog backup never prunes. */
function pick(p: JobPlumbing): JobPlumbing {
  return {
    catalog: p.catalog, notifications: p.notifications, director: p.director, files: p.files, clientName: p.clientName, pool: p.pool,
    device: p.device, mirrorDevice: p.mirrorDevice, targetOnClient: p.targetOnClient, bootstrapDir: p.bootstrapDir,
  };
}

async function pgDump(t: PgDumpTarget, file: string): Promise<void> {
  const args = ['--format=custom', `--file=${file}`, `--dbname=${t.database}`, `--username=${t.user}`, ...(t.host ? [`--host=${t.host}`] : []), ...(t.port ? [`--port=${t.port}`] : [])];
  try {
    await promisify(execFile)(t.binDir ? join(t.binDir, 'pg_dump') : 'pg_dump', args, { env: { ...process.env, ...(t.password ? { PGPASSWORD: t.password } : {}) } });
  } catch (err) {
    throw new CairnError('CAIRN_E_CATALOG_QUERY', `pg_dump of the catalog failed: ${(err as Error).message}`, { database: t.database }, { cause: err });
  }
  if (!existsSync(file) || readFileSync(file).length === 0) throw new CairnError('CAIRN_E_CATALOG_QUERY', 'pg_dump wrote nothing', { database: t.database });
}
