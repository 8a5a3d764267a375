/**
 * The backup job's FileAssembler in a thread of its own (local mode with a
 * SQLite catalog): decoding every file's attributes and inserting its row
 * costs ≈ 5 µs per file of a thread that, in local mode, also drives the FD
 * and the SD. It opens its own connection to the catalog file (already
 * migrated by the process) and inserts on it. Only file-assembler-thread.ts
 * talks to it; messages are described there.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Buffer } from 'node:buffer';
import { Catalog, SqliteDriver } from '../catalog/index.js';
import { FileAssembler } from './file-assembler.js';
import type { AssemblerMessage, AssemblerReply, ThreadRecord } from './file-assembler-thread.js';

const { file, jobId, busyTimeoutMs } = workerData as { file: string; jobId: number; busyTimeoutMs?: number };
const catalog = Catalog.attach(SqliteDriver.open(file, { busyTimeoutMs }));
const assembler = new FileAssembler(catalog, jobId);
let failure: unknown = null;

function add(records: ThreadRecord[]): void {
  if (failure) return;
  try {
    assembler.add(records.map((r) => ({
      record: { fileIndex: r.fileIndex, streamType: r.streamType, streamNo: r.streamNo, payload: Buffer.from(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength) },
      location: { volume: r.volume, file: 0, block: 0 },
    })));
  } catch (err) {
    failure = err;
  }
}

async function finish(): Promise<AssemblerReply> {
  try {
    if (failure) throw failure;
    await assembler.finish();
    return { type: 'done', files: assembler.files, agentStates: assembler.agentStates, volumes: [...assembler.volumes] };
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown };
    return { type: 'done', error: { code: typeof e.code === 'string' ? e.code : 'CAIRN_E_CATALOG_QUERY', message: String(e.message ?? err) } };
  } finally {
    await catalog.close();
  }
}

parentPort!.on('message', (m: AssemblerMessage) => {
  if (m.type === 'records') add(m.records);
  else void finish().then((reply) => parentPort!.postMessage(reply));
});
