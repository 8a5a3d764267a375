/**
 * DirectorService: the Director as a daemon runs it. From its config it
 * knows the clients (FDs), storages (SDs), filesets and jobs; it runs backup
 * jobs (from the console or the scheduler) and restores with the same job
 * control as local mode, the FD and SD reached over the network. It keeps
 * the running jobs (progress, cancel, waiters), refuses to start a job that
 * is still running, and holds each job to the Director's, the client's and
 * the storage's maximum of concurrent jobs (a job over a limit waits).
 */
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { CairnError, isCairnError, type Level, type ReplacePolicy } from '../../plugin-api/index.js';
import { filesetFromObject, mergeOverrides, parseEncryptionHeader, parseOptionArgs, type AgentOptionOverrides, type CairnKey, type Fileset, type KeyWrap, type RewrapJob } from '../../core/index.js';
import type { SdNotification } from '../../sd/index.js';
import type { ClientEntry, DirConfig, JobEntry, StorageEntry } from '../../config/index.js';
import type { Catalog, CatalogJob } from '../catalog/index.js';
import { runBackupJob } from '../jobs/backup-job.js';
import { runRestoreJob, runVerifyJob } from '../jobs/restore-job.js';
import { runVolumeVerifyJob } from '../jobs/verify-volume-job.js';
import { runCatalogVerifyJob } from '../jobs/verify-catalog-job.js';
import { resumeBackupJob } from '../jobs/resume-job.js';
import { estimateJob, type EstimateReport } from '../jobs/estimate-job.js';
import { resolveBackupJob, resolveRestorePoint } from '../jobs/resolve-job.js';
import { EXIT_CODES, type JobReport } from '../jobs/job-report.js';
import type { JobPlumbing } from '../jobs/job-plumbing.js';
import { RemoteFd } from '../remote/remote-fd.js';
import { StorageLink } from './storage-link.js';
import { ConcurrencyGate } from './concurrency-gate.js';
import { jobScripts } from './job-scripts.js';
import { JobNotifier } from './job-notifications.js';
import { runPrune, type PruneOptions, type PruneReport } from '../retention/prune-run.js';
import { DIR_CONFIG_COPY, runCatalogBackup } from '../local/catalog-backup.js';
import type { PoolSettings } from '../catalog/index.js';

/** Jobs per `rewrap` request to an FD (each a header of about a kilobyte). */
const REWRAP_PAGE_JOBS = 200;

export interface DirectorServiceOptions {
  config: DirConfig;
  catalog: Catalog;
  logger: Logger;
  /** Opens an authenticated connection to a client's FD. */
  connectClient(client: ClientEntry): Promise<Duplex>;
  /** Opens an authenticated connection to a storage's SD. */
  connectStorage(storage: StorageEntry): Promise<Duplex>;
  /** The Director's config file: catalog jobs back it up beside the catalog. */
  configFile?: string;
}

export interface JobProgress {
  files: number;
  bytes: number;
  /** ms since epoch */
  at: number;
}

export interface RunningJob {
  /** Catalog job id, known once the job has been created in the catalog. */
  jobId: number | null;
  /** The console's handle: the catalog id once known, a negative number while the job waits for its turn. */
  handle: number;
  name: string;
  type: 'backup' | 'restore' | 'verify';
  level?: Level;
  client: string;
  state: 'waiting' | 'running';
  startedAt: number;
  progress: JobProgress;
  controller: AbortController;
  done: Promise<JobReport>;
  /** Resolves with the catalog id once job control created the job (or, if it ended before that, the report's id or the handle). */
  identified: Promise<number>;
  listeners: Set<(p: JobProgress) => void>;
}

export interface RestoreCommand {
  job: string;
  jobName?: string;
  asAt?: string;
  to: string;
  paths: string[];
  replace: ReplacePolicy;
  client?: string;
  /** 1: read the job's mirrored copy instead of the primary. */
  copy?: number;
  /** `--option AGENT.KEY=VALUE` words for this restore. */
  options?: string[];
}

export class DirectorService {
  private readonly notifications = new Map<number, (n: SdNotification) => void>();
  private readonly links = new Map<string, StorageLink>();
  private readonly running = new Map<number, RunningJob>();
  private readonly finished = new Map<number, JobReport>();
  /** Jobs ended since the Director started, by type and status (the metrics endpoint's counter). */
  private readonly endedCounts = new Map<string, number>();
  private readonly gate: ConcurrencyGate;
  private nextWaitingHandle = -1;

  private readonly notifier: JobNotifier;

  constructor(private readonly o: DirectorServiceOptions) {
    const c = o.config;
    this.notifier = new JobNotifier(c.messages.notify ?? [], o.logger);
    this.gate = new ConcurrencyGate({
      director: c.director.maxConcurrentJobs,
      clients: Object.fromEntries(c.clients.map((x) => [x.name, x.maxConcurrentJobs])),
      storages: Object.fromEntries(c.storages.map((x) => [x.name, x.maxConcurrentJobs])),
    });
  }

  get catalog(): Catalog {
    return this.o.catalog;
  }

  get config(): DirConfig {
    return this.o.config;
  }

  jobs(): Array<Omit<RunningJob, 'controller' | 'done' | 'identified' | 'listeners'>> {
    return [...new Set(this.running.values())].map(({ controller: _c, done: _d, identified: _i, listeners: _l, identify: _f, ...j }: RunningJob & { identify?: unknown }) => j);
  }

  /** How many jobs ended since the Director started, by type and status. */
  endedTotals(): Array<{ type: string; status: string; count: number }> {
    return [...this.endedCounts].map(([k, count]) => {
      const [type, status] = k.split('\t');
      return { type, status, count };
    });
  }

  /** Starts a backup job by its config name. Resolves when it is queued, with its handle. */
  runJob(name: string, opts: { level?: Level; now?: () => Date; agentOptions?: AgentOptionOverrides } = {}): RunningJob {
    const job = this.o.config.jobs.find((j) => j.name === name);
    if (!job) throw new CairnError('CAIRN_E_JOB_NOT_FOUND', `no job named "${name}" in the Director's config (jobs: ${this.o.config.jobs.map((j) => j.name).join(', ') || 'none'})`, { job: name });
    for (const r of this.running.values()) {
      if (r.type === 'backup' && r.name === name) {
        throw new CairnError('CAIRN_E_JOB_RUNNING', `job "${name}" is still running (job ${r.jobId ?? 'waiting'}); it is not started twice`, { job: name, jobId: r.jobId });
      }
    }
    const client = this.client(job.client);
    const storage = this.storage(job.storage);
    const fileset = job.type === 'backup' ? this.fileset(job.fileset) : null;
    const level = job.type === 'catalog' ? 'full' : (opts.level ?? job.level);
    const agentOptions = mergeOverrides(job.agentOptions, opts.agentOptions);
    return this.track({ name, type: 'backup', level, client: client.name }, storage.name, async (r) => {
      // A failed job is run again, up to maxRetries times, retryDelaySeconds apart (a cancelled one is not).
      for (let attempt = 0; ; attempt++) {
        const plumbing = { ...this.plumbing(client, storage, job.pool), mirrorDevice: job.mirrorDevice };
        const remote = plumbing.files as RemoteFd;
        const control = {
          signal: r.controller.signal,
          onProgress: (c: { files: number; bytes: number }) => this.progress(r, c.files, c.bytes),
          onJobId: (id: number) => this.identify(r, id),
          scripts: jobScripts(job, level, { catalog: this.o.catalog, logger: this.o.logger, runOnClient: (argv, env) => remote.runCommand(argv, env) }),
        };
        const report = fileset
          ? await runBackupJob(plumbing, { ...control, fileset, jobName: name, level, now: opts.now, agentOptions, maxBandwidth: job.maxBandwidth })
          : await this.catalogJob(plumbing, job, control, opts.now);
        if (report.status !== 'error' || attempt >= job.maxRetries || r.controller.signal.aborted) return report;
        this.o.logger.warn({ job: name, jobId: report.jobId, attempt: attempt + 1, of: job.maxRetries, delaySeconds: job.retryDelaySeconds }, 'job failed; it will be retried');
        await new Promise<void>((res) => {
          const t = setTimeout(res, job.retryDelaySeconds * 1000);
          r.controller.signal.addEventListener('abort', () => (clearTimeout(t), res()), { once: true });
        });
        if (r.controller.signal.aborted) return report;
      }
    });
  }

  /**
   * A catalog job (docs/cold-start.md): the catalog (SQLite online backup or pg_dump), this config file, the
   * bootstrap files and the emergency-restore summary, staged under the working directory, where the job's
   * client — an FD on this host — reads them.
   */
  private async catalogJob(plumbing: JobPlumbing, job: JobEntry, control: NonNullable<Parameters<typeof runCatalogBackup>[1]['job']>, now?: () => Date): Promise<JobReport> {
    const d = this.o.config.director;
    const c = d.catalog;
    const { report } = await runCatalogBackup(plumbing, {
      staging: join(d.workingDirectory, `catalog-backup-${job.name.replace(/[^A-Za-z0-9._-]/g, '_')}`),
      pool: job.pool,
      pg: c.engine === 'postgres' ? { database: c.database, user: c.user, host: c.socketDir ?? c.host, port: c.port, password: c.password, binDir: c.binDir } : undefined,
      extras: [...(this.o.configFile ? [{ from: this.o.configFile, as: DIR_CONFIG_COPY }] : []), { from: d.bootstrapDirectory, as: 'bootstraps' }],
      copyTo: job.copyTo,
      jobName: job.name,
      job: control,
      now,
    });
    return report;
  }

  /**
   * At start: the jobs a previous Director left running. A backup whose session was opened is taken over
   * (resume-job.ts: the SD replays its notifications, the FD hands over its outcome); any other is marked
   * Error, CAIRN_E_JOB_INTERRUPTED. Returns the taken-over jobs (their `done` settles when they are complete).
   */
  async recover(): Promise<RunningJob[]> {
    const resumed: RunningJob[] = [];
    for (const job of await this.o.catalog.listJobs({ status: 'running', limit: 1000 })) {
      const def = this.o.config.jobs.find((j) => j.name === job.name);
      const client = this.o.config.clients.find((c) => c.name === job.client);
      const storage = def && this.o.config.storages.find((s) => s.name === def.storage);
      if (job.type !== 'backup' || !job.sessionId || !def || !client || !storage) {
        const why = job.type !== 'backup' ? 'a restore or verify cannot be taken over' : !job.sessionId ? 'its session had not opened' : 'its job, client or storage is no longer in the config';
        await this.markInterrupted(job, why);
        continue;
      }
      this.o.logger.warn({ jobId: job.id, job: job.name }, 'a backup job was running when the Director stopped; taking it over');
      resumed.push(
        this.track({ name: job.name, type: 'backup', level: job.level as Level, client: client.name }, storage.name, async (r) => {
          this.identify(r, job.id);
          const plumbing = { ...this.plumbing(client, storage, def.pool), mirrorDevice: def.mirrorDevice };
          const remote = plumbing.files as RemoteFd;
          return resumeBackupJob(plumbing, {
            job,
            outcome: (signal) => remote.backupResult(job.id, signal),
            signal: r.controller.signal,
            scripts: jobScripts(def, job.level as Level, { catalog: this.o.catalog, logger: this.o.logger, runOnClient: (argv, env) => remote.runCommand(argv, env) }),
          });
        }),
      );
    }
    return resumed;
  }

  private async markInterrupted(job: CatalogJob, why: string): Promise<void> {
    const text = `the Director stopped before this job ended and ${why}; nothing it wrote counts`;
    await this.o.catalog.addJobLog(job.id, { level: 'error', code: 'CAIRN_E_JOB_INTERRUPTED', text });
    await this.o.catalog.finishJob(job.id, { status: 'error', endedAt: new Date(), files: job.files, bytes: job.bytes, errors: 1, report: { error: { code: 'CAIRN_E_JOB_INTERRUPTED', message: text } } });
    this.o.logger.warn({ jobId: job.id }, text);
  }

  /** Starts a restore of a backup job (`latest` or an id) onto its client or another. */
  async restore(cmd: RestoreCommand): Promise<RunningJob> {
    const asAt = cmd.asAt ? new Date(cmd.asAt) : undefined;
    const configJob = cmd.jobName ? this.o.config.jobs.find((j) => j.name === cmd.jobName) : undefined;
    const { job, recoveryTarget } = await resolveRestorePoint(this.o.catalog, cmd.job, { asAt, name: cmd.jobName, client: configJob?.client });
    const jobDef: JobEntry | undefined = this.o.config.jobs.find((j) => j.name === job.name);
    const client = this.client(cmd.client ?? job.client);
    const storage = this.storage(jobDef?.storage ?? this.o.config.storages[0]?.name);
    const pool = jobDef?.pool ?? job.pool ?? 'Default';
    const agentOptions = parseOptionArgs(cmd.options);
    return this.track({ name: job.name, type: 'restore', client: client.name }, storage.name, (r) =>
      runRestoreJob(this.plumbing(client, storage, pool), {
        job,
        recoveryTarget,
        to: cmd.to,
        paths: cmd.paths,
        replace: cmd.replace,
        copy: cmd.copy,
        signal: r.controller.signal,
        onFile: (_p, bytes) => this.progress(r, r.progress.files + 1, bytes),
        onJobId: (id) => this.identify(r, id),
        agentOptions,
      }),
    );
  }

  /** Writes the config's pools into the catalog (the SD port and prunes read them there). Called at start. */
  async syncPools(): Promise<void> {
    for (const p of this.o.config.pools) {
      const { name, ...rest } = p;
      await this.o.catalog.setPool(name, rest as PoolSettings);
    }
  }

  /** A prune by the pools' and clients' rules; purged volumes are truncated by the SD of their media type. */
  prune(opts: Omit<PruneOptions, 'clients' | 'truncate'> = {}): Promise<PruneReport> {
    const clients = Object.fromEntries(this.o.config.clients.map((c) => [c.name, { jobRetention: c.jobRetention, fileRetention: c.fileRetention }]));
    return runPrune(this.o.catalog, {
      ...opts,
      clients,
      truncate: async (volume, pool) => {
        const v = await this.o.catalog.getVolume(volume);
        const storage = this.o.config.storages.find((s) => s.mediaType === v?.mediaType);
        if (!storage) throw new CairnError('CAIRN_E_VOLUME_BUSY', `no storage of media type ${v?.mediaType} to truncate volume ${volume} on`, { volume });
        return this.link(storage).truncateVolume(volume, pool);
      },
    });
  }

  /** `estimate JOB`: the files and bytes the job would send at its (or the given) level; no job is created. */
  async estimate(name: string, opts: { level?: Level } = {}): Promise<EstimateReport> {
    const job = this.o.config.jobs.find((j) => j.name === name);
    if (!job) throw new CairnError('CAIRN_E_JOB_NOT_FOUND', `no job named "${name}" in the Director's config (jobs: ${this.o.config.jobs.map((j) => j.name).join(', ') || 'none'})`, { job: name });
    if (job.type === 'catalog') throw new CairnError('CAIRN_E_NOT_AVAILABLE', `job "${name}" is a catalog job: what it sends is made when it runs (a catalog dump), so it has no estimate`, { job: name });
    const client = this.client(job.client);
    const plumbing = this.plumbing(client, this.storage(job.storage), job.pool);
    return estimateJob(plumbing, { fileset: this.fileset(job.fileset), jobName: name, level: opts.level ?? job.level });
  }

  /**
   * `verify` (docs/protocol.md §10): level `volume` asks the job's SD to check its blocks (no data moves, no key);
   * `data` has the job's FD read the records back and check every digest; `catalog` has the job's FD compare its
   * live files with the catalog's tree (`verify live`, §9.4: no volume is read).
   */
  async verify(cmd: { job: string; level?: string; jobName?: string }): Promise<RunningJob> {
    const level = cmd.level ?? 'data';
    if (level !== 'volume' && level !== 'data' && level !== 'catalog') throw new CairnError('CAIRN_E_USAGE', `verify level "${level}" is not catalog, volume or data`, { level });
    const configJob = cmd.jobName ? this.o.config.jobs.find((j) => j.name === cmd.jobName) : undefined;
    const job: CatalogJob = await resolveBackupJob(this.o.catalog, cmd.job, { name: cmd.jobName, client: configJob?.client });
    const jobDef: JobEntry | undefined = this.o.config.jobs.find((j) => j.name === job.name);
    const client = this.client(job.client);
    const storage = this.storage(jobDef?.storage ?? this.o.config.storages[0]?.name);
    const plumbing = this.plumbing(client, storage, jobDef?.pool ?? job.pool ?? 'Default');
    return this.track({ name: job.name, type: 'verify', client: client.name }, storage.name, (r) => {
      const onJobId = (id: number) => this.identify(r, id);
      if (level === 'volume') return runVolumeVerifyJob(plumbing, job, { onJobId });
      if (level === 'catalog') return runCatalogVerifyJob(plumbing, job, { onJobId, signal: r.controller.signal, onProgress: (files, bytes) => this.progress(r, files, bytes) });
      return runVerifyJob(plumbing, job, r.controller.signal, { onJobId });
    });
  }

  /**
   * `key rotate --client NAME` (protocol.md §10): the client's FD opens the data key of each of its encrypted jobs
   * with its current key and wraps it to `recipient` (a public key: the private half stays with the admin); the
   * new wraps go into the catalog, so restores work with the new key, and come back as a keyring for restores from
   * the volumes alone. Nothing on the volumes is rewritten. Jobs already wrapped to the recipient are skipped.
   */
  async rotateClientKey(clientName: string, recipient: CairnKey): Promise<{ client: string; to: string; rewrapped: number; skipped: number; failed: Array<{ jobId: number; code: string; message: string }>; keyring: Array<{ jobId: number; wrap: KeyWrap }> }> {
    const client = this.client(clientName);
    const cat = this.o.catalog;
    const jobs: RewrapJob[] = [];
    const mine = new Set<number>();
    let skipped = 0;
    for (const jobId of await cat.encryptedJobIds()) {
      const job = await cat.getJob(jobId);
      const c = await cat.jobCrypto(jobId);
      if (!job || job.client !== client.name || !c) continue;
      mine.add(jobId);
      const header = parseEncryptionHeader(c.header, `catalog encryption header of job ${jobId}`);
      const wraps = (await cat.keyWraps(jobId)).map((w) => w.wrap as unknown as KeyWrap);
      if ([...header.wraps, ...wraps].some((w) => w.fingerprint === recipient.fingerprint)) {
        skipped++;
        continue;
      }
      jobs.push({ jobId, header, wraps });
    }
    const remote = this.plumbing(client, this.o.config.storages[0], 'Default').files as RemoteFd;
    const failed: Array<{ jobId: number; code: string; message: string }> = [];
    let rewrapped = 0;
    for (let i = 0; i < jobs.length; i += REWRAP_PAGE_JOBS) {
      const r = await remote.rewrap(recipient, jobs.slice(i, i + REWRAP_PAGE_JOBS));
      await cat.addKeyWraps(r.wraps);
      rewrapped += r.wraps.length;
      failed.push(...r.failed);
    }
    const keyring = (await cat.keyWraps()).filter((w) => mine.has(w.jobId)).map((w) => ({ jobId: w.jobId, wrap: w.wrap as unknown as KeyWrap }));
    this.o.logger.info({ client: client.name, to: recipient.fingerprint, rewrapped, skipped, failed: failed.length }, 'client key rotation: data keys re-wrapped');
    return { client: client.name, to: recipient.fingerprint, rewrapped, skipped, failed, keyring };
  }

  /** `status client NAME`: asks the FD. */
  async clientStatus(name: string): Promise<Record<string, unknown>> {
    const client = this.client(name);
    const storage = this.o.config.storages[0];
    return { client: name, address: `${client.address}:${client.port}`, ...(await (this.plumbing(client, storage, 'Default').files as RemoteFd).status()) };
  }

  /** `status storage NAME`: asks the SD. */
  async storageStatus(name: string): Promise<Record<string, unknown>> {
    const storage = this.storage(name);
    const address = storage.command ? `command: ${storage.command.join(' ')}` : `${storage.address}:${storage.port}`;
    return { storage: name, address, ...(await this.link(storage).status()) };
  }

  /** A tape media command on a storage's SD (console `media`, `mount`, `unmount`, `label`). */
  async storageMedia(op: 'media' | 'mount' | 'unmount' | 'label', a: { storage: string; device?: string; slot?: number; name?: string; pool?: string; scan?: boolean }): Promise<Record<string, unknown>> {
    const storage = this.storage(a.storage);
    return { storage: a.storage, ...(await this.link(storage).media(op, { ...a, device: a.device ?? storage.device })) };
  }

  /** The running job, or the report of a finished one. */
  lookup(handle: number): RunningJob | JobReport | null {
    return this.running.get(handle) ?? this.finished.get(handle) ?? null;
  }

  cancel(handle: number): void {
    const r = this.running.get(handle);
    if (!r) throw new CairnError('CAIRN_E_JOB_NOT_FOUND', `job ${handle} is not running`, { jobId: handle });
    r.controller.abort(new CairnError('CAIRN_E_JOB_CANCELLED', 'cancelled from the console', { jobId: handle }));
  }

  async close(): Promise<void> {
    for (const r of this.running.values()) r.controller.abort(new CairnError('CAIRN_E_JOB_CANCELLED', 'the Director is shutting down', { jobId: r.jobId }));
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
    await this.notifier.drain();
    for (const l of this.links.values()) await l.close();
  }

  private plumbing(client: ClientEntry, storage: StorageEntry, pool: string): JobPlumbing {
    return {
      catalog: this.o.catalog,
      notifications: this.notifications,
      director: this.link(storage),
      files: new RemoteFd({
        client: client.name,
        connect: () => this.o.connectClient(client),
        sd: { name: storage.name, address: storage.address, port: storage.port, tls: storage.tls.mode },
        heartbeatMs: this.o.config.director.heartbeatSeconds * 1000,
      }),
      clientName: client.name,
      pool,
      device: storage.device,
      targetOnClient: true,
      autoPrune: (now) => {
        const pools = new Map(this.o.config.pools.map((p) => [p.name, p]));
        return this.prune({ now, scope: (name) => pools.get(name)?.autoPrune !== false });
      },
      bootstrapDir: this.o.config.director.bootstrapDirectory,
    };
  }

  private link(storage: StorageEntry): StorageLink {
    let l = this.links.get(storage.name);
    if (!l) {
      l = new StorageLink(storage.name, { connect: () => this.o.connectStorage(storage), catalog: this.o.catalog, notifications: this.notifications, logger: this.o.logger, heartbeatMs: this.o.config.director.heartbeatSeconds * 1000 });
      this.links.set(storage.name, l);
    }
    return l;
  }

  private track(what: Pick<RunningJob, 'name' | 'type' | 'level' | 'client'>, storage: string, run: (r: RunningJob) => Promise<JobReport>): RunningJob {
    const handle = this.nextWaitingHandle--;
    let identify: (id: number) => void = () => undefined;
    const identified = new Promise<number>((res) => (identify = res));
    const r: RunningJob & { identify: (id: number) => void } = {
      ...what, jobId: null, handle, state: 'waiting', startedAt: Date.now(), progress: { files: 0, bytes: 0, at: Date.now() },
      controller: new AbortController(), done: null as unknown as Promise<JobReport>, identified, identify, listeners: new Set(),
    };
    this.running.set(handle, r);
    r.done = (async () => {
      let report: JobReport;
      try {
        await this.gate.enter({ client: what.client, storage }, r.controller.signal);
        try {
          r.state = 'running';
          report = await run(r);
        } finally {
          this.gate.leave({ client: what.client, storage });
        }
      } catch (err) {
        const e = isCairnError(err) ? err : new CairnError('CAIRN_E_JOB_FAILED', (err as Error).message, {}, { cause: err });
        const now = new Date().toISOString();
        const status = e.code === 'CAIRN_E_JOB_CANCELLED' ? 'cancelled' : 'error';
        report = { jobId: r.jobId ?? 0, name: r.name, type: r.type, status, exitCode: EXIT_CODES[status], startedAt: now, endedAt: now, durationMs: 0, files: 0, bytes: 0, rate: 0, warnings: [], problems: [], error: { code: e.code, message: e.message } };
      }
      this.running.delete(handle);
      if (r.jobId !== null) this.running.delete(r.jobId);
      this.finished.set(handle, report);
      if (report.jobId) this.finished.set(report.jobId, report);
      const key = `${r.type}\t${report.status}`;
      this.endedCounts.set(key, (this.endedCounts.get(key) ?? 0) + 1);
      this.notifier.jobEnded(r.type, report, { client: r.client, level: r.level });
      r.identify(report.jobId || handle);
      this.o.logger.info({ jobId: report.jobId, name: r.name, status: report.status, files: report.files, bytes: report.bytes }, 'job finished');
      return report;
    })();
    return r;
  }

  private identify(r: RunningJob, jobId: number): void {
    r.jobId = jobId;
    this.running.set(jobId, r);
    (r as RunningJob & { identify: (id: number) => void }).identify(jobId);
  }

  private progress(r: RunningJob, files: number, bytes: number): void {
    r.progress = { files, bytes, at: Date.now() };
    for (const l of r.listeners) l(r.progress);
  }

  private client(name: string | undefined): ClientEntry {
    const c = this.o.config.clients.find((x) => x.name === name);
    if (!c) throw new CairnError('CAIRN_E_CLIENT_NOT_FOUND', `no client named "${name}" in the Director's config (clients: ${this.o.config.clients.map((x) => x.name).join(', ') || 'none'})`, { client: name });
    return c;
  }

  private storage(name: string | undefined): StorageEntry {
    const s = this.o.config.storages.find((x) => x.name === name);
    if (!s) throw new CairnError('CAIRN_E_STORAGE_NOT_FOUND', `no storage named "${name}" in the Director's config`, { storage: name });
    return s;
  }

  private fileset(name: string | undefined): Fileset {
    const f = this.o.config.filesets.find((x) => x.name === name);
    if (!f) throw new CairnError('CAIRN_E_FILESET_INVALID', `no fileset named "${name}" in the Director's config`, { fileset: name });
    return filesetFromObject({ name: f.name, options: f.options, agents: [...(f.include.length ? [{ agent: 'fs', include: f.include, exclude: f.exclude, options: {} }] : []), ...f.agents] }, `fileset ${f.name}`);
  }
}
