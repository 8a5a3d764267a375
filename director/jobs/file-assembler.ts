/**
 * Turns the SD's catalog-records notifications (attributes, digests, stream
 * ends, agent states, in session order) into catalog file rows, inserted in
 * batched transactions. A file's row is complete when the next file's
 * attributes (or the end) arrive — except a small file whose digest comes in
 * a later pack index (core/pack.ts): its row is held until that pack's index
 * or the next other digest, so memory holds one pack's files plus one batch.
 */
import { Buffer } from 'node:buffer';
import { StreamType, type AgentState } from '../../plugin-api/index.js';
import { decodeAttributes, decodePackIndex, packableStream } from '../../core/index.js';
import type { DataRecord, RecordLocation } from '../../sd/index.js';
import type { Catalog, CatalogFileRow } from '../catalog/index.js';

/** Rows per insert transaction: large enough to amortise the commit, small enough to keep memory flat. */
export const CATALOG_BATCH_ROWS = 2000;

export class FileAssembler {
  private current: CatalogFileRow | null = null;
  /** Rows of small files waiting for their pack's index (their digest), in file order. */
  private held: CatalogFileRow[] = [];
  private batch: CatalogFileRow[] = [];
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  readonly agentStates: Record<string, AgentState> = {};
  files = 0;
  readonly volumes = new Set<string>();

  constructor(private readonly catalog: Pick<Catalog, 'insertFiles'>, private readonly jobId: number) {}

  add(records: Array<{ record: DataRecord; location: RecordLocation }>): void {
    for (const { record, location } of records) {
      this.volumes.add(location.volume);
      switch (record.streamType) {
        case StreamType.ATTRIBUTES: {
          this.complete();
          const { entry, agent } = decodeAttributes(record.payload);
          this.currentPackable = packableStream(entry) !== null;
          this.current = {
            fileIndex: record.fileIndex,
            path: entry.path,
            agent,
            kind: entry.kind,
            stat: entry.stat,
            linkTarget: entry.linkTarget ?? null,
            hardlinkTarget: entry.hardlinkTarget ?? null,
            meta: entry.meta ?? null,
            digest: null,
          };
          break;
        }
        case StreamType.DIGEST_SHA256:
        case StreamType.DIGEST_SEALED: // an encrypted job's: the same first 40 bytes (docs/encryption.md §4.3)
          // Packs precede other data: a small file still held for its pack has none.
          this.release(record.fileIndex - 1);
          if (this.current && this.current.fileIndex === record.fileIndex && record.streamNo === 0) this.current.digest = Buffer.from(record.payload.subarray(0, 32));
          break;
        case StreamType.PACK_INDEX: {
          const last = record.fileIndex + record.streamNo;
          if (this.current && this.current.fileIndex <= last) this.complete();
          const digests = new Map<number, Buffer>();
          try {
            for (const m of decodePackIndex(record.payload, record.fileIndex, last)) if (m.streamNo === 0) digests.set(m.fileIndex, Buffer.from(m.digest));
          } catch {
            // An unreadable index leaves its files without a digest in the catalog; verify and restore report them.
          }
          for (const row of this.held) if (row.fileIndex <= last) row.digest = digests.get(row.fileIndex) ?? row.digest;
          this.release(last);
          break;
        }
        case StreamType.AGENT_STATE: {
          const { key, state } = JSON.parse(Buffer.from(record.payload).toString('utf8')) as { key: string; state: AgentState };
          this.agentStates[key] = state;
          break;
        }
        default:
          break;
      }
    }
  }

  private currentPackable = false;

  /** No row waits for a later record (a pack's index): what comes from the next attributes on is independent of what came before. */
  get settled(): boolean {
    return this.held.length === 0 && !(this.current && this.currentPackable && this.current.digest === null);
  }

  private complete(): void {
    const row = this.current;
    if (!row) return;
    this.current = null;
    if (this.currentPackable && row.digest === null) this.held.push(row);
    else this.store(row);
  }

  /** Stores the held rows up to file index `last`. */
  private release(last: number): void {
    let n = 0;
    while (n < this.held.length && this.held[n].fileIndex <= last) this.store(this.held[n++]);
    if (n) this.held.splice(0, n);
  }

  private store(row: CatalogFileRow): void {
    this.batch.push(row);
    this.files++;
    if (this.batch.length >= CATALOG_BATCH_ROWS) this.flushBatch();
  }

  private flushBatch(): void {
    const rows = this.batch;
    this.batch = [];
    if (!rows.length) return;
    this.chain = this.chain.then(() => this.catalog.insertFiles(this.jobId, rows)).catch((err) => {
      this.failure ??= err;
    });
  }

  /** Inserts what is left; rejects if any batch failed. */
  async finish(): Promise<void> {
    this.complete();
    this.release(Infinity);
    this.flushBatch();
    await this.chain;
    if (this.failure) throw this.failure;
  }
}
