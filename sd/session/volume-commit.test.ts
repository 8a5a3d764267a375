/**
 * The committed end (docs/volume-format.md §7): what a successful sync()
 * returns is in the catalog, whatever failed before; and no interleaving of
 * an aborting session with a session that closes OK on the same volume, with
 * an SD restart and a mount after it, loses or hides the closed session's
 * blocks.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { DataRecord, ReadItem, SessionCloseReport, VolumeInfo } from '../api.js';
import { FileDevice } from '../device/file-device.js';
import { BlockKind, sealBlock } from '../volume/block.js';
import { labelBlock, volumeLabelObject } from '../volume/labels.js';
import { readVolume } from '../volume/read-volume.js';
import { job, makeRecords, startSd, type Harness } from '../testing/harness.js';
import { MemoryCatalog } from '../testing/memory-catalog.js';
import { silentLogger } from './logger.js';
import { VolumeAppender } from './volume-appender.js';
import { mountForAppend } from './volume-mount.js';

const BS = 16 * 1024;

function tmp(t: TestContext): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-sd-commit-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A catalog whose next `failures` committed-end updates fail (the Director connection dropped mid-request). */
class FlakyCatalog extends MemoryCatalog {
  failures = 0;
  override async updateVolume(name: string, change: Partial<Pick<VolumeInfo, 'status' | 'committedBytes' | 'committedBlocks' | 'jobs'>>): Promise<void> {
    if (change.committedBytes !== undefined && this.failures > 0) {
      this.failures--;
      throw new Error('catalog request failed: the Director connection closed');
    }
    return super.updateVolume(name, change);
  }
}

function dataBlock(no: number): Buffer {
  const b = Buffer.alloc(BS);
  sealBlock(b, { kind: BlockKind.DATA, blockNumber: no, sessionId: 7, sessionSeq: no, payloadLength: 0, firstRecordOffset: 0xffffffff });
  return b;
}

test('a sync after a failed catalog update records the committed end (the failure is not taken as done)', async (t) => {
  const dir = tmp(t);
  const device = new FileDevice({ type: 'file', dir });
  const catalog = new FlakyCatalog();
  const handle = await device.create('V-0001');
  await handle.writev([labelBlock(BS, BlockKind.VOLUME_LABEL, volumeLabelObject({ volumeName: 'V-0001', pool: 'P', mediaType: 'File', labelTime: 1, blockSize: BS }), { blockNumber: 0, sessionId: 0, sessionSeq: 0 })], 0);
  await handle.sync();
  await catalog.createVolume({ name: 'V-0001', pool: 'P', mediaType: 'File' });
  await catalog.updateVolume('V-0001', { committedBytes: BS, committedBlocks: 1 });
  const app = new VolumeAppender(handle, BS, 1000, 1, 0, catalog);

  // Two sessions' blocks are written; the sync of the first session's close fails at the catalog.
  for (let i = 0; i < 4; i++) {
    const no = app.reserve()!;
    await app.write(no, dataBlock(no));
  }
  catalog.failures = 1;
  await assert.rejects(app.sync(), /Director connection closed/);
  assert.equal((await catalog.getVolume('V-0001'))!.committedBytes, BS, 'the catalog still has the old end');

  // The second session closes with nothing new written: its sync must still put the end in the catalog.
  const committed = await app.sync();
  assert.equal(committed, 5);
  assert.equal((await catalog.getVolume('V-0001'))!.committedBytes, 5 * BS, 'what sync() reports committed is what the catalog holds');
  await handle.close();

  // So a later mount (an SD restart) trims nothing of it.
  const m = await mountForAppend(device, (await catalog.getVolume('V-0001'))!, silentLogger);
  assert.equal(m.trimmedBytes, 0);
  assert.equal(m.blocks, 5);
  await m.handle.close();
});

interface OpenSession {
  write(records: DataRecord[]): Promise<void>;
  close(): Promise<SessionCloseReport>;
  /** The FD is killed: its connection drops and the SD aborts the session (an end label, not synced); resolves on session-aborted. */
  drop(): Promise<void>;
}

async function openSession(h: Harness, jobId: number): Promise<OpenSession> {
  const dir = h.director();
  const aborted = new Promise<void>((resolve) => dir.onNotification((n) => (n.type === 'session-aborted' ? resolve() : undefined)));
  const { ticket } = await dir.openAppendSession(job(jobId));
  const s = h.session();
  await s.appendOpen(ticket);
  return {
    write: async (records) => {
      for (const r of records) await s.writeRecord(r);
      await s.flush();
    },
    close: async () => {
      const report = await s.appendClose();
      await s.close();
      await dir.close();
      return report;
    },
    drop: async () => {
      (s as unknown as { stream: import('node:stream').Duplex }).stream.destroy();
      await aborted;
    },
  };
}

async function recordsOfSession(file: string, report: SessionCloseReport): Promise<DataRecord[]> {
  const r = report.ranges[0];
  const out: DataRecord[] = [];
  for await (const it of readVolume(file, { startBlock: r.startBlock, endBlock: r.endBlock, sessionId: r.sessionId })) {
    assert.notEqual(it.kind, 'bad-block');
    if (it.kind === 'record') out.push((it as Extract<ReadItem, { kind: 'record' }>).record);
  }
  return out;
}

for (const when of ['before', 'during', 'after'] as const) {
  test(`a session aborted ${when} another session's data and close on the same volume: the closed session survives a restart and a mount`, async (t) => {
    const dir = tmp(t);
    const catalog = new MemoryCatalog();
    const first = startSd({ blockSize: BS }, dir, catalog);
    const aborted = await openSession(first, 1);
    await aborted.write(makeRecords(1, 40, BS));
    const kept = await openSession(first, 2);
    const keptRecords = makeRecords(2, 60, 2 * BS);
    if (when === 'before') await aborted.drop();
    await kept.write(keptRecords.slice(0, 30));
    if (when === 'during') await aborted.drop();
    await kept.write(keptRecords.slice(30));
    const report = await kept.close();
    if (when === 'after') await aborted.drop();
    const vol = report.ranges[0].volume;
    const file = path.join(dir, vol);
    assert.ok((await catalog.getVolume(vol))!.committedBytes >= (report.ranges[0].endBlock + 1) * BS, 'the committed end covers the closed session');

    // The SD is killed (nothing closed or synced); a new one mounts the volume, trims past the committed end, appends.
    const second = startSd({ blockSize: BS }, dir, catalog);
    t.after(() => second.cleanup());
    const third = await openSession(second, 3);
    await third.write(makeRecords(3, 10, BS));
    const r3 = await third.close();
    assert.equal(r3.ranges[0].volume, vol, 'the third job appended to the same volume');
    assert.ok(r3.ranges[0].startBlock > report.ranges[0].endBlock, 'after the closed session, not over it');

    const got = await recordsOfSession(file, report);
    assert.equal(got.length, keptRecords.length, 'every record of the closed session is on the volume');
    for (let i = 0; i < keptRecords.length; i++) {
      assert.equal(got[i].fileIndex, keptRecords[i].fileIndex);
      assert.ok(Buffer.from(got[i].payload).equals(Buffer.from(keptRecords[i].payload)), `record ${i}`);
    }
  });
}

/** A catalog whose committed-end updates wait while `gate` is set (a slow Director): `entered` resolves when one waits. */
class GatedCatalog extends MemoryCatalog {
  gate: Promise<void> | null = null;
  private onEnter: (() => void) | null = null;
  entered = new Promise<void>((r) => (this.onEnter = r));
  override async updateVolume(name: string, change: Partial<Pick<VolumeInfo, 'status' | 'committedBytes' | 'committedBlocks' | 'jobs'>>): Promise<void> {
    if (change.committedBytes !== undefined && this.gate) {
      this.onEnter?.();
      await this.gate;
    }
    return super.updateVolume(name, change);
  }
}

test('a session cancelled while its close is under way is closed once: one end label, no abort after the close, the volume stays with the other session', async (t) => {
  const dir = tmp(t);
  const catalog = new GatedCatalog();
  let abortSeen: () => void = () => undefined;
  const abortLogged = new Promise<void>((r) => (abortSeen = r));
  // The SD has the cancel in hand (before the fix it aborted at once; after it, it waits for the close).
  const seen = (_o: object, msg?: string): void => (msg?.startsWith('abort asked while the session closes') || msg === 'append session aborted' ? abortSeen() : undefined);
  const logger = { ...silentLogger, warn: seen, info: seen };
  const h = startSd({ blockSize: BS, maxVolumeJobs: 2, logger }, dir, catalog);
  t.after(() => h.cleanup());
  // Two sessions on one volume (its job limit reached with them).
  const dirX = h.director();
  const notes: string[] = [];
  dirX.onNotification((n) => void notes.push(n.type));
  const x = await dirX.openAppendSession(job(1));
  const fdX = h.session();
  await fdX.appendOpen(x.ticket);
  for (const r of makeRecords(5, 20, BS)) await fdX.writeRecord(r);
  const y = await openSession(h, 2);
  const yRecords = makeRecords(6, 40, BS);
  await y.write(yRecords.slice(0, 20));

  // X's close waits at the catalog; meanwhile its Director cancels it (the job failed elsewhere).
  let open: () => void = () => undefined;
  catalog.gate = new Promise<void>((r) => (open = r));
  const closing = fdX.appendClose();
  await catalog.entered;
  const cancelling = dirX.cancel(x.ticket).catch((e: unknown) => e);
  await abortLogged;
  catalog.gate = null;
  open();
  const report = await closing;
  await cancelling;
  await fdX.close();
  assert.equal(report.records, 20);

  // A third job finds the volume at its job limit: the volume is retired, but Y still holds it and goes on.
  const z = await openSession(h, 3);
  await z.write(makeRecords(7, 5, BS));
  const rz = await z.close();
  await y.write(yRecords.slice(20));
  const ry = await y.close();
  assert.equal(ry.ranges[0].volume, report.ranges[0].volume);
  assert.notEqual(rz.ranges[0].volume, ry.ranges[0].volume);
  await dirX.close();

  assert.ok(notes.includes('session-closed'));
  assert.ok(!notes.slice(notes.indexOf('session-closed')).includes('session-aborted'), `no session-aborted after session-closed: ${notes.join(', ')}`);
  const ends = [];
  for await (const it of readVolume(path.join(dir, report.ranges[0].volume), { sessionId: report.sessionId })) if (it.kind === 'session-end') ends.push(it.label.status);
  assert.deepEqual(ends, ['ok'], 'one end label for the closed session');
  const got = await recordsOfSession(path.join(dir, ry.ranges[0].volume), ry);
  assert.equal(got.length, yRecords.length, 'the other session lost nothing');
});
