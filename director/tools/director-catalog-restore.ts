/**
 * Cold start of a Director (docs/cold-start.md, "With a Director"): put
 * back the catalog its config names — a SQLite file or a PostgreSQL
 * database — from the newest session of its catalog job on the volumes, or
 * from a catalog job's copyTo folder, then make it agree with the volumes.
 *
 * The session is read through the ordinary restore path of a throwaway,
 * catalog-less local repository under the Director's working directory
 * whose volume folder holds symbolic links to just the volumes that session
 * spans (they are opened read-only; nothing is copied, nothing on the
 * volumes is changed). The Director must not be running (its
 * working-directory lock is taken), and the target catalog must be absent
 * or empty unless `force`.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { CairnError } from '../../plugin-api/index.js';
import { loadConfig, type CatalogConfig } from '../../config/index.js';
import { openConfiguredCatalog, postgresHost } from '../catalog/index.js';
import { CATALOG_BACKUP_JOB, DIR_CONFIG_COPY, PG_DUMP, SQLITE_DUMP, SUMMARY_JSON, SUMMARY_TEXT } from '../local/catalog-backup.js';
import { isCatalogCopy, latestCatalogBackup, readCatalogBackup, reconcile, scanSessions, type CatalogRestoreResult, type VolumeScan } from '../local/catalog-restore.js';
import { RepoLock } from '../local/repo-lock.js';
import { initRepository } from '../local/repository.js';

export interface DirectorCatalogRestoreOptions {
  /** The Director's config file (cairn-dir.yaml). */
  config: string;
  /** The volume folder (the SD device's folder), or a catalog job's copyTo folder. */
  from: string;
  /** With a copy folder: the volume folder to reconcile the catalog with. */
  volumes?: string;
  /** Replace a catalog that already holds tables or a file that exists. */
  force?: boolean;
  /** The catalog job's name; default: the config's catalog jobs, then CatalogBackup. */
  job?: string;
}

export interface DirectorCatalogRestoreResult extends Omit<CatalogRestoreResult, 'repo'> {
  catalog: string;
  /** Where the job's copy of the config and the emergency-restore summary were left. */
  kept: string;
  /** False when no volume folder was given with a copy folder: sizes and the session counter were not checked. */
  reconciled: boolean;
}

type PgCatalog = Extract<CatalogConfig, { engine: 'postgres' }>;

function pgClient(c: PgCatalog): pg.Client {
  return new pg.Client({ host: postgresHost(c), port: c.port, user: c.user, database: c.database, password: c.password });
}

/** What the target already holds: null when it is absent or empty. */
async function existingCatalog(c: CatalogConfig): Promise<string | null> {
  if (c.engine === 'sqlite') return existsSync(c.path) ? `the file ${c.path} exists` : null;
  const client = pgClient(c);
  try {
    await client.connect();
  } catch (err) {
    throw new CairnError('CAIRN_E_CATALOG_OPEN', `cannot connect to the catalog database ${c.database} on ${postgresHost(c)}:${c.port} as ${c.user}: ${(err as Error).message}; create it first (createdb -O ${c.user} ${c.database}), as for a new Director`, { database: c.database }, { cause: err });
  }
  try {
    const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM pg_catalog.pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')");
    return Number(rows[0].n) ? `the database ${c.database} holds ${rows[0].n} tables` : null;
  } finally {
    await client.end();
  }
}

async function pgRestore(c: PgCatalog, dump: string, clean: boolean): Promise<void> {
  const args = [`--dbname=${c.database}`, `--username=${c.user}`, `--host=${postgresHost(c)}`, `--port=${c.port}`, '--no-owner', '--exit-on-error', '--single-transaction', ...(clean ? ['--clean', '--if-exists'] : []), dump];
  const program = c.binDir ? join(c.binDir, 'pg_restore') : 'pg_restore';
  try {
    await promisify(execFile)(program, args, { env: { ...process.env, ...(c.password ? { PGPASSWORD: c.password } : {}) } });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const why = e.code === 'ENOENT' ? `${program} was not found (install PostgreSQL's client tools, or set director.catalog.binDir)` : (e.stderr || e.message).trim().split('\n').slice(-3).join(' / ');
    throw new CairnError('CAIRN_E_CATALOG_QUERY', `pg_restore of the catalog into ${c.database} failed: ${why}`, { database: c.database }, { cause: err });
  }
}

function installSqlite(path: string, dump: string): void {
  mkdirSync(resolve(path, '..'), { recursive: true });
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  copyFileSync(dump, `${path}.tmp`);
  renameSync(`${path}.tmp`, path);
}

export async function restoreDirectorCatalog(o: DirectorCatalogRestoreOptions): Promise<DirectorCatalogRestoreResult> {
  const { config: c } = loadConfig('dir', o.config);
  const d = c.director;
  const target = d.catalog;
  const from = resolve(o.from);
  mkdirSync(d.workingDirectory, { recursive: true, mode: 0o700 });
  const lock = await RepoLock.acquire(d.workingDirectory, 'catalog-restore');
  try {
    const there = await existingCatalog(target);
    if (there && !o.force) {
      throw new CairnError('CAIRN_E_CATALOG_RESTORE_EXISTS', `the Director's catalog is not empty (${there}); pass --force to replace it with the catalog backup`, { catalog: target.engine });
    }
    const isCopy = isCatalogCopy(from);
    const volumeDir = isCopy ? (o.volumes ? resolve(o.volumes) : null) : from;
    const scan: VolumeScan | null = volumeDir ? await scanSessions(volumeDir) : null;
    const work = join(d.workingDirectory, '.catalog-restore');
    const kept = join(d.workingDirectory, 'catalog-restore');
    rmSync(work, { recursive: true, force: true });
    let source: CatalogRestoreResult['source'];
    try {
      let found: string;
      if (isCopy) {
        found = from;
        source = { copy: from };
      } else {
        const names = o.job ? [o.job] : [...c.jobs.filter((j) => j.type === 'catalog').map((j) => j.name), CATALOG_BACKUP_JOB];
        const latest = latestCatalogBackup(scan!, names, from);
        initRepository(work);
        for (const span of latest.spans) if (!existsSync(join(work, 'volumes', span.volume))) symlinkSync(join(from, span.volume), join(work, 'volumes', span.volume));
        ({ found, source } = await readCatalogBackup(work, latest, join(work, 'staged')));
      }
      if (target.engine === 'sqlite') {
        if (!existsSync(join(found, SQLITE_DUMP))) throw new CairnError('CAIRN_E_CATALOG_RESTORE_NONE', `${found} holds no ${SQLITE_DUMP}, but the Director's catalog is SQLite (a PostgreSQL dump is ${PG_DUMP}: point director.catalog at PostgreSQL)`, { from: found });
        installSqlite(target.path, join(found, SQLITE_DUMP));
      } else {
        if (!existsSync(join(found, PG_DUMP))) throw new CairnError('CAIRN_E_CATALOG_RESTORE_NONE', `${found} holds no ${PG_DUMP}, but the Director's catalog is PostgreSQL (a SQLite copy is ${SQLITE_DUMP}: point director.catalog at it, engine sqlite)`, { from: found });
        await pgRestore(target, join(found, PG_DUMP), !!there);
      }
      if (existsSync(join(found, 'bootstraps'))) cpSync(join(found, 'bootstraps'), d.bootstrapDirectory, { recursive: true });
      rmSync(kept, { recursive: true, force: true });
      mkdirSync(kept, { recursive: true, mode: 0o700 });
      for (const f of [DIR_CONFIG_COPY, SUMMARY_JSON, SUMMARY_TEXT]) if (existsSync(join(found, f))) copyFileSync(join(found, f), join(kept, f));
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    const catalog = await openConfiguredCatalog(target);
    try {
      const r = scan && volumeDir
        ? await reconcile(catalog, volumeDir, scan)
        : { jobs: (await catalog.retention.allJobs()).length, volumes: (await catalog.listVolumes()).length, adopted: [], nextSessionId: 0 };
      return { catalog: target.engine === 'sqlite' ? target.path : `postgres ${target.database}`, source, kept, reconciled: !!scan, ...r };
    } finally {
      await catalog.close();
    }
  } finally {
    lock.release();
  }
}
