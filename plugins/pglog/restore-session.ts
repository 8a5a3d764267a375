/**
 * One pglog restore: per cluster, the chain's base backup is unpacked into
 * <where>/<cluster>/data as it streams, its WAL written into
 * <where>/<cluster>/wal, and at the end the recovery settings are written
 * (recovery.signal, restore_command, the recovery target) so that
 * `pg_ctl -D <where>/<cluster>/data start` replays the WAL up to the target
 * (or to its end) and promotes. A target the chain cannot reach is refused
 * (before the base's consistency point) or dropped with a warning (after its
 * WAL ends).
 */
import { constants } from 'node:fs';
import { appendFile, chown, mkdir, open, readdir, rename, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { CairnError, displayPath, type AgentContext, type CreateResult, type DataChunk, type FileEntry, type RestoreJob } from '../../plugin-api/index.js';
import { parsePath, type BackupLabel } from './entries.js';
import { recoveryConf } from './recovery-config.js';
import { TarExtractor } from './tar-extract.js';

interface ClusterRestore {
  name: string;
  dataDir: string;
  walDir: string;
  base: 'none' | 'extracting' | 'ok' | 'failed';
  extractor: TarExtractor | null;
  labels: BackupLabel[];
  wal: number;
}

type Current = { kind: 'base'; cluster: ClusterRestore } | { kind: 'wal'; cluster: ClusterRestore; fh: FileHandle; tmp: string; final: string } | null;

async function emptyOrAbsent(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}

export class PglogRestore {
  private readonly clusters = new Map<string, ClusterRestore>();
  private cur: Current = null;
  private readonly asRoot = process.getuid?.() === 0;
  private where = '';

  constructor(
    private readonly ctx: AgentContext,
    private readonly job: RestoreJob,
  ) {}

  async prepare(): Promise<void> {
    if (!this.job.where || !isAbsolute(this.job.where)) {
      throw new CairnError('CAIRN_E_PGLOG_RESTORE_TARGET', 'a pglog restore needs a target folder (restore --to DIR): it writes DIR/<cluster>/data and DIR/<cluster>/wal, never over the running cluster', { where: this.job.where });
    }
    this.where = this.job.where;
  }

  private async cluster(name: string): Promise<ClusterRestore> {
    let c = this.clusters.get(name);
    if (c) return c;
    const dataDir = join(this.where, name, 'data');
    const walDir = join(this.where, name, 'wal');
    for (const d of [dataDir, walDir]) {
      if (!(await emptyOrAbsent(d))) {
        throw new CairnError('CAIRN_E_PGLOG_RESTORE_TARGET', `${d} exists and is not empty; a pglog restore writes a new data directory and WAL folder only (pick another --to, or remove it)`, { where: d });
      }
    }
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await mkdir(walDir, { recursive: true, mode: 0o700 });
    c = { name, dataDir, walDir, base: 'none', extractor: null, labels: [], wal: 0 };
    this.clusters.set(name, c);
    return c;
  }

  async createFile(file: FileEntry): Promise<CreateResult> {
    const p = parsePath(file.path);
    if (!p) {
      this.ctx.jobMessage('warning', `not a pglog path; skipped`, { path: file.path, code: 'CAIRN_E_PGLOG_RESTORE_UNSAFE' });
      return 'skip';
    }
    const c = await this.cluster(p.cluster);
    if (p.kind === 'label') {
      c.labels.push(file.meta as unknown as BackupLabel);
      return 'created';
    }
    if (p.kind === 'base') {
      if (c.base !== 'none') throw new CairnError('CAIRN_E_PGLOG_RESTORE_WRITE', `a second base backup for cluster ${c.name} in one restore`, { path: displayPath(file.path) });
      c.base = 'extracting';
      c.extractor = new TarExtractor(c.dataDir, this.asRoot);
      this.cur = { kind: 'base', cluster: c };
      return 'extract';
    }
    const final = join(c.walDir, p.name);
    const tmp = `${final}.part`;
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    this.cur = { kind: 'wal', cluster: c, fh, tmp, final };
    return 'extract';
  }

  async writeData(chunk: DataChunk): Promise<void> {
    const cur = this.cur;
    if (!cur) throw new CairnError('CAIRN_E_PGLOG_CALL_ORDER', 'writeData without a file being restored', { hook: 'writeData' });
    const bytes = chunk instanceof Uint8Array ? chunk : chunk.data;
    if (cur.kind === 'base') {
      await cur.cluster.extractor!.write(bytes);
      return;
    }
    for (let off = 0; off < bytes.byteLength; ) {
      const { bytesWritten } = await cur.fh.write(bytes, off, bytes.byteLength - off);
      off += bytesWritten;
    }
  }

  async endFile(ok: boolean): Promise<void> {
    const cur = this.cur;
    this.cur = null;
    if (!cur) return;
    if (cur.kind === 'base') {
      const c = cur.cluster;
      const whole = await c.extractor!.finish();
      if (ok && !whole) throw new CairnError('CAIRN_E_PGLOG_RESTORE_WRITE', `the base backup of cluster ${c.name} ended before its end-of-archive blocks`, { cluster: c.name });
      c.base = ok ? 'ok' : 'failed';
      if (ok) await c.extractor!.finishRoot();
      return;
    }
    try {
      if (ok) await cur.fh.sync();
    } finally {
      await cur.fh.close();
    }
    if (!ok) {
      await unlink(cur.tmp).catch(() => undefined);
      return;
    }
    await rename(cur.tmp, cur.final);
    cur.cluster.wal++;
  }

  async end(): Promise<void> {
    for (const c of this.clusters.values()) await this.finishCluster(c);
  }

  private async finishCluster(c: ClusterRestore): Promise<void> {
    if (c.base === 'failed') return; // the host listed the base as not restored; a half data directory gets no recovery settings
    if (c.base === 'none') {
      throw new CairnError('CAIRN_E_PGLOG_RESTORE_NO_BASE', `the restored jobs hold WAL for cluster ${c.name} but no base backup (was the restore limited to some paths?)`, { cluster: c.name });
    }
    const owner = c.extractor!.owner;
    const withBase = c.labels.filter((l) => l.hasBase).sort((a, b) => b.jobId - a.jobId)[0];
    const walEnd = c.labels.map((l) => l.walEnd).sort().at(-1);
    let target = this.job.recoveryTarget;
    if (target && withBase?.base && target.getTime() < Date.parse(withBase.base.consistentBy)) {
      throw new CairnError(
        'CAIRN_E_PGLOG_TARGET_BEFORE_BASE',
        `cannot recover cluster ${c.name} to ${target.toISOString()}: the base backup of job ${withBase.jobId} is consistent only from ${withBase.base.consistentBy} (server time), and PostgreSQL cannot stop earlier than that; restore as at a later time, or from a chain whose Full ended before ${target.toISOString()}`,
        { cluster: c.name, target: target.toISOString(), consistentBy: withBase.base.consistentBy, jobId: withBase.jobId },
      );
    }
    if (target && walEnd && target.getTime() > Date.parse(walEnd)) {
      this.ctx.jobMessage('warning', `the restored WAL of cluster ${c.name} reaches ${walEnd} (server time), before the recovery target ${target.toISOString()}: it recovers to the end of that WAL instead`, { code: 'CAIRN_E_PGLOG_TARGET_PAST_WAL' });
      target = undefined;
    }
    const note = `Added by the Cairn pglog restore on ${new Date().toISOString()}: replay the restored WAL${target ? ` up to ${target.toISOString()}` : ' to its end'}, then promote.`;
    try {
      await appendFile(join(c.dataDir, 'postgresql.auto.conf'), recoveryConf({ walDir: c.walDir, target, note }), { mode: 0o600 });
      await writeFile(join(c.dataDir, 'recovery.signal'), '', { mode: 0o600 });
      if (this.asRoot && owner) {
        for (const f of ['postgresql.auto.conf', 'recovery.signal']) await chown(join(c.dataDir, f), owner.uid, owner.gid);
        await chown(join(this.where, c.name), owner.uid, owner.gid); // the server's user must reach data/ and wal/
        await chown(c.walDir, owner.uid, owner.gid);
        for (const f of await readdir(c.walDir)) await chown(join(c.walDir, f), owner.uid, owner.gid);
      }
    } catch (err) {
      throw new CairnError('CAIRN_E_PGLOG_RESTORE_WRITE', `cannot write the recovery settings of cluster ${c.name} in ${c.dataDir}: ${(err as Error).message}`, { cluster: c.name, where: c.dataDir }, { cause: err });
    }
    this.ctx.jobMessage('info', `cluster ${c.name}: base of job ${withBase?.jobId ?? '?'} and ${c.wal} WAL file(s) restored to ${join(this.where, c.name)}; recovery ${target ? `to ${target.toISOString()}` : 'to the end of the WAL'} runs on \`pg_ctl -D ${c.dataDir} start\``);
  }
}
