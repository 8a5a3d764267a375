/**
 * DirectorService: the Director as a daemon runs it. From its config it
 * knows the clients (FDs), storages (SDs), filesets and jobs; it runs backup
 * jobs (from the console or the scheduler) and restores with the same job
 * control as local mode, the FD and SD reached over the network. It keeps
 * the running jobs (progress, cancel, waiters), refuses to start a job that
 * is still running, and holds each job to the Director's, the client's and
 * the storage's maximum of concurrent jobs (a job over a limit waits).
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { CairnError, isCairnError, type Level, type ReplacePolicy } from '../../plugin-api/index.js';
import { filesetFromObject, mergeOverrides, parseOptionArgs, type AgentOptionOverrides, type Fileset } from '../../core/index.js';
import type { SdNotification } from '../../sd/index.js';
import type { ClientEntry, DirConfig, JobEntry, StorageEntry } from '../../config/index.js';
import type { Catalog, CatalogJob } from '../catalog/index.js';
import { runBackupJob } from '../jobs/backup-job.js';
import { runRestoreJob } from '../jobs/restore-job.js';
import { resolveBackupJob } from '../jobs/resolve-job.js';
import { EXIT_CODES, type JobReport } from '../jobs/job-report.js';
import type { JobPlumbing } from '../jobs/job-plumbing.js';
import { RemoteFd } from '../remote/remote-fd.js';
import { StorageLink } from './storage-link.js';
import { ConcurrencyGate } from './concurrency-gate.js';
import { jobScripts } from './job-scripts.js';

export interface DirectorServiceOptions {
  config: DirConfig;
  catalog: Catalog;
  logger: Logger;
  /** Opens an authenticated connection to a client's FD. */
  connectClient(client: ClientEntry): Promise<Duplex>;
  /** Opens an authenticated connection to a storage's SD. */
  connectStorage(storage: StorageEntry): Promise<Duplex>;
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
  type: 'backup' | 'restore';
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
  /** `--option AGENT.KEY=VALUE` words for this restore. */
  options?: string[];
}

export class DirectorService {
  private readonly notifications = new Map<number, (n: SdNotification) => void>();
  private readonly links = new Map<string, StorageLink>();
  private readonly running = new Map<number, RunningJob>();
  private readonly finished = new Map<number, JobReport>();
  private readonly gate: ConcurrencyGate;
  private nextWaitingHandle = -1;

  constructor(private readonly o: DirectorServiceOptions) {
    const c = o.config;
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
    const fileset = this.fileset(job.fileset);
    const level = opts.level ?? job.level;
    const agentOptions = mergeOverrides(job.agentOptions, opts.agentOptions);
    return this.track({ name, type: 'backup', level, client: client.name }, storage.name, async (r) => {
      // A failed job is run again, up to maxRetries times, retryDelaySeconds apart (a cancelled one is not).
      for (let attempt = 0; ; attempt++) {
        const plumbing = this.plumbing(client, storage, job.pool);
        const remote = plumbing.files as RemoteFd;
        const report = await runBackupJob(plumbing, {
          fileset,
          jobName: name,
          level,
          signal: r.controller.signal,
          now: opts.now,
          onProgress: (c) => this.progress(r, c.files, c.bytes),
          onJobId: (id) => this.identify(r, id),
          agentOptions,
          scripts: jobScripts(job, level, { catalog: this.o.catalog, logger: this.o.logger, runOnClient: (argv, env) => remote.runCommand(argv, env) }),
        });
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

  /** Starts a restore of a backup job (`latest` or an id) onto its client or another. */
  async restore(cmd: RestoreCommand): Promise<RunningJob> {
    const asAt = cmd.asAt ? new Date(cmd.asAt) : undefined;
    const configJob = cmd.jobName ? this.o.config.jobs.find((j) => j.name === cmd.jobName) : undefined;
    const job: CatalogJob = await resolveBackupJob(this.o.catalog, cmd.job, { asAt, name: cmd.jobName, client: configJob?.client });
    const jobDef: JobEntry | undefined = this.o.config.jobs.find((j) => j.name === job.name);
    const client = this.client(cmd.client ?? job.client);
    const storage = this.storage(jobDef?.storage ?? this.o.config.storages[0]?.name);
    const pool = jobDef?.pool ?? job.pool ?? 'Default';
    const agentOptions = parseOptionArgs(cmd.options);
    return this.track({ name: job.name, type: 'restore', client: client.name }, storage.name, (r) =>
      runRestoreJob(this.plumbing(client, storage, pool), {
        job,
        to: cmd.to,
        paths: cmd.paths,
        replace: cmd.replace,
        signal: r.controller.signal,
        onFile: (_p, bytes) => this.progress(r, r.progress.files + 1, bytes),
        onJobId: (id) => this.identify(r, id),
        agentOptions,
      }),
    );
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
    return { storage: name, address: `${storage.address}:${storage.port}`, ...(await this.link(storage).status()) };
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
        sd: { address: storage.address, port: storage.port, tls: storage.tls.mode },
        heartbeatMs: this.o.config.director.heartbeatSeconds * 1000,
      }),
      clientName: client.name,
      pool,
      targetOnClient: true,
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

  private fileset(name: string): Fileset {
    const f = this.o.config.filesets.find((x) => x.name === name);
    if (!f) throw new CairnError('CAIRN_E_FILESET_INVALID', `no fileset named "${name}" in the Director's config`, { fileset: name });
    return filesetFromObject({ name: f.name, options: f.options, agents: [...(f.include.length ? [{ agent: 'fs', include: f.include, exclude: f.exclude, options: {} }] : []), ...f.agents] }, `fileset ${f.name}`);
  }
}
