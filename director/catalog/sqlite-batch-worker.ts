/**
 * The SQLite batch thread: runs batch inserts (file rows, 2,000 per
 * transaction) on its own connection to the catalog file, so a backup's
 * catalog writes do not take the main thread that also drives the FD and SD
 * in local mode (≈ 10 µs per row of SQLite work). Messages: `{ id, text,
 * paramSets }` in, `{ id, changes }` or `{ id, error: { message, code } }`
 * out. Only sqlite-driver.ts talks to it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

export interface BatchRequest {
  id: number;
  text: string;
  paramSets: unknown[][];
}

export type BatchReply = { id: number; changes: number } | { id: number; error: { message: string; code: string } };

const { file, busyTimeoutMs } = workerData as { file: string; busyTimeoutMs: number };
const db = new Database(file, { timeout: busyTimeoutMs, fileMustExist: true });
db.defaultSafeIntegers(true);
db.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
db.pragma('synchronous = NORMAL');
db.pragma('cache_size = -65536');
const statements = new Map<string, Database.Statement>();

function bind(v: unknown): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Uint8Array && !Buffer.isBuffer(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return v;
}

function run(req: BatchRequest): BatchReply {
  try {
    let s = statements.get(req.text);
    if (!s) statements.set(req.text, (s = db.prepare(req.text)));
    const stmt = s;
    let changes = 0;
    db.exec('BEGIN IMMEDIATE');
    try {
      for (const p of req.paramSets) changes += stmt.run(...p.map(bind)).changes;
      db.exec('COMMIT');
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw err;
    }
    return { id: req.id, changes };
  } catch (err) {
    return { id: req.id, error: { message: (err as Error).message, code: String((err as { code?: unknown }).code ?? 'unknown') } };
  }
}

parentPort!.on('message', (req: BatchRequest | 'close') => {
  if (req === 'close') {
    db.close();
    parentPort!.close();
    return;
  }
  parentPort!.postMessage(run(req));
});
