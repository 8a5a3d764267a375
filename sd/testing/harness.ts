/**
 * Test harness for sd/: a StorageDaemon on a temp directory with an
 * in-memory catalog, and helpers to connect clients over duplexPair().
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DataRecord, ReadItem, SessionJobInfo } from '../api.js';
import { SdDirectorClient } from '../protocol/director-client.js';
import { SdSessionClient } from '../protocol/session-client.js';
import { StorageDaemon, type StorageDaemonOptions } from '../protocol/storage-daemon.js';
import { duplexPair } from '../wire/duplex-pair.js';
import { MemoryCatalog } from './memory-catalog.js';

export interface Harness {
  dir: string;
  catalog: MemoryCatalog;
  sd: StorageDaemon;
  director(): SdDirectorClient;
  session(): SdSessionClient;
  cleanup(): Promise<void>;
}

export function startSd(opts: Partial<StorageDaemonOptions> = {}, dir?: string, catalog?: MemoryCatalog): Harness {
  const d = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-sd-'));
  const cat = catalog ?? new MemoryCatalog();
  const sd = new StorageDaemon({ device: d, catalog: cat, ...opts });
  const connect = (): import('node:stream').Duplex => {
    const [a, b] = duplexPair();
    void sd.handleConnection(b);
    return a;
  };
  return {
    dir: d,
    catalog: cat,
    sd,
    director: () => new SdDirectorClient(connect()),
    session: () => new SdSessionClient(connect()),
    cleanup: async () => {
      await sd.close();
      if (!dir) fs.rmSync(d, { recursive: true, force: true });
    },
  };
}

export function job(jobId: number, pool = 'Default'): SessionJobInfo {
  return { jobId, jobName: `job${jobId}`, client: 'client1', level: 'full', pool, fileset: 'fs1', startedAt: 1_700_000_000_000, extra: { note: 'test' } };
}

/** Deterministic pseudo-random numbers (xorshift32). */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

export function makeRecords(seed: number, count: number, maxSize: number): DataRecord[] {
  const rnd = prng(seed);
  const out: DataRecord[] = [];
  for (let i = 0; i < count; i++) {
    const size = i % 7 === 0 ? 0 : Math.floor(rnd() * maxSize);
    const payload = randomBytes(size);
    out.push({ fileIndex: 1 + Math.floor(i / 3), streamType: i % 3 === 0 ? 1 : 2, streamNo: 0, payload });
  }
  return out;
}

export async function collect(items: AsyncIterable<ReadItem>): Promise<ReadItem[]> {
  const out: ReadItem[] = [];
  for await (const it of items) out.push(it);
  return out;
}
