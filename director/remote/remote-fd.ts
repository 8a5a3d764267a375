/**
 * RemoteFd: a File Daemon across the network, as job control's FdPort
 * (docs/protocol.md §9). Each job gets its own authenticated connection;
 * the FD's questions about the base job (agent state, base files in pages)
 * are answered from the order's baseFor, its progress notifications feed the
 * job's progress callback, and the reply carries the outcome.
 */
import type { Duplex } from 'node:stream';
import { CairnError, isCairnError, type BaseFile, type JobStatus } from '../../plugin-api/index.js';
import { describeKey, encodeTreePage, fdWire, type rewrapDataKeys, type AgentBase, type CairnKey, type RewrapJob, type ExpectedEntry, type LiveCheckResult, type LiveVerifyOrder, type BackupOutcome, type CommandResult, type EstimateOrder, type EstimateResult, type FdBackupOrder, type FdPort, type FdRestoreOrder, type RestoreOutcome, type SdTarget, type WireBackupOrder, type WireRestoreOrder } from '../../core/index.js';
import { ControlChannel, type ControlRequest, type HandlerReply } from '../../sd/index.js';

/** Base files per `base files` page. */
const BASE_PAGE_FILES = 2000;
/** Expected entries per `tree` page of a verify (at most ≈ 4.3 MiB with 4 KiB paths). */
const TREE_PAGE_ENTRIES = 1000;

export interface RemoteFdOptions {
  /** The client's name (for messages). */
  client: string;
  /** Opens an authenticated connection to the FD. */
  connect(): Promise<Duplex>;
  /** The SD the FD is to reach for this job's sessions. */
  sd: SdTarget;
  heartbeatMs?: number;
}

export class RemoteFd implements FdPort {
  constructor(private readonly o: RemoteFdOptions) {}

  warmUp(): void {}

  async backup(order: FdBackupOrder): Promise<BackupOutcome> {
    const wire: WireBackupOrder = {
      jobName: order.jobName,
      level: order.level,
      fileset: { name: order.fileset.name, options: order.fileset.options, agents: order.fileset.agents },
      grant: order.grant,
      sd: this.o.sd,
      maxBandwidth: order.maxBandwidth,
      agentOptions: order.agentOptions,
    };
    const body = await this.call(`backup JobId=${order.jobId}`, wire, order.jobId, order.signal, this.baseAnswers(order.baseFor), (files, bytes) =>
      order.onProgress?.({ files, bytes, storedBytes: 0, deleted: 0 }),
    );
    return this.outcome(order.jobId, body as fdWire.WireBackupOutcome);
  }

  /** A backup outcome; a signed manifest the FD sent by size only is fetched in pieces (protocol.md §9.3). */
  private async outcome(jobId: number, wire: fdWire.WireBackupOutcome): Promise<BackupOutcome> {
    const o = fdWire.backupOutcomeFromWire(wire);
    const bytes = wire.crypto?.manifestBytes;
    if (o.crypto && bytes !== undefined) o.crypto.manifest = await fdWire.fetchManifest(jobId, bytes, (at) => this.once(`manifest JobId=${jobId} Offset=${at}`));
    return o;
  }

  /** `estimate` (protocol.md §9): files and bytes a backup would send; the FD asks base state and files as for a backup. */
  async estimate(order: EstimateOrder): Promise<EstimateResult> {
    const wire = { jobName: order.jobName, level: order.level, fileset: { name: order.fileset.name, options: order.fileset.options, agents: order.fileset.agents } };
    return (await this.call('estimate', wire, 0, order.signal, this.baseAnswers(order.baseFor), () => undefined)) as EstimateResult;
  }

  /** Answers the FD's `base` and `base files` questions of one job from `baseFor`. */
  private baseAnswers(baseFor: FdBackupOrder['baseFor']): (req: ControlRequest) => Promise<HandlerReply> {
    const bases = new Map<string, { base: AgentBase; pages: AsyncIterator<BaseFile> | null; page: number }>();
    const answer = async (req: ControlRequest): Promise<HandlerReply> => {
      const key = req.args.key ?? '';
      const cmd = req.words.join(' ');
      if (cmd === 'base') {
        const base = await baseFor(key);
        bases.set(key, { base, pages: null, page: 0 });
        const b = base.base;
        return { text: 'base', body: { state: base.state, base: b ? { jobId: b.jobId, level: b.level, startedAt: b.startedAt.toISOString() } : null } };
      }
      if (cmd === 'base files') {
        const entry = bases.get(key);
        if (!entry?.base.base) throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', `No base job was given for agent line ${key}.`, { key });
        if (Number(req.args.page) !== entry.page) throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', `Base files are read in order: page ${entry.page} is next, not ${req.args.page}.`, { key });
        entry.pages ??= entry.base.base.files()[Symbol.asyncIterator]();
        const rows: BaseFile[] = [];
        let more = true;
        while (rows.length < BASE_PAGE_FILES) {
          const n = await entry.pages.next();
          if (n.done) {
            more = false;
            break;
          }
          rows.push(n.value);
        }
        entry.page++;
        return { text: `base files Rows=${rows.length} More=${more ? 1 : 0}`, body: fdWire.encodeBaseFiles(rows) };
      }
      throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', `The Director does not answer "${req.line.slice(0, 80)}" during a backup.`, { command: req.line.slice(0, 80) });
    };
    return answer;
  }

  async restore(order: FdRestoreOrder): Promise<RestoreOutcome> {
    const wire: WireRestoreOrder = {
      mode: order.mode,
      where: order.where,
      replace: order.replace,
      recoveryTarget: order.recoveryTarget?.toISOString(),
      sessions: order.sessions.map((x) => ({ jobId: x.jobId, grant: x.grant, ...(x.crypto ? { crypto: fdWire.sessionCryptoToWire(x.crypto) } : {}) })),
      sd: this.o.sd,
      agentOptions: order.agentOptions,
      digests: order.digests ? { jobId: order.digests.jobId, byIndex: Object.fromEntries([...order.digests.byIndex].map(([k, v]) => [String(k), Buffer.from(v).toString('hex')])) } : undefined,
    };
    const jobId = order.sessions[0]?.jobId ?? 0;
    let lastBytes = 0;
    // The FD asks for each manifest the order names by size only (protocol.md §9.3).
    const manifests = new Map(order.sessions.map((x) => [x.jobId, x.crypto?.manifest]));
    const answer = async (req: ControlRequest): Promise<HandlerReply> => {
      if (req.words.join(' ') !== 'manifest') throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', `The Director does not answer "${req.line.slice(0, 80)}" during a restore.`, { command: req.line.slice(0, 80) });
      const piece = fdWire.manifestPiece(manifests.get(Number(req.args.jobid)), Number(req.args.jobid), Number(req.args.offset));
      return { text: `manifest Bytes=${piece.length}`, body: piece };
    };
    const body = await this.call(`restore JobId=${order.restoreJobId ?? jobId}`, wire, order.restoreJobId ?? jobId, order.signal, answer, (_files, bytes) => {
      if (bytes !== lastBytes) order.onFile?.('', bytes);
      lastBytes = bytes;
    });
    return fdWire.restoreOutcomeFromWire(body as fdWire.WireRestoreOutcome);
  }

  /**
   * `verify live` (protocol.md §9.4): the FD checks its live files against the expected tree, which it asks
   * for in pages (`tree JobId= Page=`), answered here from `order.rows`.
   */
  async verifyLive(order: LiveVerifyOrder): Promise<LiveCheckResult> {
    const rows = order.rows[Symbol.asyncIterator]();
    let page = 0;
    const answer = async (req: ControlRequest): Promise<HandlerReply> => {
      if (req.words.join(' ') !== 'tree') throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', `The Director does not answer "${req.line.slice(0, 80)}" during a verify.`, { command: req.line.slice(0, 80) });
      if (Number(req.args.page) !== page) throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', `The verify tree is read in order: page ${page} is next, not ${req.args.page}.`, {});
      const batch: ExpectedEntry[] = [];
      let more = true;
      while (batch.length < TREE_PAGE_ENTRIES) {
        const n = await rows.next();
        if (n.done) {
          more = false;
          break;
        }
        batch.push(n.value);
      }
      page++;
      return { text: `tree Rows=${batch.length} More=${more ? 1 : 0}`, body: encodeTreePage(batch) };
    };
    return (await this.call(`verify live JobId=${order.verifyJobId}`, { excludes: order.excludes }, order.verifyJobId, order.signal, answer, (files, bytes) => order.onProgress?.(files, bytes))) as LiveCheckResult;
  }

  async jobEnded(jobId: number, status: JobStatus): Promise<void> {
    await this.once(`job ended JobId=${jobId} Status=${status}`);
  }

  /**
   * The outcome of a backup whose reply never reached a Director (`job result`, protocol.md §9), for a
   * restarted Director completing the job: asked again every `pollMs` while the job still runs on the FD.
   * CAIRN_E_FD_NO_JOB when the FD holds none (it restarted, or another Director collected it).
   */
  async backupResult(jobId: number, signal?: AbortSignal, pollMs = 2000): Promise<BackupOutcome> {
    for (;;) {
      try {
        return await this.outcome(jobId, (await this.once(`job result JobId=${jobId}`)) as fdWire.WireBackupOutcome);
      } catch (err) {
        if (!(isCairnError(err) && err.code === 'CAIRN_E_FD_NO_JOB' && err.fields.running === true) || signal?.aborted) throw err;
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /** One order on a connection of its own; cancelling the signal sends `cancel` on a second connection. */
  private async call(
    line: string,
    body: unknown,
    jobId: number,
    signal: AbortSignal | undefined,
    onRequest: ((req: ControlRequest) => Promise<HandlerReply>) | undefined,
    onProgress: (files: number, bytes: number) => void,
  ): Promise<unknown> {
    const ch = new ControlChannel(await this.o.connect(), {
      peer: `the FD ${this.o.client}`,
      heartbeatMs: this.o.heartbeatMs,
      onRequest,
      onNotification: (type, n) => {
        const p = n as { files?: number; bytes?: number };
        if (type === 'progress') onProgress(p.files ?? 0, p.bytes ?? 0);
      },
    });
    const onAbort = () => {
      void this.cancel(jobId).catch(() => undefined);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const r = await ch.request(line, body);
      return r.body;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await ch.close();
    }
  }

  /** Key rotation (protocol.md §9 `rewrap`): the FD opens each job's data key with its own key and wraps it to `recipient`. */
  async rewrap(recipient: CairnKey, jobs: readonly RewrapJob[]): Promise<ReturnType<typeof rewrapDataKeys>> {
    const d = describeKey(recipient);
    return (await this.once('rewrap', { recipient: { boxPublicKey: d.boxPublicKey, signPublicKey: d.signPublicKey }, jobs })) as ReturnType<typeof rewrapDataKeys>;
  }

  /** The FD's name and running jobs. */
  async status(): Promise<Record<string, unknown>> {
    return (await this.once('status')) as Record<string, unknown>;
  }

  /** Runs a command on the client (job scripts); the FD runs only what its own config allows. */
  async runCommand(argv: string[], env: Record<string, string>): Promise<CommandResult> {
    return (await this.once('run command', { argv, env })) as CommandResult;
  }

  private async cancel(jobId: number): Promise<void> {
    await this.once(`cancel JobId=${jobId}`);
  }

  /** One request on a short connection of its own; the reply's body. */
  private async once(line: string, body?: unknown): Promise<unknown> {
    const ch = new ControlChannel(await this.o.connect(), { peer: `the FD ${this.o.client}` });
    try {
      return (await ch.request(line, body)).body;
    } finally {
      await ch.close();
    }
  }
}
