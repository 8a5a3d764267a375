/**
 * A local-mode repository: one folder holding the catalog (catalog.db), the
 * file volumes (volumes/), logs and a small format file (cairn-repo.json).
 * Opening one wires Director, FD and SD in this process; they talk the real
 * SD protocol over in-memory duplex pairs (sd/ duplexPair), the same code
 * the daemons run over TCP.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import { CairnError } from '../../plugin-api/index.js';
import { FdRunner, FileDaemon, isolationFromMapping, isolationWithEnv } from '../../core/index.js';
import type { JobPlumbing } from '../jobs/job-plumbing.js';
import { platformFileServices, nativeStatus } from '../../native/index.js';
import { SdDirectorClient, SdSessionClient, StorageDaemon, duplexPair, type SdNotification } from '../../sd/index.js';
import { Catalog, checkLabelTemplate, parseDuration, volumeCatalogPort, type PoolSettings } from '../catalog/index.js';
import { runPrune, type PruneOptions, type PruneReport } from '../retention/prune-run.js';
import type { ClientRetention } from '../retention/prune-plan.js';
import { fdCryptoOf, repoRestoreKeys, type RepoEncryption } from './repo-keys.js';

export const REPO_FORMAT = 1;
export const REPO_FILE = 'cairn-repo.json';

export interface RepoSettings {
  /** Bytes after which a file volume is closed and the next one labelled. */
  maxVolumeBytes: number;
  /** Jobs after which a file volume is closed. */
  maxVolumeJobs: number;
  /** Block size of file volumes. */
  blockSize: number;
  /** The pool backups write to. */
  pool: string;
  /** The repository's pools: name → settings (labelFormat, limits, retention, keep rules; docs/retention.md). */
  pools?: Record<string, PoolSettings>;
  /** Retention periods per client name (they override the pool's for that client's jobs). */
  clients?: Record<string, ClientRetention>;
  /** The pool catalog backups write to (default: `pool`). */
  catalogPool?: string;
  /** Where agents run (flat mapping as cairn-fd.yaml's plugins.isolation); CAIRN_AGENT_ISOLATION overrides it. */
  plugins?: { isolation?: Record<string, string> };
  /** Programs agents may run through ctx.commands (the pipe agent's readers and writers), as cairn-fd.yaml's commands.allow. */
  commands?: { allow?: string[] };
  /**
   * The repository's device, when it is not the file volumes in volumes/: a vtape (a file, or with `slots` an
   * autochanger folder; `path` relative to the repository) — docs/tape.md. `blockSize` above applies to it.
   */
  device?: { type: 'vtape'; path: string; slots?: number; capacity?: number; filemarkBytes?: number; maxMediaWaitSeconds?: number; spool?: boolean };
}

export const DEFAULT_REPO_SETTINGS: RepoSettings = {
  // 4 GiB: large enough that a laptop backup fits on few volumes, small enough to copy to FAT32-less media in pieces.
  maxVolumeBytes: 4 * 1024 ** 3,
  maxVolumeJobs: 0,
  // 1 MiB blocks: one block per 1 MiB data record, few headers, large sequential writes.
  blockSize: 1 << 20,
  pool: 'Default',
};

/** The repository path from --repo, then CAIRN_REPO, then the user's data directory. */
export function defaultRepoPath(flag?: string): string {
  if (flag) return resolve(flag);
  if (process.env.CAIRN_REPO) return resolve(process.env.CAIRN_REPO);
  const data = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(data, 'cairn', 'repo');
}

/** Rewrites the repository file's settings (atomically: temp file, rename). */
export function writeRepoSettings(path: string, settings: RepoSettings): void {
  const file = join(path, REPO_FILE);
  const meta = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify({ ...meta, settings }, null, 2) + '\n', { mode: 0o644 });
  renameSync(tmp, file);
}

/** Checks a pool's settings (label template, durations); throws the catalog's error codes. */
export function checkPoolSettings(name: string, s: PoolSettings): void {
  if (s.labelFormat !== undefined) checkLabelTemplate(s.labelFormat);
  for (const k of ['jobRetention', 'fileRetention', 'volumeRetention', 'volumeUseDuration'] as const) if (s[k] !== undefined) parseDuration(s[k]!, `pool ${name} ${k}`);
  for (const k of ['within', 'withinHourly', 'withinDaily', 'withinWeekly', 'withinMonthly', 'withinYearly'] as const) if (s.keep?.[k] !== undefined) parseDuration(s.keep[k]!, `pool ${name} keep.${k}`);
}

/** cairn-repo.json. `encryption`: an encrypted repository (director/local/repo-keys.ts); absent: backups are not encrypted. */
export interface RepoMeta {
  format: number;
  created?: string;
  settings?: Partial<RepoSettings>;
  encryption?: RepoEncryption;
}

export function initRepository(path: string, settings: Partial<RepoSettings> = {}, encryption?: RepoEncryption): { created: boolean } {
  const file = join(path, REPO_FILE);
  if (existsSync(file)) return { created: false };
  mkdirSync(join(path, 'volumes'), { recursive: true });
  mkdirSync(join(path, 'logs'), { recursive: true });
  const meta: RepoMeta = { format: REPO_FORMAT, created: new Date().toISOString(), settings: { ...DEFAULT_REPO_SETTINGS, ...settings }, ...(encryption ? { encryption } : {}) };
  writeFileSync(file, JSON.stringify(meta, null, 2) + '\n', { mode: 0o644 });
  return { created: true };
}

/** Reads cairn-repo.json. */
export function readRepoMeta(path: string): RepoMeta {
  const file = join(path, REPO_FILE);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RepoMeta;
  } catch (err) {
    throw new CairnError('CAIRN_E_REPO_INVALID', `${file} is not readable JSON: ${(err as Error).message}`, { repo: path }, { cause: err });
  }
}

/** Rewrites cairn-repo.json (atomically: a temporary then a rename). */
export function writeRepoMeta(path: string, meta: RepoMeta): void {
  const file = join(path, REPO_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(meta, null, 2) + '\n', { mode: 0o644 });
  renameSync(tmp, file);
}

export class LocalRepository implements JobPlumbing {
  readonly notifications = new Map<number, (n: SdNotification) => void>();
  /** The FD as job control drives it: sessions reached over in-memory pairs to this process's SD. */
  readonly files: FdRunner;
  readonly clientName = hostname();
  /** Bootstrap files of this repository's jobs (docs/bootstrap.md). */
  get bootstrapDir(): string {
    return join(this.path, 'bootstrap');
  }

  private constructor(
    readonly path: string,
    readonly settings: RepoSettings,
    readonly catalog: Catalog,
    readonly sd: StorageDaemon,
    readonly director: SdDirectorClient,
    readonly fd: FileDaemon,
    readonly logger: Logger,
    /** The repository's encryption settings, or null for one that is not encrypted. */
    readonly encryption: RepoEncryption | null = null,
  ) {
    this.files = new FdRunner(fd, async () => this.connectFd());
  }

  get pool(): string {
    return this.settings.pool;
  }

  /**
   * Opens the repository. `clock` (tests, simulations) is the time the catalog stamps volumes with and the
   * default time of prunes; job control takes its own `now`.
   */
  static async open(path: string, opts: { create?: boolean; logger?: Logger; clock?: () => Date } = {}): Promise<LocalRepository> {
    const file = join(path, REPO_FILE);
    if (!existsSync(file)) {
      if (!opts.create) {
        throw new CairnError('CAIRN_E_REPO_NOT_FOUND', `no Cairn repository at ${path} (create one with \`cairn init --repo ${path}\`, or pass --repo / set CAIRN_REPO)`, { repo: path });
      }
      initRepository(path);
    }
    const meta = readRepoMeta(path);
    if (meta.format !== REPO_FORMAT) {
      throw new CairnError('CAIRN_E_REPO_INVALID', `repository ${path} has format ${meta.format}; this cairn reads format ${REPO_FORMAT}`, { repo: path, format: meta.format });
    }
    const settings = { ...DEFAULT_REPO_SETTINGS, ...meta.settings };
    mkdirSync(join(path, 'logs'), { recursive: true });
    const logger = opts.logger ?? pino({ level: process.env.CAIRN_LOG_LEVEL ?? 'info' }, pino.destination({ dest: join(path, 'logs', 'cairn.log'), sync: true, mkdir: true }));
    const status = nativeStatus();
    if (!status.loaded) logger.warn({ degraded: status.degraded, error: status.error }, 'native addon not loaded: running degraded');
    const catalog = await Catalog.open(join(path, 'catalog.db'));
    if (opts.clock) {
      const clock = opts.clock;
      catalog.clock = () => clock().getTime();
    }
    try {
      // The repository file is where local mode's pools are defined; the catalog's pools table is what the SD port reads.
      for (const [name, p] of Object.entries(settings.pools ?? {})) {
        checkPoolSettings(name, p);
        await catalog.setPool(name, p);
      }
    } catch (err) {
      await catalog.close();
      throw err;
    }
    const dev = settings.device;
    const sd = new StorageDaemon({
      device: dev
        ? {
            type: 'vtape',
            path: resolve(path, dev.path),
            slots: dev.slots,
            capacity: dev.capacity,
            maxMediaWaitMs: dev.maxMediaWaitSeconds !== undefined ? dev.maxMediaWaitSeconds * 1000 : undefined,
            // Local mode has no operator console while a job runs: the mount request goes to stderr.
            onMountRequest: (r) => r && process.stderr.write(`cairn: mount request: ${r.message} (waiting up to ${Math.round(r.maxWaitMs / 1000)} s; \`cairn mount\` from another shell)\n`),
            stateDir: join(path, 'volumes'),
          }
        : join(path, 'volumes'),
      ...(dev?.filemarkBytes !== undefined ? { filemarkBytes: dev.filemarkBytes } : {}),
      ...(dev?.spool ? { spool: { dir: join(path, 'spool') } } : {}),
      blockSize: settings.blockSize,
      maxVolumeBytes: settings.maxVolumeBytes,
      maxVolumeJobs: settings.maxVolumeJobs,
      catalog: volumeCatalogPort(catalog),
      logger: logger.child({ part: 'sd' }),
    });
    const [dirEnd, sdEnd] = duplexPair();
    sd.handleConnection(sdEnd);
    const director = new SdDirectorClient(dirEnd);
    const encryption = meta.encryption;
    const fd = new FileDaemon({
      policy: { pluginDirs: [join(path, 'plugins')], allow: [], isolation: isolationWithEnv(isolationFromMapping(settings.plugins?.isolation, `${file}: settings.plugins.isolation`)) },
      platform: platformFileServices(),
      logger: logger.child({ part: 'fd' }),
      // The key file is read when a backup starts (it signs), never at open: listing jobs needs no key.
      ...(encryption ? { crypto: () => fdCryptoOf(encryption), restoreKeys: () => repoRestoreKeys(encryption) } : {}),
      allowCommands: settings.commands?.allow ?? [],
    });
    const repo = new LocalRepository(path, settings, catalog, sd, director, fd, logger, encryption ?? null);
    director.onNotification((n) => repo.notifications.get(n.jobId)?.(n));
    return repo;
  }

  /**
   * Jobs left 'running' by a process that died (killed, power cut): only the
   * lock holder may call this, so no other process is running them. They are
   * marked Error with a log line that says so; their volume tails are trimmed
   * when the SD next mounts the volume. Returns the job ids.
   */
  async recoverInterruptedJobs(): Promise<number[]> {
    const stale = await this.catalog.listJobs({ status: 'running', limit: 1000 });
    for (const job of stale) {
      const text = 'the process running this job ended before the job did (killed or crashed); nothing it wrote counts';
      await this.catalog.addJobLog(job.id, { level: 'error', code: 'CAIRN_E_JOB_INTERRUPTED', text });
      await this.catalog.finishJob(job.id, {
        status: 'error',
        endedAt: new Date(),
        files: job.files,
        bytes: job.bytes,
        errors: 1,
        report: { error: { code: 'CAIRN_E_JOB_INTERRUPTED', message: text } },
      });
      this.logger.warn({ jobId: job.id }, text);
    }
    return stale.map((j) => j.id);
  }

  /** A prune with this repository's client rules, truncating purged volumes through the SD. */
  prune(opts: Omit<PruneOptions, 'clients' | 'truncate'> = {}): Promise<PruneReport> {
    return runPrune(this.catalog, {
      ...opts,
      clients: this.settings.clients,
      truncate: (volume, pool) => this.director.truncateVolume(volume, { pool }),
    });
  }

  /** After each backup: prune the pools that autoprune (autoPrune not false) when any retention rule is set. */
  async autoPrune(now: Date): Promise<PruneReport | null> {
    const pools = this.settings.pools ?? {};
    const ruled = Object.values(pools).some((p) => p.jobRetention || p.fileRetention || p.volumeRetention || p.keep) || Object.keys(this.settings.clients ?? {}).length > 0;
    if (!ruled) return null;
    return this.prune({ now, scope: (pool) => pools[pool]?.autoPrune !== false });
  }

  /** A fresh FD→SD connection (one per job, as a remote FD would open). */
  connectFd(): SdSessionClient {
    const [fdEnd, sdEnd] = duplexPair();
    this.sd.handleConnection(sdEnd);
    return new SdSessionClient(fdEnd);
  }

  async close(): Promise<void> {
    await this.fd.close();
    await this.director.close();
    await this.sd.close();
    await this.catalog.close();
    await new Promise<void>((r) => this.logger.flush(() => r()));
  }
}
