/**
 * The File Daemon: hosts agents and runs the data pipelines for the jobs the
 * Director orders. It talks to the SD through an SdSessionClient (the real
 * protocol over whatever duplex the caller connected: TCP, stdio, or an
 * in-memory pair in local mode).
 */
import type { Logger } from 'pino';
import { CairnError, HookRunner, isCairnError, type AgentState, type BaseJob, type JobStatus, type Level, type PlatformFileServices, type ReplacePolicy } from '../plugin-api/index.js';
import type { SdSessionClient, SessionCloseReport } from '../sd/index.js';
import type { JobMessage } from './agent-context.js';
import { loadAgent, type AgentPolicy } from './agent-loader.js';
import { runBackupSession, type AgentBase, type BackupCounters, type BackupLine, type BackupSessionResult } from './backup-session.js';
import { ZstdPool } from './zstd-pool.js';
import { hashThread } from './hash-thread.js';
import { ChunkBuffers } from './chunk-buffers.js';
import { hookTimeouts } from './hook-timeouts.js';
import { DEFAULT_FILESET_OPTIONS, type Fileset } from './fileset.js';
import { RestoreRun, type RestoreProblem } from './restore-session.js';
import { prepareAgentOptions, type AgentOptionOverrides } from './agent-options.js';
import { closeAgent } from './agent-process.js';

export interface FdSettings {
  policy: AgentPolicy;
  platform: PlatformFileServices;
  logger: Logger;
  /** Compression threads; default: the machine's cores. */
  threads?: number;
  /** Programs agents may run through ctx.commands (API 1.3): cairn-fd.yaml commands.allow, or the repository's settings. */
  allowCommands?: readonly string[];
}

export interface BackupOrder {
  jobId: number;
  jobName: string;
  level: Level;
  fileset: Fileset;
  ticket: string;
  /** Base job and agent state for an agent line (by state key `name#n`), per the level rules. */
  baseFor(key: string): Promise<AgentBase>;
  signal?: AbortSignal;
  onProgress?: (c: BackupCounters) => void;
  /** Per-job agent option overrides (the job entry's agentOptions, --option), by agent name. */
  agentOptions?: AgentOptionOverrides;
}

export interface BackupOutcome {
  status: Exclude<JobStatus, 'ok'> | 'ok';
  counters: BackupCounters;
  messages: JobMessage[];
  states: Array<{ key: string; agent: string; state: AgentState }>;
  close?: SessionCloseReport;
  error?: CairnError;
}

export interface RestoreOrder {
  mode: 'restore' | 'verify';
  where?: string;
  replace: ReplacePolicy;
  /** One read session per job of the chain, oldest first. */
  sessions: Array<{ jobId: number; ticket: string; sd: SdSessionClient }>;
  catalogDigest?: (jobId: number, fileIndex: number) => Buffer | undefined;
  signal?: AbortSignal;
  onFile?: (path: string, bytes: number) => void;
  /** Per-restore agent option overrides (--option), by agent name. */
  agentOptions?: AgentOptionOverrides;
}

export interface RestoreOutcome {
  files: number;
  bytes: number;
  completed: Set<string>;
  problems: RestoreProblem[];
  messages: JobMessage[];
  error?: CairnError;
}

export class FileDaemon {
  private pool: ZstdPool | null = null;
  private poolLevel = 0;
  private readonly pendingEnds = new Map<number, BackupSessionResult['agents']>();
  /** Memory agents read backup data into, recycled job after job (API 1.2 chunkBuffer). */
  private readonly chunks = new ChunkBuffers();

  constructor(private readonly settings: FdSettings) {}

  /** Loads and admits the agents a fileset names, assigning state keys. Fails before any data moves. */
  async admit(fileset: Fileset): Promise<Array<Omit<BackupLine, 'base'>>> {
    const seen = new Map<string, number>();
    const lines: Array<Omit<BackupLine, 'base'>> = [];
    for (const line of fileset.agents) {
      const loaded = await loadAgent(line.agent, this.settings.policy);
      const name = loaded.module.manifest.name;
      const n = seen.get(name) ?? 0;
      seen.set(name, n + 1);
      lines.push({ line, loaded, key: `${name}#${n}` });
    }
    return lines;
  }

  async backup(order: BackupOrder, sd: SdSessionClient): Promise<BackupOutcome> {
    const log = this.settings.logger.child({ jobId: order.jobId });
    const controller = new AbortController();
    const onCancel = () => controller.abort(new CairnError('CAIRN_E_AGENT_ABORTED', 'job cancelled', { jobId: order.jobId }));
    order.signal?.addEventListener('abort', onCancel, { once: true });
    let result: BackupSessionResult | null = null;
    const counters: BackupCounters = { files: 0, bytes: 0, storedBytes: 0, deleted: 0 };
    let opened = false;
    const agents: BackupSessionResult['agents'] = [];
    const messages: JobMessage[] = [];
    // Every agent that was created hears jobEnded, whatever the outcome (the Director calls it).
    this.pendingEnds.set(order.jobId, agents);
    try {
      const admitted = await this.admit(order.fileset);
      checkOverrideNames(order.agentOptions, admitted.map((l) => l.loaded.module.manifest.name), 'no line of the fileset uses it');
      const lines: BackupLine[] = [];
      for (const l of admitted) lines.push({ ...l, base: await order.baseFor(l.key) });
      await sd.appendOpen(order.ticket);
      opened = true;
      result = await runBackupSession({
        jobId: order.jobId,
        jobName: order.jobName,
        level: order.level,
        lines,
        options: order.fileset.options,
        pool: order.fileset.options.compression === 'zstd' ? this.zstdPool(order.fileset.options.level) : null,
        chunks: this.chunks,
        sink: (rec) => sd.writeRecord(rec),
        logger: log,
        platform: this.settings.platform,
        controller,
        onProgress: order.onProgress,
        agents,
        messages,
        overrides: order.agentOptions,
        allowCommands: this.settings.allowCommands,
      });
      await sd.appendEnd();
      const close = await sd.appendClose();
      const warned = result.messages.some((m) => m.level !== 'info');
      return { status: warned ? 'warning' : 'ok', counters: result.counters, messages: result.messages, states: result.states, close };
    } catch (err) {
      const error = isCairnError(err) ? err : new CairnError('CAIRN_E_FD_PIPELINE', `backup failed: ${(err as Error).message}`, { jobId: order.jobId }, { cause: err });
      controller.abort(error);
      if (opened) await sd.appendAbort().catch(() => undefined);
      const cancelled = order.signal?.aborted === true;
      log.error({ err: error, code: error.code }, 'backup failed');
      // The agents' messages up to the failure stay (a failing program's stderr lines explain the failure).
      return { status: cancelled ? 'cancelled' : 'error', counters: result?.counters ?? counters, messages, states: [], error };
    } finally {
      order.signal?.removeEventListener('abort', onCancel);
    }
  }

  /**
   * Tells the job's agents its final outcome: called by the Director only
   * after the SD's close reply and the catalog commit (or after a failure).
   */
  async jobEnded(jobId: number, status: JobStatus): Promise<void> {
    const agents = this.pendingEnds.get(jobId) ?? [];
    this.pendingEnds.delete(jobId);
    for (const { runner, agent } of agents) {
      if (!agent.jobEnded) continue;
      // A fresh runner: the job's own controller is aborted when the job failed, and jobEnded must still run.
      const ending = new HookRunner(runner.agent, runner.agentVersion, { controller: new AbortController(), timeouts: hookTimeouts() });
      try {
        await ending.call('jobEnded', () => agent.jobEnded!(status));
      } catch (err) {
        this.settings.logger.warn({ err, jobId }, 'agent failed in jobEnded');
      } finally {
        ending.stopWatchdog();
      }
    }
    // Agents in processes of their own are ended and reaped now: the job is over for them.
    for (const { agent } of agents) await closeAgent(agent).catch((err) => this.settings.logger.warn({ err, jobId }, 'closing an agent process failed'));
  }

  async restore(order: RestoreOrder): Promise<RestoreOutcome> {
    const controller = new AbortController();
    const onCancel = () => controller.abort(new CairnError('CAIRN_E_AGENT_ABORTED', 'restore cancelled', {}));
    order.signal?.addEventListener('abort', onCancel, { once: true });
    const run = new RestoreRun({
      mode: order.mode,
      where: order.where,
      replace: order.replace,
      policy: this.settings.policy,
      platform: this.settings.platform,
      logger: this.settings.logger,
      controller,
      catalogDigest: order.catalogDigest,
      pool: this.pool ?? this.zstdPool(DEFAULT_FILESET_OPTIONS.level),
      chunks: this.chunks,
      onFile: order.onFile,
      overrides: order.agentOptions,
      allowCommands: this.settings.allowCommands,
    });
    let error: CairnError | undefined;
    try {
      await this.checkRestoreOptions(order.agentOptions);
      for (const s of order.sessions) {
        await s.sd.readOpen(s.ticket);
        try {
          await run.consume(s.jobId, s.sd.readData());
        } finally {
          await s.sd.readClose().catch(() => undefined);
        }
      }
      if (order.mode === 'restore') await run.finish();
    } catch (err) {
      error = isCairnError(err) ? err : new CairnError('CAIRN_E_FD_PIPELINE', `restore failed: ${(err as Error).message}`, {}, { cause: err });
    } finally {
      order.signal?.removeEventListener('abort', onCancel);
      await run.close();
    }
    return { files: run.files, bytes: run.bytes, completed: run.completed, problems: run.problems, messages: run.messages, error };
  }

  /** Per-restore options are checked before any data moves: a typo fails the restore, not every file. */
  private async checkRestoreOptions(overrides: AgentOptionOverrides | undefined): Promise<void> {
    for (const [name, given] of Object.entries(overrides ?? {})) {
      const loaded = await loadAgent(name, this.settings.policy);
      prepareAgentOptions(loaded.module, given, 'restore');
    }
  }

  /**
   * Boots the threads a job will need — the zstd pool (at the backup's level; a restore's is any, null for a
   * backup without compression) and the hash thread — while the caller still reads the catalog: a worker takes
   * 100–200 ms to start, which the first file would otherwise wait for.
   */
  warmUp(zstdLevel: number | null = this.pool ? this.poolLevel : DEFAULT_FILESET_OPTIONS.level): void {
    if (zstdLevel !== null) this.zstdPool(zstdLevel);
    hashThread().start();
  }

  private zstdPool(level: number): ZstdPool {
    if (!this.pool || this.poolLevel !== level) {
      void this.pool?.close();
      this.pool = new ZstdPool({ level, threads: this.settings.threads });
      this.poolLevel = level;
    }
    return this.pool;
  }

  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = null;
  }
}

export type { BaseJob };

/** Overrides must name an agent the job uses (a misspelt agent name is an error, not silently nothing). */
function checkOverrideNames(overrides: AgentOptionOverrides | undefined, names: string[], why: string): void {
  for (const name of Object.keys(overrides ?? {})) {
    if (!names.includes(name)) {
      throw new CairnError('CAIRN_E_AGENT_OPTIONS', `options given for agent ${name}, but ${why} (agents: ${[...new Set(names)].join(', ')})`, { agent: name });
    }
  }
}
