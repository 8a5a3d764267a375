/**
 * One pglog backup. A Full (or a forced base) streams pg_basebackup's tar
 * (`-D - -Ft -X none`: one tar on stdout, the WAL comes from the spool),
 * reads the WAL start from its backup_label as it passes, then forces a WAL
 * switch, waits until that segment is archived and ships every segment from
 * the base's start to the switch. An Incremental ships the segments after
 * its base job's last one, a Differential those after its Full's last one,
 * both up to a WAL switch forced in prepareBackup — after checking that the
 * chain continues (same cluster, same timeline, no segment missing). The new
 * position is the job's agent state; spooled segments are removed only in
 * jobEnded, after the job was committed, and only those no later Incremental
 * or Differential of the chain needs (cleanSpool up to the Full's last).
 */
import { Buffer } from 'node:buffer';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CairnError, type AgentContext, type BackupJob, type DataChunk, type EndBackupResult, type FileEntry, type JobStatus, type StreamDesc } from '../../plugin-api/index.js';
import { baseEntry, labelEntry, walEntry, type BackupLabel } from './entries.js';
import { pglogOptions, type PglogOptions } from './manifest.js';
import { PgServer, type ServerInfo, type WalSwitch } from './server.js';
import { cleanSpool, listSpool, waitForSegment } from './spool.js';
import { TarStream, TarFormatError } from './tar-stream.js';
import { findBaseBackup, runTool } from './tools.js';
import { chainBreak, firstToShip, gapBreak, readState, walToShip, type ChainBreak, type PglogState } from './wal-plan.js';
import { historyTimeline } from './wal-segment.js';

/** Bytes read from a spooled segment per chunk (a 16 MiB segment is 16 chunks). */
const WAL_CHUNK = 1 << 20;

function fail(b: ChainBreak): CairnError {
  return new CairnError(b.code, b.message, b.fields);
}

/** START WAL LOCATION, its segment, CHECKPOINT LOCATION and START TIMELINE of a backup_label. */
export function parseBackupLabel(text: string): { startLsn: string; startSegment: string; checkpointLsn: string; timeline: number } | null {
  const start = /^START WAL LOCATION: ([0-9A-F]+\/[0-9A-F]+) \(file ([0-9A-F]{24})\)$/m.exec(text);
  const ckpt = /^CHECKPOINT LOCATION: ([0-9A-F]+\/[0-9A-F]+)$/m.exec(text);
  const tli = /^START TIMELINE: (\d+)$/m.exec(text);
  if (!start || !ckpt) return null;
  return { startLsn: start[1], startSegment: start[2], checkpointLsn: ckpt[1], timeline: tli ? Number(tli[1]) : parseInt(start[2].slice(0, 8), 16) };
}

export class PglogBackup {
  private readonly opts: PglogOptions;
  private server: PgServer | null = null;
  private info!: ServerInfo;
  private readonly base: PglogState | null;
  private mode: 'base' | 'wal' = 'base';
  private phase: 'start' | 'base' | 'queue' | 'done' = 'start';
  private readonly queue: FileEntry[] = [];
  private tool: { path: string; version: string } | null = null;
  private labelText = '';
  private baseStreamed = false;
  private tarBytes = 0;
  private baseInfo: BackupLabel['base'];
  private segments: string[] = [];
  private walSwitch: WalSwitch | null = null;
  private newState: PglogState | null = null;

  constructor(
    private readonly ctx: AgentContext,
    private readonly job: BackupJob,
  ) {
    this.opts = pglogOptions(job.options);
    this.base = readState(job.state);
  }

  private get segmentSize(): number {
    return this.info.segmentSize;
  }

  async prepare(): Promise<void> {
    await listSpool(this.opts.spool); // readable, or CAIRN_E_PGLOG_SPOOL now
    this.server = await PgServer.connect(this.opts, this.ctx.signal);
    const info = (this.info = await this.server.info());
    if (info.inRecovery) throw new CairnError('CAIRN_E_PGLOG_STANDBY', `the server at ${this.opts.host}:${this.opts.port} is a standby (in recovery); back up the primary, where the agent can force a WAL switch`, { host: this.opts.host });
    const archiving = info.archiveCommand !== '' || info.archiveLibrary !== '';
    if (!['replica', 'logical'].includes(info.walLevel) || !['on', 'always'].includes(info.archiveMode) || !archiving) {
      throw new CairnError(
        'CAIRN_E_PGLOG_NOT_ARCHIVING',
        `the server does not archive WAL into the spool: wal_level=${info.walLevel} (needs replica or logical), archive_mode=${info.archiveMode} (needs on), archive_command=${info.archiveCommand ? `'${info.archiveCommand}'` : '(empty)'}; see docs/agents/pglog.md`,
        { walLevel: info.walLevel, archiveMode: info.archiveMode },
      );
    }
    if (info.archiveCommand && !info.archiveCommand.includes(this.opts.spool)) {
      this.ctx.log.warn('archive_command does not name the spool folder; the agent will wait for segments there', { archiveCommand: info.archiveCommand, spool: this.opts.spool });
    }
    if (info.tablespaces.length) {
      throw new CairnError(
        'CAIRN_E_PGLOG_TABLESPACES',
        `the cluster has tablespaces beyond pg_default and pg_global (${info.tablespaces.map((t) => `${t.name} at ${t.location}`).join(', ')}); the pglog agent backs up single-location clusters only and refuses rather than leave them out. Move their objects to pg_default (ALTER … SET TABLESPACE) or back them up with the pgsql agent`,
        { tablespaces: info.tablespaces.map((t) => t.name).join(',') },
      );
    }
    if (this.job.level !== 'full') {
      let brk = chainBreak(this.job.level, this.base, info, this.job.base?.jobId);
      if (!brk) {
        const state = this.base!;
        await this.switchAndWait();
        const first = firstToShip(state);
        const plan = walToShip(first, this.walSwitch!.segment, await listSpool(this.opts.spool), this.segmentSize);
        if (plan.missing) brk = gapBreak(this.job.level, plan.missing, first, this.walSwitch!.segment, this.opts.spool, state, this.job.base?.jobId);
        else this.segments = plan.segments;
      }
      if (brk && this.opts.onGap === 'fail') throw fail(brk);
      if (brk) {
        this.ctx.jobMessage('warning', `${brk.message} — taking a new base backup in this ${this.job.level} instead (onGap: full)`, { code: 'CAIRN_E_PGLOG_FORCED_FULL' });
        this.walSwitch = null;
        this.segments = [];
      } else {
        this.mode = 'wal';
      }
    }
    if (this.mode === 'base') {
      this.tool = await findBaseBackup(this.opts.binDir, Math.floor(info.versionNum / 10000));
      // Archiving must work before a base backup starts: pg_basebackup -X none waits, silently and without
      // end, for its last segment to be archived. A switch (a no-op when no WAL was written since the last
      // one) proves it within archiveWaitSeconds, or fails naming the archiver's last failure.
      if (!this.walSwitch) await this.switchAndWait();
    }
  }

  /** Forces a WAL switch and waits until the completed segment is in the spool. */
  private async switchAndWait(): Promise<void> {
    this.walSwitch = await this.server!.switchWal();
    await waitForSegment(this.opts.spool, this.walSwitch.segment, {
      timeoutMs: this.opts.archiveWaitSeconds * 1000,
      signal: this.ctx.signal,
      archiver: () => this.server!.archiver(),
    });
  }

  async nextFile(): Promise<FileEntry | null> {
    if (this.phase === 'start') {
      if (this.mode === 'base') {
        this.phase = 'base';
        return baseEntry(this.opts.cluster, Date.now());
      }
      await this.queueWal();
    } else if (this.phase === 'base') {
      if (!this.baseStreamed) throw new CairnError('CAIRN_E_PGLOG_CALL_ORDER', 'nextFile was called before the base backup stream was read to its end', { hook: 'nextFile' });
      await this.afterBase();
      await this.queueWal();
    }
    const next = this.queue.shift();
    if (next) {
      this.ctx.progress.file(next.path);
      return next;
    }
    if (this.phase === 'queue') {
      this.phase = 'done';
      const label = this.finishState();
      return labelEntry(this.opts.cluster, label, Date.now());
    }
    return null;
  }

  /** The base is streamed: the WAL from its start to a fresh switch must all be in the spool. */
  private async afterBase(): Promise<void> {
    const label = parseBackupLabel(this.labelText);
    if (!label) throw new CairnError('CAIRN_E_PGLOG_BASE_LABEL', 'the base backup tar had no readable backup_label (START WAL LOCATION, CHECKPOINT LOCATION); cannot tell which WAL it needs', {});
    const consistentBy = await this.server!.now();
    await this.switchAndWait();
    const last = this.walSwitch!.segment;
    const plan = walToShip(label.startSegment, last, await listSpool(this.opts.spool), this.segmentSize);
    if (plan.missing) throw fail(gapBreak(this.job.level, plan.missing, label.startSegment, last, this.opts.spool, null));
    this.segments = plan.segments;
    this.baseInfo = { startLsn: label.startLsn, startSegment: label.startSegment, checkpointLsn: label.checkpointLsn, consistentBy, tarBytes: this.tarBytes };
  }

  private async queueWal(): Promise<void> {
    this.phase = 'queue';
    const names = [...this.segments];
    // A base on a later timeline: its history file lets recovery follow the timeline's ancestry.
    if (this.mode === 'base' && this.info.timeline > 1) {
      const spooled = await listSpool(this.opts.spool);
      for (const n of spooled) if (historyTimeline(n) === this.info.timeline) names.push(n);
    }
    for (const name of names) {
      const st = await stat(join(this.opts.spool, name));
      this.queue.push(walEntry(this.opts.cluster, name, st.size, st.mtimeMs));
    }
  }

  private finishState(): BackupLabel {
    const info = this.info;
    const sw = this.walSwitch!;
    const prev = this.base;
    const lastSegment = this.segments.at(-1) ?? prev!.lastSegment;
    const full =
      this.job.level === 'full' || !prev || prev.systemId !== info.systemId || prev.timeline !== info.timeline
        ? { jobId: this.job.jobId, startSegment: this.baseInfo?.startSegment ?? this.segments[0], lastSegment }
        : prev.full;
    this.newState = { v: 1, systemId: info.systemId, timeline: info.timeline, segmentSize: info.segmentSize, lastSegment, lastLsn: sw.lsn, walEnd: sw.time, full };
    return {
      jobId: this.job.jobId,
      level: this.job.level,
      hasBase: this.mode === 'base',
      systemId: info.systemId,
      timeline: info.timeline,
      segmentSize: info.segmentSize,
      serverVersion: info.version,
      firstSegment: this.segments[0] ?? null,
      lastSegment: this.segments.at(-1) ?? null,
      walEnd: sw.time,
      ...(this.baseInfo ? { base: this.baseInfo } : {}),
    };
  }

  readData(file: FileEntry, stream: StreamDesc): AsyncIterable<DataChunk> {
    if (stream.name === 'base') return this.baseStream();
    const name = (file.meta as { segment?: string } | undefined)?.segment;
    if (!name) throw new CairnError('CAIRN_E_PGLOG_CALL_ORDER', 'readData for an entry the agent did not report', { hook: 'readData' });
    return this.walStream(join(this.opts.spool, name));
  }

  private async *baseStream(): AsyncGenerator<DataChunk> {
    const o = this.opts;
    const toolMajor = Number(/(\d+)/.exec(this.tool!.version)?.[1] ?? 0);
    const args = ['-h', o.host, '-p', String(o.port), '-U', o.user, '-w', '-D', '-', '-F', 't', '-X', 'none', '-c', o.checkpoint, '-l', `cairn ${this.job.jobName} job ${this.job.jobId}`];
    if (toolMajor >= 13) args.push('--no-manifest');
    const run = runTool(this.tool!.path, args, this.ctx.signal, (line) => this.ctx.log.info(`pg_basebackup: ${line}`));
    const sniff = new TarStream();
    let inLabel = false;
    const label: Buffer[] = [];
    try {
      for await (const chunk of run.stdout) {
        // Looked at before it is yielded: the host may hand the chunk's memory to another thread.
        let events;
        try {
          events = sniff.push(chunk);
        } catch (err) {
          throw new CairnError('CAIRN_E_PGLOG_BASE_BACKUP', `pg_basebackup's tar stream is not a valid tar: ${(err as TarFormatError).message}`, {}, { cause: err });
        }
        for (const ev of events) {
          if (ev.kind === 'entry') inLabel = ev.header.name === 'backup_label' || ev.header.name === './backup_label';
          else if (ev.kind === 'data' && inLabel) label.push(Buffer.from(ev.data));
          else if (ev.kind === 'entry-end') inLabel = false;
        }
        const n = chunk.byteLength;
        this.tarBytes += n;
        this.ctx.progress.bytes(n);
        yield chunk;
      }
      await run.done; // a failed pg_basebackup ends its stdout early: its exit status is the error
    } finally {
      run.kill(); // the host stopped early (abort), or the tool is done and this does nothing
    }
    if (!sniff.done) throw new CairnError('CAIRN_E_PGLOG_BASE_BACKUP', `pg_basebackup's tar stream ended after ${this.tarBytes} bytes without the end-of-archive blocks`, { bytes: this.tarBytes });
    this.labelText = Buffer.concat(label).toString('utf8');
    this.baseStreamed = true;
  }

  private async *walStream(path: string): AsyncGenerator<DataChunk> {
    const fh = await open(path, 'r');
    try {
      for (let pos = 0; ; ) {
        const buf = this.ctx.chunkBuffer(WAL_CHUNK);
        const { bytesRead } = await fh.read(buf, 0, WAL_CHUNK, pos);
        if (bytesRead === 0) return;
        pos += bytesRead;
        this.ctx.progress.bytes(bytesRead);
        yield buf.subarray(0, bytesRead);
      }
    } finally {
      await fh.close();
    }
  }

  async end(): Promise<EndBackupResult> {
    if (!this.newState) throw new CairnError('CAIRN_E_PGLOG_CALL_ORDER', 'endBackup was called before nextFile returned null', { hook: 'endBackup' });
    return { state: this.newState as unknown as EndBackupResult['state'] };
  }

  /** After the catalog commit: removes what no later backup of the chain needs. A failed job removes nothing. */
  async jobEnded(status: JobStatus): Promise<void> {
    try {
      if ((status === 'ok' || status === 'warning') && this.newState) {
        const removed = await cleanSpool(this.opts.spool, this.newState.full.lastSegment, this.newState.segmentSize);
        this.ctx.log.info(`removed ${removed.length} spooled WAL file(s) up to ${this.newState.full.lastSegment}, the last segment of the chain's Full (job ${this.newState.full.jobId})`, { removed: removed.length });
      }
    } finally {
      await this.server?.close();
      this.server = null;
    }
  }
}
