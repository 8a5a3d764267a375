/**
 * FdService: the File Daemon's side of a Director connection (docs/protocol.md
 * §9). It runs the Director's `backup` and `restore` orders with an FdRunner
 * that opens its own authenticated data connection to the SD named in the
 * order, asks the Director back for the base job's agent state and files,
 * streams progress as notifications, and keeps each outcome until the
 * Director has collected it — a Director that reconnects after a restart
 * asks for it with `job result`.
 */
import { mkdirSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { Duplex } from 'node:stream';
import { Buffer } from 'node:buffer';
import type { Logger } from 'pino';
import { CairnError, type AgentState, type BaseFile, type JobStatus, type Level, type ReplacePolicy } from '../plugin-api/index.js';
import { ControlChannel, SdSessionClient, type ControlRequest, type HandlerReply, type SessionGrant } from '../sd/index.js';
import type { AgentBase } from './backup-session.js';
import { FdRunner } from './fd-runner.js';
import { filesetFromObject } from './fileset.js';
import { runCommand } from './command-runner.js';
import type { AgentOptionOverrides } from './agent-options.js';
import { backupOutcomeToWire, decodeBaseFiles, fetchManifest, manifestPiece, restoreOutcomeToWire, sessionCryptoFromWire, type WireBackupOutcome, type WireRestoreOutcome, type WireSessionCrypto } from './fd-wire.js';
import type { FileDaemon, SessionCrypto } from './file-daemon.js';
import { checkLiveTree, type ExpectedEntry, type LiveCheckResult } from './live-tree-check.js';
import { decodeTreePage } from './live-tree-wire.js';
import { parseEncryptionHeader, type KeyWrap } from './key-wrap.js';
import { keyFromDescription } from './key-file.js';

/**
 * How to reach the SD of an order (from the Director's storage resource): its storage name and, when it
 * listens on TCP, its address and port. An FD whose own config routes that storage name through a command
 * (stdio, e.g. ssh) uses the command instead; an SD without address is reachable only that way.
 */
export interface SdTarget {
  name?: string;
  address?: string;
  port?: number;
  /** TLS mode for the data connection (docs/transport.md); passed through to the connector. */
  tls?: string;
}

export interface FdServiceOptions {
  fd: FileDaemon;
  name: string;
  logger: Logger;
  /** Opens a data connection to the SD, authenticated with the session grant (name = keyId, secret = key). */
  connectSd(target: SdTarget, grant: SessionGrant): Promise<Duplex>;
  heartbeatMs?: number;
  /** Fileset option defaults per agent name from the FD's own config; the Director's lines override them. */
  agentDefaults?: Record<string, Record<string, unknown>>;
  /** Programs a Director may have this FD run (job scripts on the client): its own config's commands.allow. */
  allowedCommands?: string[];
}

interface RunningJob {
  jobId: number;
  kind: 'backup' | 'restore' | 'verify';
  name: string;
  startedAt: number;
  controller: AbortController;
  files: number;
  bytes: number;
}

/** Signed manifests held for `manifest` requests at most (each until its `job ended`). */
const MANIFESTS_HELD = 16;

/** How often progress notifications go out at most. */
const PROGRESS_EVERY_MS = 1000;

export class FdService {
  private readonly running = new Map<number, RunningJob>();
  /** Outcomes not yet collected by a Director (its connection dropped before the reply). */
  private readonly results = new Map<number, WireBackupOutcome | WireRestoreOutcome>();
  /** Signed manifests sent by size only, held for the Director's `manifest` requests until `job ended`. */
  private readonly manifests = new Map<number, Buffer>();
  private readonly channels = new Set<ControlChannel>();

  constructor(private readonly o: FdServiceOptions) {}

  /** Serves one authenticated Director connection until it ends. */
  async serve(stream: Duplex, director: string): Promise<void> {
    const ch = new ControlChannel(stream, { peer: `the Director ${director}`, heartbeatMs: this.o.heartbeatMs, onRequest: (req, c) => this.answer(req, c) });
    this.channels.add(ch);
    await ch.done;
    this.channels.delete(ch);
  }

  /** Jobs running now (for `status client`). */
  jobs(): Array<Omit<RunningJob, 'controller'>> {
    return [...this.running.values()].map(({ controller: _c, ...j }) => j);
  }

  /** Cancels every running job and ends the Director connections (daemon shutdown). */
  async shutdown(): Promise<void> {
    for (const j of this.running.values()) j.controller.abort(new CairnError('CAIRN_E_AGENT_ABORTED', 'the File Daemon is shutting down', { jobId: j.jobId }));
    const deadline = Date.now() + 10_000;
    while (this.running.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const ch of this.channels) await ch.close();
  }

  private async answer(req: ControlRequest, ch: ControlChannel): Promise<HandlerReply> {
    const cmd = req.words.join(' ');
    const jobId = Number(req.args.jobid);
    switch (cmd) {
      case 'hello':
        return { text: `hello Name=${this.o.name}`, body: { name: this.o.name, jobs: this.jobs() } };
      case 'status':
        return { text: 'status', body: { name: this.o.name, jobs: this.jobs() } };
      case 'backup':
        return { text: 'backup', body: await this.backup(needJob(jobId, cmd), req.body as WireBackupOrder, ch) };
      case 'estimate': {
        const order = req.body as Pick<WireBackupOrder, 'jobName' | 'level' | 'fileset'>;
        const fileset = filesetFromObject(order.fileset, `the Director's fileset for the estimate of ${order.jobName}`);
        const r = await this.o.fd.estimate({ jobName: order.jobName, level: order.level, fileset, baseFor: (key) => this.baseFrom(ch, 0, key), fromDirector: true, localDefaults: this.o.agentDefaults });
        return { text: `estimate Files=${r.files} Bytes=${r.bytes}`, body: r };
      }
      case 'restore':
        return { text: 'restore', body: await this.restore(needJob(jobId, cmd), req.body as WireRestoreOrder, ch) };
      case 'rewrap': {
        const b = req.body as { recipient: { boxPublicKey: string; signPublicKey: string }; jobs: Array<{ jobId: number; header: unknown; wraps: KeyWrap[] }> };
        const recipient = keyFromDescription(b.recipient);
        const jobs = b.jobs.map((j) => ({ jobId: j.jobId, header: parseEncryptionHeader(j.header, `the encryption header of job ${j.jobId}`), wraps: j.wraps }));
        const r = this.o.fd.rewrap(jobs, recipient);
        this.o.logger.info({ to: recipient.fingerprint, rewrapped: r.wraps.length, failed: r.failed.length }, 'data keys re-wrapped for the Director (key rotation)');
        return { text: `rewrap Wraps=${r.wraps.length} Failed=${r.failed.length}`, body: r };
      }
      case 'verify live':
        return { text: 'verify live', body: await this.verifyLive(needJob(jobId, cmd), req.body as { excludes?: string[] }, ch) };
      case 'run command': {
        const b = (req.body ?? {}) as { argv?: string[]; env?: Record<string, string> };
        const r = await runCommand(b.argv ?? [], { env: b.env, allow: this.o.allowedCommands ?? [] });
        this.o.logger.info({ program: b.argv?.[0], exitCode: r.exitCode, signal: r.signal }, 'ran a command for the Director');
        return { text: `run command Exit=${r.exitCode ?? -1}`, body: r };
      }
      case 'job result': {
        const r = this.results.get(needJob(jobId, cmd));
        if (!r) throw new CairnError('CAIRN_E_FD_NO_JOB', this.running.has(jobId) ? `Job ${jobId} is still running on this FD.` : `This FD holds no result for job ${jobId}.`, { jobId, running: this.running.has(jobId) });
        this.results.delete(jobId);
        return { text: 'job result', body: r };
      }
      case 'manifest': {
        const piece = manifestPiece(this.manifests.get(needJob(jobId, cmd)), jobId, Number(req.args.offset));
        return { text: `manifest Bytes=${piece.length}`, body: piece };
      }
      case 'job ended': {
        const status = req.args.status as JobStatus;
        this.manifests.delete(needJob(jobId, cmd));
        await this.o.fd.jobEnded(jobId, status);
        return { text: 'job ended' };
      }
      case 'cancel': {
        const j = this.running.get(needJob(jobId, cmd));
        if (!j) throw new CairnError('CAIRN_E_FD_NO_JOB', `No job ${jobId} is running on this FD.`, { jobId });
        j.controller.abort(new CairnError('CAIRN_E_AGENT_ABORTED', 'job cancelled by the Director', { jobId }));
        return { text: 'cancelled' };
      }
      default:
        throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', `Unknown command "${req.line.slice(0, 80)}".`, { command: req.line.slice(0, 80) });
    }
  }

  private track(jobId: number, kind: RunningJob['kind'], name: string): RunningJob {
    if (this.running.has(jobId)) throw new CairnError('CAIRN_E_FD_JOB_RUNNING', `Job ${jobId} is already running on this FD.`, { jobId });
    const j: RunningJob = { jobId, kind, name, startedAt: Date.now(), controller: new AbortController(), files: 0, bytes: 0 };
    this.running.set(jobId, j);
    return j;
  }

  private runner(target: SdTarget): FdRunner {
    return new FdRunner(this.o.fd, async (grant) => new SdSessionClient(await this.o.connectSd(target, grant), { heartbeatMs: this.o.heartbeatMs }));
  }

  private async backup(jobId: number, order: WireBackupOrder, ch: ControlChannel): Promise<WireBackupOutcome> {
    const fileset = filesetFromObject(order.fileset, `the Director's fileset for job ${jobId}`);
    const j = this.track(jobId, 'backup', order.jobName);
    const progress = throttle((files: number, bytes: number) => ch.notify('progress', { jobId, files, bytes }));
    try {
      this.o.fd.warmUp(fileset.options.compression === 'zstd' ? fileset.options.level : null);
      const outcome = await this.runner(order.sd).backup({
        jobId,
        jobName: order.jobName,
        level: order.level,
        fileset,
        grant: order.grant,
        maxBandwidth: order.maxBandwidth,
        baseFor: (key) => this.baseFrom(ch, jobId, key),
        signal: j.controller.signal,
        agentOptions: order.agentOptions,
        // The fileset and overrides are the Director's: options only this FD may set are refused; its own defaults go under them.
        fromDirector: true,
        localDefaults: this.o.agentDefaults,
        onProgress: (c) => {
          j.files = c.files;
          j.bytes = c.bytes;
          progress(c.files, c.bytes);
        },
      });
      const wire = backupOutcomeToWire(outcome);
      if (wire.crypto?.manifestBytes !== undefined && outcome.crypto?.manifest) {
        // A Director that never comes back never says `job ended`: only the newest few are kept.
        while (this.manifests.size >= MANIFESTS_HELD) {
          const oldest = this.manifests.keys().next().value as number;
          this.manifests.delete(oldest);
          this.o.logger.warn({ jobId: oldest }, 'signed manifest no Director collected was dropped (too many held)');
        }
        this.manifests.set(jobId, outcome.crypto.manifest);
        this.o.logger.info({ jobId, manifestBytes: wire.crypto.manifestBytes }, 'signed manifest held for the Director to fetch in pieces');
      }
      return this.keep(jobId, wire, ch);
    } finally {
      this.running.delete(jobId);
    }
  }

  private async restore(jobId: number, order: WireRestoreOrder, ch: ControlChannel): Promise<WireRestoreOutcome> {
    if (order.mode === 'restore') prepareTarget(order.where);
    const j = this.track(jobId, order.mode, `restore ${jobId}`);
    const progress = throttle((files: number, bytes: number) => ch.notify('progress', { jobId, files, bytes }));
    try {
      const d = order.digests;
      const outcome = await this.runner(order.sd).restore({
        mode: order.mode,
        where: order.where,
        replace: order.replace,
        recoveryTarget: order.recoveryTarget ? new Date(order.recoveryTarget) : undefined,
        sessions: await Promise.all(order.sessions.map(async (x) => ({ jobId: x.jobId, grant: x.grant, ...(x.crypto ? { crypto: await this.sessionCrypto(ch, x.jobId, x.crypto) } : {}) }))),
        digests: d ? { jobId: d.jobId, byIndex: new Map(Object.entries(d.byIndex).map(([k, v]) => [Number(k), Buffer.from(v, 'hex')])) } : undefined,
        signal: j.controller.signal,
        agentOptions: order.agentOptions,
        fromDirector: true,
        onFile: (_path, bytes) => {
          j.files++;
          j.bytes = bytes;
          progress(j.files, bytes);
        },
      });
      return this.keep(jobId, restoreOutcomeToWire(outcome), ch);
    } finally {
      this.running.delete(jobId);
    }
  }

  /** Verify at level catalog: this host's live files against the tree the Director sends in pages (protocol.md §9.4). */
  private async verifyLive(jobId: number, order: { excludes?: string[] }, ch: ControlChannel): Promise<LiveCheckResult> {
    const j = this.track(jobId, 'verify', `verify ${jobId}`);
    const progress = throttle((files: number, bytes: number) => ch.notify('progress', { jobId, files, bytes }));
    async function* rows(): AsyncGenerator<ExpectedEntry> {
      for (let page = 0; ; page++) {
        const p = await ch.request(`tree JobId=${jobId} Page=${page}`);
        if (Buffer.isBuffer(p.body)) yield* decodeTreePage(p.body);
        if (!/\bMore=1\b/.test(p.text)) return;
      }
    }
    try {
      return await checkLiveTree(rows(), {
        excludes: order.excludes ?? [],
        signal: j.controller.signal,
        onProgress: (files, bytes) => {
          j.files = files;
          j.bytes = bytes;
          progress(files, bytes);
        },
      });
    } finally {
      this.running.delete(jobId);
    }
  }

  /** Keeps the outcome for a Director that lost its connection; the reply itself goes out on `ch` if it is still open. */
  private keep<T extends WireBackupOutcome | WireRestoreOutcome>(jobId: number, outcome: T, ch: ControlChannel): T {
    if (ch.closed) {
      this.results.set(jobId, outcome);
      this.o.logger.warn({ jobId }, 'the Director connection dropped during the job; its result is kept for `job result`');
    }
    return outcome;
  }

  /** A read session's encryption; a manifest the order names by size only is asked of the Director in pieces (protocol.md §9.3). */
  private async sessionCrypto(ch: ControlChannel, jobId: number, c: WireSessionCrypto): Promise<SessionCrypto | undefined> {
    const crypto = sessionCryptoFromWire(c);
    if (crypto && c.manifestBytes !== undefined) {
      crypto.manifest = await fetchManifest(jobId, c.manifestBytes, async (at) => (await ch.request(`manifest JobId=${jobId} Offset=${at}`)).body);
      this.o.logger.info({ jobId, manifestBytes: c.manifestBytes }, 'signed manifest fetched from the Director in pieces');
    }
    return crypto;
  }

  /** The base job and agent state of one agent line, asked of the Director (protocol.md §9.2). */
  private async baseFrom(ch: ControlChannel, jobId: number, key: string): Promise<AgentBase> {
    const r = await ch.request(`base JobId=${jobId} Key=${key}`);
    const b = r.body as { state: AgentState; base: { jobId: number; level: Level; startedAt: string } | null };
    if (!b.base) return { state: b.state ?? null };
    const base = b.base;
    return {
      state: b.state ?? null,
      base: {
        jobId: base.jobId,
        level: base.level,
        startedAt: new Date(base.startedAt),
        files: async function* (): AsyncGenerator<BaseFile> {
          for (let page = 0; ; page++) {
            const p = await ch.request(`base files JobId=${jobId} Key=${key} Page=${page}`);
            if (Buffer.isBuffer(p.body)) yield* decodeBaseFiles(p.body);
            if (!/\bMore=1\b/.test(p.text)) return;
          }
        },
      },
    };
  }
}

export interface WireBackupOrder {
  jobName: string;
  level: Level;
  /** The fileset as an object in the YAML form (docs/fileset.md). */
  fileset: unknown;
  grant: SessionGrant;
  sd: SdTarget;
  /** Bytes a second at most (the Director's job maxBandwidth). */
  maxBandwidth?: number;
  /** Per-job agent option overrides (job entry agentOptions, console --option), by agent name; secrets as references. */
  agentOptions?: AgentOptionOverrides;
}

export interface WireRestoreOrder {
  mode: 'restore' | 'verify';
  where?: string;
  replace: ReplacePolicy;
  /** ISO 8601: restore as at this time (log-type agents' recovery target, protocol.md §9). */
  recoveryTarget?: string;
  /** An encrypted job's session carries its header, later wraps and signed manifest (docs/encryption.md); the FD opens it with its own key. */
  sessions: Array<{ jobId: number; grant: SessionGrant; crypto?: WireSessionCrypto }>;
  sd: SdTarget;
  /** Verify: digests (hex) of one job's files by file index. */
  digests?: { jobId: number; byIndex: Record<string, string> };
  /** Per-restore agent option overrides (console --option), by agent name. */
  agentOptions?: AgentOptionOverrides;
}

/** The restore target on this host: created if missing, and a directory. */
function prepareTarget(where: string | undefined): void {
  try {
    if (!where || !isAbsolute(where)) throw new Error('the target must be an absolute path');
    mkdirSync(where, { recursive: true });
    if (!statSync(where).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    throw new CairnError('CAIRN_E_RESTORE_TARGET', `cannot restore into ${where}: ${(err as Error).message}`, { where }, { cause: err });
  }
}

function needJob(jobId: number, cmd: string): number {
  if (!Number.isInteger(jobId) || jobId <= 0) throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', `"${cmd}" needs JobId=<n>.`, { command: cmd });
  return jobId;
}

function throttle(fn: (files: number, bytes: number) => void): (files: number, bytes: number) => void {
  let last = 0;
  return (files, bytes) => {
    const now = Date.now();
    if (now - last < PROGRESS_EVERY_MS) return;
    last = now;
    fn(files, bytes);
  };
}
