/**
 * ConsoleService: the Director's side of a console connection (docs/protocol.md
 * §10). Commands: status, run, wait (progress notifications, then the job's
 * report), cancel, jobs, ls, restore, messages, prune, protect, volumes, pools. Every answer is JSON; the
 * console formats it.
 */
import type { Duplex } from 'node:stream';
import { CairnError, displayPath, pathBytes, type Level } from '../../plugin-api/index.js';
import { HOST_VERSION, keyFromDescription, parseOptionArgs } from '../../core/index.js';
import { ControlChannel, type ControlRequest, type HandlerReply } from '../../sd/index.js';
import { resolveRestorePoint } from '../jobs/resolve-job.js';
import type { DirectorService, RestoreCommand } from './director-service.js';
import type { JobReport } from '../jobs/job-report.js';
import type { KeepRules } from '../catalog/index.js';
import { poolRows, volumeRows } from '../retention/reports.js';
import { setProtection } from '../retention/protection.js';

const LEVELS = new Set(['full', 'incremental', 'differential']);

export class ConsoleService {
  private readonly started = Date.now();

  constructor(private readonly dir: DirectorService) {}

  async serve(stream: Duplex, consoleName: string, heartbeatMs?: number): Promise<void> {
    const ch = new ControlChannel(stream, { peer: `the console ${consoleName}`, heartbeatMs, watchPeer: false, onRequest: (req, c) => this.answer(req, c) });
    await ch.done;
  }

  private async answer(req: ControlRequest, ch: ControlChannel): Promise<HandlerReply> {
    const cmd = req.words.join(' ');
    const body = (req.body ?? {}) as Record<string, unknown>;
    switch (cmd) {
      case 'status client':
        return { text: 'status client', body: await this.dir.clientStatus(String(req.args.name ?? body.name ?? '')) };
      case 'status storage':
        return { text: 'status storage', body: await this.dir.storageStatus(String(req.args.name ?? body.name ?? '')) };
      case 'media':
      case 'mount':
      case 'unmount':
      case 'label': {
        const num = (v: unknown) => (v === undefined || v === null ? undefined : Number(v));
        const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
        return { text: cmd, body: await this.dir.storageMedia(cmd, { storage: String(body.storage ?? ''), device: str(body.device), slot: num(body.slot), name: str(body.name), pool: str(body.pool), scan: body.scan === true }) };
      }
      case 'status':
        return { text: 'status', body: { name: this.dir.config.director.name, version: HOST_VERSION, uptimeMs: Date.now() - this.started, running: this.dir.jobs() } };
      case 'run': {
        const level = body.level as string | undefined;
        if (level !== undefined && !LEVELS.has(level)) throw new CairnError('CAIRN_E_USAGE', `level "${level}" is not full, incremental or differential`, { level });
        const r = this.dir.runJob(String(body.job ?? ''), { level: level as Level | undefined, agentOptions: parseOptionArgs(body.options as string[] | undefined) });
        const jobId = await r.identified;
        return { text: `run JobId=${jobId}`, body: { jobId } };
      }
      case 'estimate': {
        const level = body.level as string | undefined;
        if (level !== undefined && !LEVELS.has(level)) throw new CairnError('CAIRN_E_USAGE', `level "${level}" is not full, incremental or differential`, { level });
        const r = await this.dir.estimate(String(body.job ?? ''), { level: level as Level | undefined });
        return { text: `estimate Files=${r.files} Bytes=${r.bytes}`, body: r };
      }
      case 'restore': {
        const r = await this.dir.restore(body as unknown as RestoreCommand);
        const jobId = await r.identified;
        return { text: `restore JobId=${jobId}`, body: { jobId } };
      }
      case 'verify': {
        const r = await this.dir.verify({ job: String(body.job ?? 'latest'), level: body.level as string | undefined, jobName: body.jobName as string | undefined });
        const jobId = await r.identified;
        return { text: `verify JobId=${jobId}`, body: { jobId } };
      }
      case 'wait': {
        const handle = Number(req.args.jobid);
        const found = this.dir.lookup(handle);
        if (!found) return { text: 'wait', body: await this.finishedReport(handle) };
        if (!('controller' in found)) return { text: 'wait', body: found };
        const send = (p: { files: number; bytes: number }) => void ch.notify('progress', { jobId: handle, ...p });
        found.listeners.add(send);
        try {
          return { text: 'wait', body: await found.done };
        } finally {
          found.listeners.delete(send);
        }
      }
      case 'cancel':
        this.dir.cancel(Number(req.args.jobid));
        return { text: 'cancelled' };
      case 'jobs': {
        const jobs = await this.dir.catalog.listJobs({ limit: Number(body.limit ?? 50) });
        // Retention as a prune would see it now (docs/retention.md).
        const plan = new Map((await this.dir.prune({ dryRun: true })).jobs.map((j) => [j.id, j]));
        return { text: 'jobs', body: jobs.map((j) => ({ ...j, report: undefined, expiresAt: plan.get(j.id)?.expiresAt ?? null, retention: { action: plan.get(j.id)?.action, reasons: plan.get(j.id)?.reasons } })) };
      }
      case 'ls': {
        const { job } = await resolveRestorePoint(this.dir.catalog, String(body.job ?? 'latest'), { asAt: body.asAt ? new Date(String(body.asAt)) : undefined, name: body.jobName as string | undefined, client: body.client as string | undefined });
        const chain = (await this.dir.catalog.restoreChain(job)).map((j) => j.id);
        const path = body.path as string | undefined;
        const prefix = path ? pathBytes(path.length > 1 ? path.replace(/\/+$/, '') : path) : undefined;
        const files = [];
        for await (const r of this.dir.catalog.treeAsAt(chain, prefix ? { prefix } : {})) {
          files.push({ path: displayPath(r.path), kind: r.kind, size: r.stat.size, mode: r.stat.mode, mtime: new Date(Number(r.stat.mtimeNs / 1_000_000n)).toISOString(), jobId: r.jobId, linkTarget: r.linkTarget ? displayPath(r.linkTarget) : undefined });
          if (files.length >= 100_000) break;
        }
        return { text: 'ls', body: { jobId: job.id, chain, files } };
      }
      case 'prune': {
        const pool = body.pool as string | undefined;
        return { text: 'prune', body: await this.dir.prune({ dryRun: body.dryRun === true, keep: body.keep as KeepRules | undefined, scope: pool ? (p) => p === pool : undefined }) };
      }
      case 'key rotate': {
        const b = body as { client?: string; recipient?: { boxPublicKey: string; signPublicKey: string } };
        if (!b.client || !b.recipient) throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', 'key rotate needs { client, recipient: { boxPublicKey, signPublicKey } }', {});
        return { text: 'key rotate', body: await this.dir.rotateClientKey(b.client, keyFromDescription(b.recipient)) };
      }
      case 'protect':
        return { text: 'protect', body: await setProtection(this.dir.catalog, String(body.target ?? ''), body.off !== true) };
      case 'volumes': {
        const rows = await volumeRows(this.dir);
        return { text: 'volumes', body: body.pool ? rows.filter((v) => v.pool === body.pool) : rows };
      }
      case 'pools':
        return { text: 'pools', body: await poolRows(this.dir.catalog) };
      case 'messages': {
        const jobId = Number(req.args.jobid);
        const log = await this.dir.catalog.jobLog(jobId);
        return { text: 'messages', body: log.map((e) => ({ ...e, path: e.path ? displayPath(e.path) : undefined })) };
      }
      default:
        throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', `Unknown console command "${req.line.slice(0, 80)}".`, { command: req.line.slice(0, 80) });
    }
  }

  private async finishedReport(jobId: number): Promise<JobReport> {
    const job = await this.dir.catalog.getJob(jobId);
    if (!job) throw new CairnError('CAIRN_E_JOB_NOT_FOUND', `there is no job ${jobId}`, { jobId });
    if (job.status === 'running') throw new CairnError('CAIRN_E_JOB_RUNNING', `job ${jobId} is marked running but this Director is not running it`, { jobId });
    return (job.report ?? { jobId, status: job.status }) as unknown as JobReport;
  }
}
