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
import { BandwidthLimit } from './bandwidth-limit.js';
import { runEstimateSession, type EstimateResult } from './estimate-session.js';
import { runBackupSession, type AgentBase, type BackupCounters, type BackupLine, type BackupSessionResult } from './backup-session.js';
import { ZstdPool } from './zstd-pool.js';
import { hashThread } from './hash-thread.js';
import { ChunkBuffers } from './chunk-buffers.js';
import { hookTimeouts } from './hook-timeouts.js';
import { DEFAULT_FILESET_OPTIONS, type Fileset } from './fileset.js';
import { RestoreRun, type RestoreProblem } from './restore-session.js';
import { JobSealer, type FdCrypto } from './job-sealer.js';
import type { CairnKey } from './key-file.js';
import { rewrapDataKeys, unwrapJobKey, type EncryptionHeader, type KeyWrap, type RewrapJob } from './key-wrap.js';
import { attributeDigests, parseManifest, verifyManifest } from './job-manifest.js';
import { RecordOpener } from './record-opener.js';
import { applyOptionOrigin, assertNoLocalOnly, prepareAgentOptions, type AgentOptionOverrides, type OptionOrigin } from './agent-options.js';
import { closeAgent } from './agent-process.js';

export interface FdSettings {
  policy: AgentPolicy;
  platform: PlatformFileServices;
  logger: Logger;
  /** Compression threads; default: the machine's cores. */
  threads?: number;
  /** Programs agents may run through ctx.commands (API 1.5): cairn-fd.yaml commands.allow, or the repository's settings. */
  allowCommands?: readonly string[];
  /** Client-side encryption: the FD's signing key and the recipients, read when a backup starts (null: backups are not encrypted). */
  crypto?: () => FdCrypto | null;
  /** Keys this FD itself may open restores with (a private key in its config); restore orders may bring more. */
  restoreKeys?: () => CairnKey[];
}

/** What a reader needs to open one encrypted session: its header (catalog or start label), later wraps, the signed manifest. */
export interface SessionCrypto {
  header: EncryptionHeader;
  /** Wraps made after the job (rotation, a master key added later), from the catalog or a keyring file. */
  wraps?: Array<{ jobId: number; wrap: KeyWrap }>;
  /** The job's signed manifest, when at hand (the catalog keeps it): attributes are checked against it. */
  manifest?: Uint8Array;
}

export interface BackupOrder extends OptionOrigin {
  jobId: number;
  jobName: string;
  level: Level;
  fileset: Fileset;
  ticket: string;
  /** Base job and agent state for an agent line (by state key `name#n`), per the level rules. */
  baseFor(key: string): Promise<AgentBase>;
  signal?: AbortSignal;
  onProgress?: (c: BackupCounters) => void;
  /** At most this many bytes a second go to the SD (the job's maxBandwidth); absent: no limit. */
  maxBandwidth?: number;
  /** Per-job agent option overrides (the job entry's agentOptions, --option), by agent name. */
  agentOptions?: AgentOptionOverrides;
}

/** An estimate's order: a backup order without job id, session or progress. */
export type EstimateOrder = Pick<BackupOrder, 'jobName' | 'level' | 'fileset' | 'baseFor' | 'signal' | 'fromDirector' | 'localDefaults'>;

export interface BackupOutcome {
  status: Exclude<JobStatus, 'ok'> | 'ok';
  counters: BackupCounters;
  messages: JobMessage[];
  states: BackupSessionResult['states'];
  close?: SessionCloseReport;
  error?: CairnError;
  /** An encrypted job: its header (as in the start label) and its signed manifest, for the catalog. */
  crypto?: { header: EncryptionHeader; manifest?: Buffer };
}

export interface RestoreOrder extends Pick<OptionOrigin, 'fromDirector'> {
  mode: 'restore' | 'verify';
  where?: string;
  replace: ReplacePolicy;
  /** Restore as at this time: handed to log-type agents as RestoreJob.recoveryTarget (API 1.3). */
  recoveryTarget?: Date;
  /** One read session per job of the chain, oldest first. */
  sessions: Array<{ jobId: number; ticket: string; sd: SdSessionClient; crypto?: SessionCrypto }>;
  /** Private keys supplied for this restore (`--key FILE`), used instead of the FD's own. */
  keys?: CairnKey[];
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

  /** What a backup of the order would send (files, bytes), nothing read or sent (estimate-session.ts). */
  async estimate(order: EstimateOrder): Promise<EstimateResult> {
    const controller = new AbortController();
    const onCancel = () => controller.abort(new CairnError('CAIRN_E_AGENT_ABORTED', 'estimate cancelled', { job: order.jobName }));
    order.signal?.addEventListener('abort', onCancel, { once: true });
    try {
      const lines: BackupLine[] = [];
      const admitted = await this.admit(order.fileset);
      applyOptionOrigin(admitted, undefined, order);
      for (const l of admitted) lines.push({ ...l, base: await order.baseFor(l.key) });
      return await runEstimateSession({ jobId: 0, jobName: order.jobName, level: order.level, lines, logger: this.settings.logger.child({ estimate: order.jobName }), platform: this.settings.platform, chunks: this.chunks, controller, allowCommands: this.settings.allowCommands });
    } finally {
      order.signal?.removeEventListener('abort', onCancel);
    }
  }

  async backup(order: BackupOrder, sd: SdSessionClient): Promise<BackupOutcome> {
    const log = this.settings.logger.child({ jobId: order.jobId });
    const controller = new AbortController();
    const onCancel = () => controller.abort(new CairnError('CAIRN_E_AGENT_ABORTED', 'job cancelled', { jobId: order.jobId }));
    order.signal?.addEventListener('abort', onCancel, { once: true });
    let result: BackupSessionResult | null = null;
    const counters: BackupCounters = { files: 0, bytes: 0, storedBytes: 0, deleted: 0 };
    let opened = false;
    let sealer: JobSealer | null = null;
    const agents: BackupSessionResult['agents'] = [];
    const messages: JobMessage[] = [];
    // Every agent that was created hears jobEnded, whatever the outcome (the Director calls it).
    this.pendingEnds.set(order.jobId, agents);
    try {
      const admitted = await this.admit(order.fileset);
      checkOverrideNames(order.agentOptions, admitted.map((l) => l.loaded.module.manifest.name), 'no line of the fileset uses it');
      applyOptionOrigin(admitted, order.agentOptions, order);
      const lines: BackupLine[] = [];
      for (const l of admitted) lines.push({ ...l, base: await order.baseFor(l.key) });
      const crypto = this.settings.crypto?.() ?? null;
      sealer = crypto ? new JobSealer(crypto, order.jobId) : null;
      // The SD writes the header into the session start label (and every continuation label): volumes alone stay decryptable.
      await sd.appendOpen(order.ticket, sealer ? { encryption: sealer.header } : undefined);
      opened = true;
      const limit = order.maxBandwidth ? new BandwidthLimit(order.maxBandwidth) : null;
      result = await runBackupSession({
        jobId: order.jobId,
        jobName: order.jobName,
        level: order.level,
        lines,
        options: order.fileset.options,
        pool: order.fileset.options.compression === 'zstd' || sealer ? this.zstdPool(order.fileset.options.level) : null,
        sealer,
        chunks: this.chunks,
        sink: limit ? (rec) => limit.take(rec.payload.byteLength)?.then(() => sd.writeRecord(rec)) ?? sd.writeRecord(rec) : (rec) => sd.writeRecord(rec),
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
      const warned = result.messages.some((m) => m.level !== 'info');
      // The outcome goes into the session end label too: a catalog rebuilt from the volumes has it (cairn-bscan).
      const c = result.counters;
      const close = await sd.appendClose({
        status: warned ? 'warning' : 'ok', files: c.files, bytes: c.bytes, storedBytes: c.storedBytes, deleted: c.deleted,
        warnings: result.messages.filter((m) => m.level !== 'info').length,
      });
      const encrypted = sealer ? { crypto: { header: sealer.header, manifest: result.manifest } } : {};
      return { status: warned ? 'warning' : 'ok', counters: result.counters, messages: result.messages, states: result.states, close, ...encrypted };
    } catch (err) {
      sealer?.discard();
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
      recoveryTarget: order.recoveryTarget,
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
      await this.checkRestoreOptions(order.agentOptions, order.fromDirector === true);
      // Every encrypted session's key and manifest are checked before any session is read: a wrong key
      // or a forged manifest fails the restore before a byte is written.
      const openers = order.sessions.map((s) => (s.crypto ? this.openerFor(s.jobId, s.crypto, order.keys ?? []) : null));
      for (const [i, s] of order.sessions.entries()) {
        await s.sd.readOpen(s.ticket);
        try {
          await run.consume(s.jobId, s.sd.readData(), openers[i]);
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

  /**
   * Key rotation (protocol.md §9 `rewrap`): opens each job's data key with this FD's own private key and wraps it
   * to `recipient`. A write-only FD cannot: CAIRN_E_KEY_NEEDED.
   */
  rewrap(jobs: readonly RewrapJob[], recipient: CairnKey): ReturnType<typeof rewrapDataKeys> {
    const own = this.settings.restoreKeys?.() ?? [];
    if (own.length === 0) throw new CairnError('CAIRN_E_KEY_NEEDED', 'this File Daemon holds no private key (write-only or no encryption.keyFile): it cannot open its jobs\' data keys to re-wrap them', {});
    return rewrapDataKeys(jobs, own, recipient);
  }

  /** Unwraps a session's data key and checks its signed manifest; throws CAIRN_E_KEY_* / CAIRN_E_MANIFEST_*. */
  private openerFor(jobId: number, c: SessionCrypto, supplied: CairnKey[]): RecordOpener {
    if (c.header.jobId !== jobId) throw new CairnError('CAIRN_E_KEY_HEADER', `the encryption header given for job ${jobId} is job ${c.header.jobId}'s`, { jobId });
    // Keys supplied with the order are the ones asked for: the FD's own are the default, not a fallback.
    const keys = supplied.length ? supplied : (this.settings.restoreKeys?.() ?? []);
    const key = unwrapJobKey(c.header, { keys, wraps: c.wraps });
    let attributes: Map<number, Buffer> | undefined;
    if (c.manifest) {
      const m = parseManifest(c.manifest);
      const signer = c.header.signer;
      // The signer's public key: a supplied key with its fingerprint is the stronger anchor; else the header's (the catalog's).
      const anchor = keys.find((k) => k.fingerprint === signer.fingerprint)?.signPublicKey ?? new Uint8Array(Buffer.from(signer.signPublicKey, 'base64'));
      if (m.head.jobId !== jobId || m.head.signer !== signer.fingerprint || !verifyManifest(m, anchor)) {
        throw new CairnError('CAIRN_E_MANIFEST_SIGNATURE', `the signed manifest of job ${jobId} does not verify with signer key ${signer.fingerprint}: the job's records cannot be trusted`, { jobId, signer: signer.fingerprint });
      }
      attributes = attributeDigests(m);
    }
    return new RecordOpener(jobId, c.header.cipher, key, attributes);
  }

  /** Per-restore options are checked before any data moves: a typo fails the restore, not every file. */
  private async checkRestoreOptions(overrides: AgentOptionOverrides | undefined, fromDirector: boolean): Promise<void> {
    for (const [name, given] of Object.entries(overrides ?? {})) {
      const loaded = await loadAgent(name, this.settings.policy);
      if (fromDirector) assertNoLocalOnly(loaded.module, given, 'restore options (--option)');
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
