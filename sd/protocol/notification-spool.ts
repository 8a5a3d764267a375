/**
 * NotificationSpool: where an append session's notifications to the
 * Director go (protocol.md §4.2). Each job's notifications are sent on the
 * Director connection that owns the job — the one that opened its session,
 * or the last one that `claim`ed it — and, when the SD runs with a spool
 * folder (a daemon), also appended to the job's spool file there until the
 * Director `release`s the job. So a Director that restarts mid-job gets
 * every notification of the job again, in order, from its first
 * catalog-records to its session-closed, by claiming it; a job whose
 * Director is away goes on meanwhile. The spool file is fsynced before
 * session-closed or session-aborted is sent; it survives an SD restart, so a
 * closed session can still be claimed afterwards.
 *
 * Spool file `job-<jobId>.notes`: frames back to back, each a u32 BE length
 * and the 3201 frame payload exactly as sent on the wire.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { CairnError } from '../../plugin-api/index.js';
import type { SdNotification } from '../api.js';
import { Status, formatMessage } from '../wire/control-message.js';
import type { SdLogger } from '../session/logger.js';
import { encodeNotification } from './notification-codec.js';

/** Where a job's notifications are sent: a Director connection of the SD's. */
export interface NotificationSink {
  /** Writes one frame; false when the connection is gone. */
  sendFrame(frame: Buffer): Promise<boolean>;
}

/** running: its session may still send; closed / aborted: its last notification was sent; lost: the SD stopped before the session ended. */
export type SpooledJobState = 'running' | 'closed' | 'aborted' | 'lost';

const CLOSED_PREFIX = Buffer.from(`${Status.NOTIFICATION} notification session-closed`);
const ABORTED_PREFIX = Buffer.from(`${Status.NOTIFICATION} notification session-aborted`);

class JobRoute {
  sink: NotificationSink;
  state: SpooledJobState = 'running';
  count = 0;
  private file: fs.FileHandle | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private warned = false;

  constructor(
    readonly jobId: number,
    sink: NotificationSink,
    private readonly spoolFile: string | null,
    private readonly log: SdLogger,
  ) {
    this.sink = sink;
  }

  /** From now on the job's notifications go to `sink` (a Director that claimed the job). */
  redirect(sink: NotificationSink): void {
    this.sink = sink;
    this.warned = false;
  }

  /** Runs fn after every earlier send or claim of this job, so frames reach a Director in spool order. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  send(n: SdNotification): Promise<void> {
    const frame = formatMessage(`${Status.NOTIFICATION} notification ${n.type}`, encodeNotification(n));
    const last = n.type === 'session-closed' || n.type === 'session-aborted';
    return this.serial(async () => {
      if (this.spoolFile) {
        this.file ??= await fs.open(this.spoolFile, 'a');
        const head = Buffer.allocUnsafe(4);
        head.writeUInt32BE(frame.length, 0);
        await this.file.writev([head, frame]);
        // The Director may commit the job on session-closed: what it would replay must be on disk by then.
        if (last) await this.file.sync();
      }
      this.count++;
      if (last) {
        this.state = n.type === 'session-closed' ? 'closed' : 'aborted';
        await this.file?.close();
        this.file = null;
      }
      let delivered = false;
      try {
        delivered = await this.sink.sendFrame(frame);
      } catch {
        delivered = false;
      }
      if (!delivered && !this.warned) {
        this.warned = true;
        this.log.warn({ jobId: this.jobId, spooled: this.spoolFile !== null }, this.spoolFile ? 'Director connection gone: notifications of the job are kept in the spool until a Director claims it' : 'Director connection gone; notification dropped');
      }
    });
  }


  async close(): Promise<void> {
    await this.serial(async () => {
      await this.file?.close();
      this.file = null;
    });
  }
}

export class NotificationSpool {
  private readonly routes = new Map<number, JobRoute>();

  /** `dir`: the spool folder (a daemon's working directory); null keeps nothing (local mode: the Director is in-process). */
  constructor(
    private readonly dir: string | null,
    private readonly log: SdLogger,
  ) {}

  /** The route of a new append session's notifications, first to the connection that opened it. */
  async open(jobId: number, sink: NotificationSink): Promise<(n: SdNotification) => Promise<void>> {
    const file = this.fileOf(jobId);
    if (file) {
      await fs.mkdir(this.dir!, { recursive: true });
      await fs.rm(file, { force: true }); // a job id is new to this SD: an old spool of it is stale
    }
    const route = new JobRoute(jobId, sink, file, this.log);
    this.routes.set(jobId, route);
    return (n) => route.send(n);
  }

  /**
   * `claim JobId=`: routes the job's notifications to `sink` from now on. `answer` is called first with what is
   * spooled (it sends the reply), then every spooled notification is sent to `sink` in order, all before any
   * later notification of the job. Works from the spool file after an SD restart too. Throws
   * CAIRN_E_SESSION_NOT_FOUND when this SD knows nothing of the job.
   */
  async claim(jobId: number, sink: NotificationSink, answer: (state: SpooledJobState, notifications: number) => Promise<void>): Promise<void> {
    const route = this.routes.get(jobId);
    const file = this.fileOf(jobId);
    const replay = async (frames: Buffer[]): Promise<void> => {
      for (const f of frames) if (!(await sink.sendFrame(f))) return;
    };
    if (route) {
      // Inside the route's order: every frame sent before the claim is in the spool and replayed, every later one goes to `sink`.
      return route.serial(async () => {
        const frames = file ? await readSpool(file) : [];
        route.redirect(sink);
        await answer(route.state, frames.length);
        await replay(frames);
      });
    }
    const frames = file ? await readSpool(file).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : Promise.reject(err))) : null;
    if (!frames) throw new CairnError('CAIRN_E_SESSION_NOT_FOUND', `This Storage Daemon holds no session of job ${jobId}${this.dir ? '' : ' (it keeps no spool)'}.`, { jobId });
    const last = frames[frames.length - 1];
    await answer(last && startsWith(last, CLOSED_PREFIX) ? 'closed' : last && startsWith(last, ABORTED_PREFIX) ? 'aborted' : 'lost', frames.length);
    await replay(frames);
  }

  /** `release JobId=`: the Director committed the job; its spool is deleted. */
  async release(jobId: number): Promise<void> {
    const route = this.routes.get(jobId);
    if (route && route.state === 'running') {
      throw new CairnError('CAIRN_E_SESSION_STATE', `Job ${jobId} still has an open session on this Storage Daemon; it can be released only after its session-closed or session-aborted.`, { jobId });
    }
    await route?.close();
    this.routes.delete(jobId);
    const file = this.fileOf(jobId);
    if (file) await fs.rm(file, { force: true });
  }

  async closeAll(): Promise<void> {
    for (const r of this.routes.values()) await r.close().catch(() => undefined);
  }

  private fileOf(jobId: number): string | null {
    return this.dir ? path.join(this.dir, `job-${jobId}.notes`) : null;
  }
}

function startsWith(buf: Buffer, prefix: Buffer): boolean {
  return buf.length >= prefix.length && buf.subarray(0, prefix.length).equals(prefix);
}

/** The frames of a spool file; a torn last frame (the SD stopped mid-write) is left out. */
async function readSpool(file: string): Promise<Buffer[]> {
  const data = await fs.readFile(file);
  const frames: Buffer[] = [];
  let o = 0;
  while (o + 4 <= data.length) {
    const len = data.readUInt32BE(o);
    if (o + 4 + len > data.length) break;
    frames.push(data.subarray(o + 4, o + 4 + len));
    o += 4 + len;
  }
  return frames;
}
