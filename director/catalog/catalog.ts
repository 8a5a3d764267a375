/**
 * Catalog: the Director's record of clients, filesets, jobs, file versions,
 * volumes and job media. Async methods over a CatalogDriver (SQLite by
 * default). Durable points: finishJob, createVolume, updateVolume and the
 * migration at open resolve only once their commit is on permanent storage.
 * Job selection rules (restoreChain, lastSuccessfulJob, jobAsAt) live in
 * job-chain.ts; volumes in volume-store.ts.
 */
import { createHash } from 'node:crypto';
import { type AgentState, CairnError, treeKey } from '../../plugin-api/index.js';
import type { CatalogDriver, CatalogSession } from './driver.js';
import { JobChain } from './job-chain.js';
import { LATEST_SCHEMA_VERSION, migrate, readSchemaVersion } from './migrations.js';
import {
  FILE_COLUMNS, FILE_KINDS, fileFromRow, fileParams, jobFromRow, jsonOrNull, toBytes, toNum, treeRowFromRow,
} from './row-codec.js';
import { and, eq, inList } from './sql/conditions.js';
import { dialectOf } from './sql/dialect.js';
import { identityResyncStatement } from './sql/ddl.js';
import { QueryBuilder } from './sql/query-builder.js';
import { SqliteDriver, type SqliteDriverOptions } from './sqlite-driver.js';
import { BASE_TREE_COLUMNS, jobTreeSql, treeAsAtSql } from './tree-query.js';
import { isDeletedRow, mergeChain } from './tree-merge.js';
import { baseFileFromRow } from './base-file.js';
import type { BaseFile } from '../../plugin-api/index.js';
import type { JobMediaRange } from './sd-port.js';
import type {
  CatalogFileRow, CatalogFileset, CatalogJob, CatalogTreeRow, JobFilter, JobLogEntry, JobOutcome, JobProgressPatch,
  NewJob, NewJobLogEntry, TreeOptions,
} from './types.js';
import { VolumeStore } from './volume-store.js';
import { RetentionStore } from './retention-store.js';

export class Catalog extends VolumeStore {
  private readonly chain: JobChain;
  /** Reads and removals for pruning (retention-store.ts). */
  readonly retention: RetentionStore;

  private constructor(driver: CatalogDriver, qb: QueryBuilder) {
    super(driver, qb);
    this.chain = new JobChain(driver, qb);
    this.retention = new RetentionStore(driver, qb);
  }

  /** The engine behind this catalog ('sqlite' or 'postgres'). */
  get engine(): CatalogDriver['dialect'] {
    return this.driver.dialect;
  }

  /**
   * A consistent copy of a SQLite catalog in `file` (better-sqlite3's online backup: pages copied while
   * writers go on, the copy a snapshot). PostgreSQL catalogs are dumped with pg_dump instead (catalog-backup).
   */
  async backupTo(file: string): Promise<void> {
    if (!(this.driver instanceof SqliteDriver)) {
      throw new CairnError('CAIRN_E_CATALOG_QUERY', 'backupTo() copies SQLite catalogs only; a PostgreSQL catalog is dumped with pg_dump', { engine: this.driver.dialect });
    }
    await this.driver.backupTo(file);
  }

  /** Opens (creating if needed) a SQLite catalog and migrates it to the current schema. */
  static async open(file: string, opts: SqliteDriverOptions = {}): Promise<Catalog> {
    return Catalog.openWith(SqliteDriver.open(file, opts));
  }

  /**
   * A second handle on a catalog this process already opened (and so migrated), e.g. from a worker
   * thread with its own connection: no migration step, no write at open.
   */
  static attach(driver: CatalogDriver): Catalog {
    return new Catalog(driver, new QueryBuilder(dialectOf(driver.dialect)));
  }

  /** The SQLite file behind this catalog (another thread may open it too), or null for another engine. */
  get sqliteFile(): string | null {
    return this.driver instanceof SqliteDriver ? this.driver.file : null;
  }

  /** Opens a catalog on any driver (PostgreSQL later). Closes the driver if migration fails. */
  static async openWith(driver: CatalogDriver): Promise<Catalog> {
    try {
      await migrate(driver);
    } catch (err) {
      await driver.close();
      throw err;
    }
    return new Catalog(driver, new QueryBuilder(dialectOf(driver.dialect)));
  }

  static readonly LATEST_SCHEMA_VERSION = LATEST_SCHEMA_VERSION;

  close(): Promise<void> {
    return this.driver.close();
  }

  schemaVersion(): Promise<number> {
    return readSchemaVersion(this.driver);
  }

  // --- clients and filesets ---

  ensureClient(name: string): Promise<number> {
    return this.driver.transaction((tx) => this.ensureClientIn(tx, name));
  }

  private async ensureClientIn(tx: CatalogSession, name: string): Promise<number> {
    const r = await tx.run(
      this.qb.insert({ into: 'clients', values: { name, created_at: Date.now() }, onConflict: { target: ['name'], update: { name: { excluded: 'name' } } }, returning: ['id'] }),
    );
    return toNum(r.rows[0].id);
  }

  async ensureFileset(name: string, text: string): Promise<{ id: number; hash: string }> {
    const hash = createHash('sha256').update(text, 'utf8').digest('hex');
    const r = await this.driver.run(
      this.qb.insert({
        into: 'filesets',
        values: { name, hash, text, created_at: Date.now() },
        onConflict: { target: ['name', 'hash'], update: { name: { excluded: 'name' } } },
        returning: ['id'],
      }),
    );
    return { id: toNum(r.rows[0].id), hash };
  }

  async getFileset(name: string, hash: string): Promise<CatalogFileset | null> {
    const row = await this.driver.get(this.qb.select({ from: 'filesets', where: and(eq('name', name), eq('hash', hash)) }));
    return row === undefined ? null : { id: toNum(row.id), name: String(row.name), hash: String(row.hash), text: String(row.text) };
  }

  /** The fileset of that name whose hash starts with `hashPrefix` (jobs keep the fingerprint's 32-digit prefix), or null. */
  async findFileset(name: string, hashPrefix: string): Promise<CatalogFileset | null> {
    const rows = await this.driver.all(this.qb.select({ from: 'filesets', where: eq('name', name), orderBy: ['id'] }));
    const row = rows.find((r) => String(r.hash).startsWith(hashPrefix));
    return row === undefined ? null : { id: toNum(row.id), name: String(row.name), hash: String(row.hash), text: String(row.text) };
  }

  // --- jobs ---

  createJob(job: NewJob): Promise<number> {
    return this.driver.transaction(async (tx) => {
      await this.ensureClientIn(tx, job.client);
      const r = await tx.run(
        this.qb.insert({
          into: 'jobs',
          values: {
            name: job.name, type: job.type, level: job.level, client: job.client, fileset: job.fileset ?? null,
            fileset_hash: job.filesetHash ?? null, pool: job.pool ?? null, status: 'running', started_at: job.startedAt.getTime(),
          },
          returning: ['id'],
        }),
      );
      return toNum(r.rows[0].id);
    });
  }

  /**
   * A job row with the id it had (a catalog rebuilt from volumes: bscan), status 'running' until
   * finishJob gives it the outcome the volumes say. Refused with CAIRN_E_CATALOG_JOB_STATE if the id is taken.
   */
  importJob(job: NewJob & { id: number; sessionId?: number | null }): Promise<void> {
    return this.driver.transaction(async (tx) => {
      const taken = await tx.get(this.qb.select({ from: 'jobs', columns: ['id'], where: eq('id', job.id) }));
      if (taken !== undefined) throw new CairnError('CAIRN_E_CATALOG_JOB_STATE', `job ${job.id} is already in the catalog`, { jobId: job.id });
      await this.ensureClientIn(tx, job.client);
      await tx.run(
        this.qb.insert({
          into: 'jobs',
          values: {
            id: job.id, name: job.name, type: job.type, level: job.level, client: job.client, fileset: job.fileset ?? null,
            fileset_hash: job.filesetHash ?? null, pool: job.pool ?? null, status: 'running', started_at: job.startedAt.getTime(), session_id: job.sessionId ?? null,
          },
        }),
      );
      const resync = identityResyncStatement(this.qb.dialect, 'jobs');
      if (resync) await tx.exec(resync);
    });
  }

  /** Stores a fileset row under a hash given (a rebuilt catalog that has no text for it). */
  async importFileset(name: string, hash: string, text: string): Promise<void> {
    await this.driver.run(
      this.qb.insert({ into: 'filesets', values: { name, hash, text, created_at: Date.now() }, onConflict: { target: ['name', 'hash'], update: { name: { excluded: 'name' } } } }),
    );
  }

  /** Counters and session id of a running job (not durable by itself; finishJob's commit covers it). */
  async updateJob(jobId: number, patch: JobProgressPatch): Promise<void> {
    const set: Record<string, number> = {};
    if (patch.files !== undefined) set.files = patch.files;
    if (patch.bytes !== undefined) set.bytes = patch.bytes;
    if (patch.readBytes !== undefined) set.read_bytes = patch.readBytes;
    if (patch.errors !== undefined) set.errors = patch.errors;
    if (patch.sessionId !== undefined) set.session_id = patch.sessionId;
    if (Object.keys(set).length === 0) return;
    const r = await this.driver.run(this.qb.update({ table: 'jobs', set, where: eq('id', jobId) }));
    if (r.changes === 0) throw noJob(jobId);
  }

  /**
   * Ends a running job. Durable: when this resolves the outcome (and every
   * file, media range and log line written for the job before it) is on
   * permanent storage. Agent states are saved in the same commit, and only
   * for ok/warning, so a failed job never advances an agent's state.
   */
  finishJob(jobId: number, outcome: JobOutcome): Promise<void> {
    return this.driver.transaction(
      async (tx) => {
        const row = await tx.get(this.qb.select({ from: 'jobs', columns: ['status'], where: eq('id', jobId) }));
        if (row === undefined) throw noJob(jobId);
        if (row.status !== 'running') {
          throw new CairnError('CAIRN_E_CATALOG_JOB_STATE', `job ${jobId} already ended with status ${String(row.status)}`, { jobId, status: row.status });
        }
        await tx.run(
          this.qb.update({
            table: 'jobs',
            set: {
              status: outcome.status, ended_at: outcome.endedAt.getTime(), files: outcome.files, bytes: outcome.bytes,
              ...(outcome.readBytes === undefined ? {} : { read_bytes: outcome.readBytes }),
              errors: outcome.errors, report: outcome.report == null ? null : JSON.stringify(outcome.report),
              ...(outcome.logChain ? { log_chain: true } : {}),
            },
            where: eq('id', jobId),
          }),
        );
        if (outcome.status === 'ok' || outcome.status === 'warning') {
          for (const [agent, state] of Object.entries(outcome.agentStates ?? {})) await this.saveAgentStateIn(tx, jobId, agent, state);
        }
      },
      { durable: true },
    );
  }

  async getJob(id: number): Promise<CatalogJob | null> {
    const row = await this.driver.get(this.qb.select({ from: 'jobs', where: eq('id', id) }));
    return row === undefined ? null : jobFromRow(row);
  }

  /** Jobs matching the filter, newest (highest id) first. */
  async listJobs(filter: JobFilter = {}): Promise<CatalogJob[]> {
    const where = and(
      filter.client === undefined ? undefined : eq('client', filter.client),
      filter.name === undefined ? undefined : eq('name', filter.name),
      filter.type === undefined ? undefined : eq('type', filter.type),
      filter.status === undefined ? undefined : eq('status', filter.status),
    );
    const rows = await this.driver.all(this.qb.select({ from: 'jobs', where, orderBy: [{ column: 'id', desc: true }], limit: filter.limit ?? 100 }));
    return rows.map(jobFromRow);
  }

  lastSuccessfulJob(q: Parameters<JobChain['lastSuccessfulJob']>[0]): Promise<CatalogJob | null> {
    return this.chain.lastSuccessfulJob(q);
  }

  /** Full, then Differential, then Incrementals needed to restore as at `job` (see docs/catalog.md). */
  async restoreChain(job: CatalogJob | number): Promise<CatalogJob[]> {
    const j = typeof job === 'number' ? await this.getJob(job) : job;
    if (j === null) throw noJob(job as number);
    return this.chain.restoreChain(j);
  }

  jobAsAt(q: { client: string; name: string }, date: Date): Promise<CatalogJob | null> {
    return this.chain.jobAsAt(q, date);
  }

  /** The first successful backup of (client, name) that ended after `date` (log-type restores). */
  jobEndedAfter(q: { client: string; name: string }, date: Date): Promise<CatalogJob | null> {
    return this.chain.jobEndedAfter(q, date);
  }

  // --- files ---

  /**
   * One batch of file rows, in one transaction of its own (all or none). On PostgreSQL batches of
   * different jobs run side by side; await each call before relying on its rows (finishJob does).
   */
  async insertFiles(jobId: number, rows: readonly CatalogFileRow[]): Promise<void> {
    if (rows.length === 0) return;
    const params = rows.map((r) => {
      if (!Number.isSafeInteger(r.fileIndex) || r.fileIndex < 0 || !(r.path instanceof Uint8Array) || r.path.length === 0 || !FILE_KINDS.includes(r.kind)) {
        throw new CairnError('CAIRN_E_CATALOG_BAD_ROW', `job ${jobId}: malformed file row (file index ${r.fileIndex}, kind ${String(r.kind)})`, { jobId, fileIndex: r.fileIndex, kind: r.kind });
      }
      return fileParams(jobId, r);
    });
    await this.driver.insertMany('files', FILE_COLUMNS, params);
  }

  /**
   * The tree as at the last job of `jobIds` (a restore chain, oldest first):
   * the latest version of each path (later job wins), deletions removed, in
   * tree order, streamed in bounded memory.
   */
  async *treeAsAt(jobIds: readonly number[], opts: TreeOptions = {}): AsyncIterable<CatalogTreeRow> {
    if (jobIds.length === 0) return;
    if (jobIds.length === 1) {
      for await (const row of this.driver.iterate(treeAsAtSql(this.qb.dialect, jobIds[0], opts))) yield treeRowFromRow(row);
      return;
    }
    const streams = jobIds.map((id) => this.driver.iterate(jobTreeSql(this.qb.dialect, id, opts)));
    for await (const row of mergeChain(streams, isDeletedRow)) yield treeRowFromRow(row);
  }

  /**
   * The base tree an agent compares against (BaseFile rows of treeAsAt),
   * reading only the columns it needs. Always the merge path: one cursor per
   * job in index order, so nothing is sorted.
   */
  async *baseTree(jobIds: readonly number[], opts: TreeOptions = {}): AsyncIterable<BaseFile> {
    if (jobIds.length === 1) {
      for await (const page of this.driver.iteratePages(jobTreeSql(this.qb.dialect, jobIds[0], opts, BASE_TREE_COLUMNS))) {
        for (const r of page) if (!isDeletedRow(r)) yield baseFileFromRow(r);
      }
      return;
    }
    const streams = jobIds.map((id) => this.driver.iterate(jobTreeSql(this.qb.dialect, id, opts, BASE_TREE_COLUMNS)));
    for await (const r of mergeChain(streams, isDeletedRow)) yield baseFileFromRow(r);
  }

  /** Removes a job's file rows and job-media (a Director resuming a job it was cataloguing re-reads them all from the SD). */
  async clearJobFiles(jobId: number): Promise<void> {
    await this.driver.transaction(async (tx) => {
      await tx.run(this.qb.delete({ from: 'files', where: eq('job_id', jobId) }));
      await tx.run(this.qb.delete({ from: 'job_media', where: eq('job_id', jobId) }));
    });
  }

  /**
   * Which (job, file index) make up the tree as at the chain's last job (treeAsAt's choice), reading only the
   * merge keys: a bootstrap file needs no more. In tree order.
   */
  async *treeIndexes(jobIds: readonly number[]): AsyncIterable<{ jobId: number; fileIndex: number }> {
    const columns = ['job_id', 'tree_key', 'agent', 'file_index', 'deleted'];
    const streams = jobIds.map((id) => this.driver.iterate(jobTreeSql(this.qb.dialect, id, {}, columns)));
    for await (const r of mergeChain(streams, isDeletedRow)) yield { jobId: toNum(r.job_id), fileIndex: toNum(r.file_index) };
  }

  async *filesOfJob(jobId: number): AsyncIterable<CatalogFileRow> {
    for await (const row of this.driver.iterate(this.qb.select({ from: 'files', where: eq('job_id', jobId), orderBy: ['file_index'] }))) {
      yield fileFromRow(row);
    }
  }

  async findFile(jobId: number, path: Uint8Array, agent?: string): Promise<CatalogFileRow | null> {
    const where = and(eq('job_id', jobId), eq('tree_key', treeKey(path)), agent === undefined ? undefined : eq('agent', agent));
    const row = await this.driver.get(this.qb.select({ from: 'files', where, orderBy: [{ column: 'file_index', desc: true }], limit: 1 }));
    return row === undefined ? null : fileFromRow(row);
  }

  async countFiles(jobIds: number | readonly number[]): Promise<number> {
    const ids = typeof jobIds === 'number' ? [jobIds] : jobIds;
    const row = await this.driver.get(this.qb.select({ from: 'files', columns: [{ fn: 'count', as: 'n' }], where: inList('job_id', ids) }));
    return toNum(row?.n ?? 0);
  }

  // --- job media ---

  /** A job's ranges on the volumes; `copy` 1 for a mirrored copy's (0, the primary, by default). */
  async insertJobMedia(jobId: number, ranges: readonly JobMediaRange[], copy = 0): Promise<void> {
    if (ranges.length === 0) return;
    const cols = ['job_id', 'volume', 'session_id', 'first_index', 'last_index', 'start_file', 'start_block', 'end_file', 'end_block', 'copy'];
    const rows = ranges.map((r) => [jobId, r.volume, r.sessionId, r.firstIndex, r.lastIndex, r.startFile, r.startBlock, r.endFile, r.endBlock, copy]);
    await this.driver.insertMany('job_media', cols, rows);
  }

  /** The ranges of one copy of a job (0, the primary, by default). */
  async jobMedia(jobId: number, copy = 0): Promise<JobMediaRange[]> {
    const rows = await this.driver.all(this.qb.select({ from: 'job_media', where: and(eq('job_id', jobId), eq('copy', copy)), orderBy: ['id'] }));
    return rows.map((r) => ({
      volume: String(r.volume), sessionId: toNum(r.session_id), firstIndex: toNum(r.first_index), lastIndex: toNum(r.last_index),
      startFile: toNum(r.start_file), startBlock: toNum(r.start_block), endFile: toNum(r.end_file), endBlock: toNum(r.end_block),
    }));
  }

  // --- job log ---

  async addJobLog(jobId: number, e: NewJobLogEntry): Promise<void> {
    await this.driver.run(
      this.qb.insert({
        into: 'job_log',
        values: { job_id: jobId, time: (e.time ?? new Date()).getTime(), level: e.level, code: e.code ?? null, path: e.path ?? null, text: e.text },
      }),
    );
  }

  async jobLog(jobId: number): Promise<JobLogEntry[]> {
    const rows = await this.driver.all(this.qb.select({ from: 'job_log', where: eq('job_id', jobId), orderBy: ['id'] }));
    return rows.map((r) => ({
      id: toNum(r.id), jobId, time: new Date(toNum(r.time)), level: String(r.level) as JobLogEntry['level'],
      code: r.code == null ? null : String(r.code), path: toBytes(r.path), text: String(r.text),
    }));
  }

  // --- agent state ---

  saveAgentState(jobId: number, agent: string, state: AgentState): Promise<void> {
    return this.driver.transaction((tx) => this.saveAgentStateIn(tx, jobId, agent, state));
  }

  private async saveAgentStateIn(tx: CatalogSession, jobId: number, agent: string, state: AgentState): Promise<void> {
    await tx.run(
      this.qb.insert({
        into: 'agent_state',
        values: { job_id: jobId, agent, state: JSON.stringify(state) },
        onConflict: { target: ['job_id', 'agent'], update: { state: { excluded: 'state' } } },
      }),
    );
  }

  /** The state saved for `agent` by job `jobId`, or null when none was saved. */
  async agentState(jobId: number, agent: string): Promise<AgentState> {
    const row = await this.driver.get(this.qb.select({ from: 'agent_state', columns: ['state'], where: and(eq('job_id', jobId), eq('agent', agent)) }));
    return row === undefined ? null : jsonOrNull<AgentState>(row.state);
  }

  // --- client-side encryption (schema v3, docs/encryption.md §Catalog) ---

  /** Stores an encrypted job's header (as in its start label) and signed manifest. */
  async saveJobCrypto(c: { jobId: number; header: { cipher: string; signer: { fingerprint: string }; wraps: Array<{ fingerprint: string }> }; manifest?: Uint8Array | null }): Promise<void> {
    const h = c.header;
    await this.driver.run(
      this.qb.insert({
        into: 'job_crypto',
        values: { job_id: c.jobId, cipher: h.cipher, signer: h.signer.fingerprint, recipients: h.wraps.map((w) => w.fingerprint).join(','), header: JSON.stringify(h), manifest: c.manifest ?? null },
        onConflict: { target: ['job_id'], update: { header: { excluded: 'header' }, manifest: { excluded: 'manifest' } } },
      }),
    );
  }

  /** The job's encryption record, or null for a job that is not encrypted. */
  async jobCrypto(jobId: number): Promise<CatalogJobCrypto | null> {
    const r = await this.driver.get(this.qb.select({ from: 'job_crypto', where: eq('job_id', jobId) }));
    if (!r) return null;
    return {
      jobId,
      cipher: String(r.cipher),
      signer: String(r.signer),
      recipients: String(r.recipients).split(',').filter(Boolean),
      header: JSON.parse(String(r.header)) as Record<string, unknown>,
      manifest: toBytes(r.manifest),
    };
  }

  async encryptedJobIds(): Promise<number[]> {
    const rows = await this.driver.all(this.qb.select({ from: 'job_crypto', columns: ['job_id'], orderBy: ['job_id'] }));
    return rows.map((r) => toNum(r.job_id));
  }

  /** Stores wraps made after their jobs ran (rotation, a master key added later). */
  async addKeyWraps(wraps: ReadonlyArray<{ jobId: number; wrap: { fingerprint: string } }>): Promise<void> {
    if (!wraps.length) return;
    const now = Date.now();
    await this.driver.insertMany('job_key_wraps', ['job_id', 'fingerprint', 'wrap', 'created_at'], wraps.map((w) => [w.jobId, w.wrap.fingerprint, JSON.stringify(w.wrap), now]));
  }

  /** Later wraps of one job, or of every job. */
  async keyWraps(jobId?: number): Promise<CatalogKeyWrap[]> {
    const rows = await this.driver.all(this.qb.select({ from: 'job_key_wraps', ...(jobId === undefined ? {} : { where: eq('job_id', jobId) }), orderBy: ['id'] }));
    return rows.map((r) => ({ jobId: toNum(r.job_id), fingerprint: String(r.fingerprint), wrap: JSON.parse(String(r.wrap)) as CatalogKeyWrap['wrap'], createdAt: new Date(toNum(r.created_at)) }));
  }
}

/** An encrypted job as the catalog keeps it (docs/encryption.md §Catalog). */
export interface CatalogJobCrypto {
  jobId: number;
  cipher: string;
  signer: string;
  recipients: string[];
  /** The encryption header (JSON object, as in the start label). */
  header: Record<string, unknown>;
  manifest: Buffer | null;
}

/** A data-key wrap made after its job ran. */
export interface CatalogKeyWrap {
  jobId: number;
  fingerprint: string;
  wrap: Record<string, unknown> & { fingerprint: string };
  createdAt: Date;
}

function noJob(jobId: number): CairnError {
  return new CairnError('CAIRN_E_CATALOG_NO_JOB', `no job ${jobId} in the catalog`, { jobId });
}

