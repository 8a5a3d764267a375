/**
 * Test helpers for tape sessions: a StorageDaemon on a vtape changer folder
 * with an in-memory catalog, a changer that records its moves, a backup of
 * deterministic "files" (an ATTRIBUTES record and DATA records each) through
 * the real session protocol, reading a bootstrap back, and listing what each
 * vtape holds block by block (read with a fresh device after the SD closed).
 */
import { randomBytes } from 'node:crypto';
import type { Bootstrap, DataRecord, SessionCloseReport } from '../api.js';
import type { Changer } from '../device/changer.js';
import { createDevice } from '../device/registry.js';
import type { SequentialDevice } from '../device/sequential-device.js';
import { VtapeChanger } from '../device/vtape-changer.js';
import { StorageDaemon, type SdDeviceOptions } from '../protocol/storage-daemon.js';
import { checkBlock } from '../volume/block.js';
import { job, startSd, type Harness } from './harness.js';
import { MemoryCatalog } from './memory-catalog.js';

export interface TapeSd extends Harness {
  /** Slots the changer loaded, in order. */
  loads: number[];
  device: SequentialDevice;
}

export async function startTapeSd(dir: string, o: { slots: number; capacity: number; earlyWarning?: number; blockSize: number; filemarkBytes: number; spool?: SdDeviceOptions['spool'] }): Promise<TapeSd> {
  await new VtapeChanger({ path: dir, slots: o.slots }).populate({ capacity: o.capacity, earlyWarning: o.earlyWarning });
  const loads: number[] = [];
  const record = (c: Changer): Changer => ({
    kind: c.kind,
    device: c.device,
    status: () => c.status(),
    load: async (slot, drive) => {
      loads.push(slot);
      await c.load(slot, drive);
    },
    unload: (slot, drive) => c.unload(slot, drive),
  });
  const catalog = new MemoryCatalog();
  const devices: SdDeviceOptions[] = [{ name: 'lto', device: { type: 'vtape', path: dir, slots: o.slots, wrapChanger: record, openRetryMs: 10, mediaPollMs: 50, maxMediaWaitMs: 2000 }, blockSize: o.blockSize, filemarkBytes: o.filemarkBytes, spool: o.spool }];
  const h = startSd({ devices }, dir, catalog);
  return { ...h, loads, device: (h.sd as unknown as { devices: Array<{ device: SequentialDevice }> }).devices[0].device };
}

/** `count` files: file i has an ATTRIBUTES record (its name) and DATA records of `size` random bytes in `chunk`-byte pieces. */
export function makeFiles(count: number, size: number, chunk = 60_000): Map<number, DataRecord[]> {
  const files = new Map<number, DataRecord[]>();
  for (let i = 1; i <= count; i++) {
    const recs: DataRecord[] = [{ fileIndex: i, streamType: 1, streamNo: 0, payload: Buffer.from(`file-${i}`) }];
    for (let off = 0; off < size; off += chunk) recs.push({ fileIndex: i, streamType: 2, streamNo: 0, payload: randomBytes(Math.min(chunk, size - off)) });
    files.set(i, recs);
  }
  return files;
}

/** Backs the files up as job `jobId` through the session protocol; `pause` is awaited between files (a slow client). */
export async function backup(h: Harness, jobId: number, files: Map<number, DataRecord[]>, pause?: () => Promise<void>): Promise<SessionCloseReport> {
  const grant = await h.director().openAppendSession(job(jobId));
  const s = h.session();
  await s.appendOpen(grant.ticket);
  for (const recs of files.values()) {
    for (const r of recs) await s.writeRecord(r);
    if (pause) {
      await s.flush();
      await pause();
    }
  }
  return s.appendClose();
}

/** Reads a bootstrap back: the records, by file index, in order. */
export async function restore(h: Harness, bootstrap: Bootstrap): Promise<Map<number, Buffer[]>> {
  const grant = await h.director().openReadSession(bootstrap);
  const s = h.session();
  await s.readOpen(grant.ticket);
  const out = new Map<number, Buffer[]>();
  for await (const it of s.readData()) {
    if (it.kind === 'bad-block') throw new Error(`bad block ${JSON.stringify(it)}`);
    if (it.kind !== 'record') continue;
    const list = out.get(it.record.fileIndex) ?? [];
    list.push(Buffer.from(it.record.payload));
    out.set(it.record.fileIndex, list);
    it.release?.();
  }
  await s.readClose();
  return out;
}

export function bootstrapOf(report: SessionCloseReport, only?: (r: SessionCloseReport['ranges'][number]) => boolean, fileIndexes?: Array<[number, number]>): Bootstrap {
  return { entries: report.ranges.filter((r) => !only || only(r)).map((r) => ({ volume: r.volume, sessionId: r.sessionId, startFile: r.startFile, startBlock: r.startBlock, endFile: r.endFile, endBlock: r.endBlock, ...(fileIndexes ? { fileIndexes } : {}) })) };
}

export interface TapeBlock {
  file: number;
  block: number;
  kind: number;
  sessionId: number;
  seq: number;
}

/** Every block of every labelled vtape in the changer folder, read with a fresh device (the SD must be closed). */
export async function tapeContents(dir: string, slots: number, blockSize: number): Promise<Map<string, TapeBlock[]>> {
  const dev = createDevice({ type: 'vtape', path: dir, slots, blockSize, openRetryMs: 10 }) as SequentialDevice;
  const out = new Map<string, TapeBlock[]>();
  try {
    for (const s of await dev.scan()) {
      if (!s.volume) continue;
      const v = await dev.open(s.volume, 'read');
      const blocks: TapeBlock[] = [];
      await v.seek(1, 1).catch(() => undefined);
      const buf = Buffer.alloc(blockSize);
      for (;;) {
        const r = await v.readBlock(buf).catch(() => null);
        if (!r) break;
        const c = checkBlock(buf.subarray(0, r.length), blockSize);
        if (!c.ok) throw new Error(`bad block on ${s.volume}: ${c.reason}`);
        blocks.push({ file: r.file, block: c.header.blockNumber, kind: c.header.kind, sessionId: c.header.sessionId, seq: c.header.sessionSeq });
      }
      await v.close();
      out.set(s.volume, blocks);
    }
  } finally {
    await dev.close?.();
  }
  return out;
}

export { StorageDaemon, MemoryCatalog };
