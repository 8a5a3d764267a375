/**
 * A FileAssembler that runs in its own thread (file-assembler-worker.ts),
 * for a SQLite catalog: the main thread only forwards the SD's catalog
 * records (small attribute, digest, pack-index and agent-state payloads).
 * Same surface as FileAssembler; `finish()` resolves once every row is
 * committed, with the counts and agent states the worker collected.
 */
import { Worker } from 'node:worker_threads';
import { CairnError, StreamType, type AgentState } from '../../plugin-api/index.js';
import type { DataRecord, RecordLocation } from '../../sd/index.js';

export interface ThreadRecord {
  fileIndex: number;
  streamType: number;
  streamNo: number;
  payload: Uint8Array;
  volume: string;
}

export type AssemblerMessage = { type: 'records'; records: ThreadRecord[] } | { type: 'finish' };
export type AssemblerReply =
  | { type: 'done'; files: number; agentStates: Record<string, AgentState>; volumes: string[] }
  | { type: 'done'; error: { code: string; message: string } };

/** The record types the assembler reads (AGENT records are not). */
const WANTED: ReadonlySet<number> = new Set([StreamType.ATTRIBUTES, StreamType.DIGEST_SHA256, StreamType.DIGEST_SEALED, StreamType.AGENT_STATE, StreamType.PACK_INDEX]);

export class FileAssemblerThread {
  readonly agentStates: Record<string, AgentState> = {};
  readonly volumes = new Set<string>();
  files = 0;
  private readonly worker: Worker;
  private readonly done: Promise<AssemblerReply>;
  private finished = false;

  constructor(catalogFile: string, jobId: number) {
    this.worker = new Worker(new URL('./file-assembler-worker.js', import.meta.url), { workerData: { file: catalogFile, jobId } });
    this.done = new Promise<AssemblerReply>((resolve) => {
      this.worker.once('message', resolve);
      this.worker.once('error', (err) => resolve({ type: 'done', error: { code: 'CAIRN_E_CATALOG_QUERY', message: `the file-row thread failed: ${err.message}` } }));
      this.worker.once('exit', (code) => resolve({ type: 'done', error: { code: 'CAIRN_E_CATALOG_QUERY', message: `the file-row thread exited (code ${code}) before it finished` } }));
    });
  }

  add(records: Array<{ record: DataRecord; location: RecordLocation }>): void {
    const out: ThreadRecord[] = [];
    for (const { record, location } of records) {
      this.volumes.add(location.volume);
      if (WANTED.has(record.streamType)) out.push({ fileIndex: record.fileIndex, streamType: record.streamType, streamNo: record.streamNo, payload: record.payload, volume: location.volume });
    }
    if (out.length) this.worker.postMessage({ type: 'records', records: out } satisfies AssemblerMessage);
  }

  /** Inserts what is left; rejects if any row could not be stored. */
  async finish(): Promise<void> {
    this.finished = true;
    this.worker.postMessage({ type: 'finish' } satisfies AssemblerMessage);
    const reply = await this.done;
    await this.worker.terminate();
    if ('error' in reply) throw new CairnError(reply.error.code, reply.error.message, {});
    this.files = reply.files;
    Object.assign(this.agentStates, reply.agentStates);
    for (const v of reply.volumes) this.volumes.add(v);
  }

  /** Stops the thread of a job that ends without finish() (its rows are not wanted). */
  async close(): Promise<void> {
    if (!this.finished) await this.worker.terminate();
  }
}
