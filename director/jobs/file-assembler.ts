/**
 * Turns the SD's catalog-records notifications (attributes, digests, stream
 * ends, agent states, in session order) into catalog file rows, inserted in
 * batched transactions. A file's row is complete when the next file's
 * attributes (or the end) arrive, so memory holds one file plus one batch.
 */
import { Buffer } from 'node:buffer';
import { StreamType, type AgentState } from '../../plugin-api/index.js';
import { decodeAttributes } from '../../core/index.js';
import type { DataRecord, RecordLocation } from '../../sd/index.js';
import type { Catalog, CatalogFileRow } from '../catalog/index.js';

/** Rows per insert transaction: large enough to amortise the commit, small enough to keep memory flat. */
export const CATALOG_BATCH_ROWS = 2000;

export class FileAssembler {
  private current: CatalogFileRow | null = null;
  private batch: CatalogFileRow[] = [];
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  readonly agentStates: Record<string, AgentState> = {};
  files = 0;
  readonly volumes = new Set<string>();

  constructor(private readonly catalog: Catalog, private readonly jobId: number) {}

  add(records: Array<{ record: DataRecord; location: RecordLocation }>): void {
    for (const { record, location } of records) {
      this.volumes.add(location.volume);
      switch (record.streamType) {
        case StreamType.ATTRIBUTES: {
          this.complete();
          const { entry, agent } = decodeAttributes(record.payload);
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
          if (this.current && this.current.fileIndex === record.fileIndex && record.streamNo === 0) this.current.digest = Buffer.from(record.payload.subarray(0, 32));
          break;
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

  private complete(): void {
    if (!this.current) return;
    this.batch.push(this.current);
    this.files++;
    this.current = null;
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
    this.flushBatch();
    await this.chain;
    if (this.failure) throw this.failure;
  }
}
