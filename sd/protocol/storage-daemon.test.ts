import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { isCairnError } from '../../plugin-api/index.js';
import type { Bootstrap, DataRecord, ReadItem, SdNotification, SessionCloseReport } from '../api.js';
import { collect, job, makeRecords, startSd, type Harness } from '../testing/harness.js';

const BS = 64 * 1024;

async function backup(h: Harness, jobId: number, records: DataRecord[], notes?: SdNotification[]): Promise<SessionCloseReport> {
  const dir = h.director();
  if (notes) dir.onNotification((n) => void notes.push(n));
  const { ticket } = await dir.openAppendSession(job(jobId));
  const s = h.session();
  await s.appendOpen(ticket);
  for (const r of records) await s.writeRecord(r);
  await s.appendEnd();
  const report = await s.appendClose();
  await s.close();
  return report;
}

function bootstrapOf(report: SessionCloseReport): Bootstrap {
  return { entries: report.ranges.map((r) => ({ volume: r.volume, sessionId: r.sessionId, startFile: r.startFile, startBlock: r.startBlock, endFile: r.endFile, endBlock: r.endBlock })) };
}

async function restore(h: Harness, bootstrap: Bootstrap): Promise<ReadItem[]> {
  const dir = h.director();
  const { ticket } = await dir.openReadSession(bootstrap);
  const s = h.session();
  await s.readOpen(ticket);
  const items = await collect(s.readData());
  await s.readClose();
  await s.close();
  await dir.close();
  return items;
}

function recordsOf(items: ReadItem[]): DataRecord[] {
  return items.filter((i) => i.kind === 'record').map((i) => (i as Extract<ReadItem, { kind: 'record' }>).record);
}

function assertSameRecords(got: DataRecord[], want: DataRecord[]): void {
  assert.equal(got.length, want.length, 'record count');
  for (let i = 0; i < want.length; i++) {
    assert.equal(got[i].fileIndex, want[i].fileIndex, `fileIndex of record ${i}`);
    assert.equal(got[i].streamType, want[i].streamType, `streamType of record ${i}`);
    assert.equal(got[i].streamNo, want[i].streamNo);
    assert.ok(Buffer.from(got[i].payload).equals(Buffer.from(want[i].payload)), `payload of record ${i} (${want[i].payload.length} bytes)`);
  }
}

test('round trip: records of random sizes (incl. larger than a block) come back byte-exact', async () => {
  const h = startSd({ blockSize: BS });
  try {
    const records = makeRecords(42, 300, 3 * BS);
    const notes: SdNotification[] = [];
    const report = await backup(h, 1, records, notes);
    assert.equal(report.records, records.length);
    assert.equal(report.bytes, records.reduce((n, r) => n + r.payload.length, 0));
    assert.equal(report.ranges.length, 1);
    assert.equal(report.lastFileIndex, records[records.length - 1].fileIndex);
    const items = await restore(h, bootstrapOf(report));
    assertSameRecords(recordsOf(items), records);
    const end = items[items.length - 1];
    assert.equal(end.kind, 'volume-end');
    // Durable and committed: the catalog's committed end covers the whole session.
    const vol = await h.catalog.getVolume(report.ranges[0].volume);
    assert.ok(vol && vol.committedBytes === fs.statSync(path.join(h.dir, vol.name)).size);
    assert.equal(vol?.committedBytes, (report.ranges[0].endBlock + 1) * BS);
    // Notifications: every catalog record (attributes here) before session-closed, and nothing after.
    const closedAt = notes.findIndex((n) => n.type === 'session-closed');
    assert.equal(closedAt, notes.length - 1);
    const cataloged = notes.flatMap((n) => (n.type === 'catalog-records' ? n.records : []));
    const attrs = records.filter((r) => r.streamType === 1);
    assert.equal(cataloged.length, attrs.length);
    for (let i = 0; i < attrs.length; i++) assert.ok(Buffer.from(cataloged[i].record.payload).equals(Buffer.from(attrs[i].payload)));
    // Each notified location is where a read finds the record.
    const byLoc = items.filter((i) => i.kind === 'record' && i.record.streamType === 1) as Array<Extract<ReadItem, { kind: 'record' }>>;
    assert.deepEqual(cataloged.map((c) => c.location), byLoc.map((i) => i.location));
  } finally {
    await h.cleanup();
  }
});

test('two concurrent sessions interleave on one volume and each reads back only its own records', async () => {
  const h = startSd({ blockSize: BS });
  try {
    const a = makeRecords(1, 120, BS);
    const b = makeRecords(2, 120, BS).map((r) => ({ ...r, streamNo: 1 }));
    const dir = h.director();
    const ta = await dir.openAppendSession(job(11));
    const tb = await dir.openAppendSession(job(12));
    const sa = h.session();
    const sb = h.session();
    await sa.appendOpen(ta.ticket);
    await sb.appendOpen(tb.ticket);
    // Alternate the two FDs so their blocks must interleave.
    for (let i = 0; i < a.length; i++) {
      await sa.writeRecord(a[i]);
      await sa.flush();
      await sb.writeRecord(b[i]);
      await sb.flush();
    }
    const [ra, rb] = await Promise.all([sa.appendClose(), sb.appendClose()]);
    await Promise.all([sa.close(), sb.close(), dir.close()]);
    assert.equal(ra.ranges[0].volume, rb.ranges[0].volume, 'same volume');
    assert.notEqual(ra.sessionId, rb.sessionId);
    // Interleaved: the block ranges overlap.
    assert.ok(ra.ranges[0].startBlock < rb.ranges[0].endBlock && rb.ranges[0].startBlock < ra.ranges[0].endBlock, 'ranges overlap');
    assertSameRecords(recordsOf(await restore(h, bootstrapOf(ra))), a);
    assertSameRecords(recordsOf(await restore(h, bootstrapOf(rb))), b);
  } finally {
    await h.cleanup();
  }
});

test('a flipped byte: the read yields bad-block naming volume and block, then resumes at the next good block', async () => {
  const h = startSd({ blockSize: BS });
  try {
    const records = makeRecords(7, 200, BS / 3);
    const report = await backup(h, 3, records);
    const r = report.ranges[0];
    const victim = r.startBlock + 3;
    const file = path.join(h.dir, r.volume);
    const fd = fs.openSync(file, 'r+');
    const one = Buffer.alloc(1);
    fs.readSync(fd, one, 0, 1, victim * BS + 1000);
    one[0] ^= 0xff;
    fs.writeSync(fd, one, 0, 1, victim * BS + 1000);
    fs.closeSync(fd);
    const items = await restore(h, bootstrapOf(report));
    const bad = items.filter((i) => i.kind === 'bad-block');
    assert.equal(bad.length, 1);
    assert.deepEqual({ ...bad[0], reason: undefined }, { kind: 'bad-block', volume: r.volume, file: 0, block: victim, reason: undefined, code: 'CAIRN_E_VOLUME_BAD_BLOCK' });
    const got = items.filter((i) => i.kind === 'record') as Array<Extract<ReadItem, { kind: 'record' }>>;
    assert.ok(got.some((i) => i.location.block > victim), 'records after the bad block');
    assert.ok(got.length < records.length && got.length > records.length / 2);
    // Every record handed back is intact and in order (a subsequence of what was written).
    let j = 0;
    for (const g of got) {
      while (j < records.length && !Buffer.from(records[j].payload).equals(Buffer.from(g.record.payload))) j++;
      assert.ok(j < records.length, 'record found in order');
      j++;
    }
    assert.ok(!got.some((i) => i.location.block === victim));
  } finally {
    await h.cleanup();
  }
});

test('a volume cut mid-block reads up to its last whole block, then volume-end truncated', async () => {
  const h = startSd({ blockSize: BS });
  try {
    const records = makeRecords(9, 150, BS / 2);
    const report = await backup(h, 4, records);
    const r = report.ranges[0];
    const file = path.join(h.dir, r.volume);
    const cutBlock = r.startBlock + 5;
    fs.truncateSync(file, cutBlock * BS + 777);
    const items = await restore(h, bootstrapOf(report));
    const last = items[items.length - 1];
    assert.deepEqual(last, { kind: 'volume-end', volume: r.volume, reason: 'truncated', block: cutBlock - 1 });
    const got = items.filter((i) => i.kind === 'record') as Array<Extract<ReadItem, { kind: 'record' }>>;
    assert.ok(got.length > 0 && got.every((i) => i.location.block < cutBlock));
    assertSameRecords(got.map((g) => g.record), records.slice(0, got.length));
  } finally {
    await h.cleanup();
  }
});

test('rollover at max volume size: two JobMediaRanges, reads back whole', async () => {
  const h = startSd({ blockSize: BS, maxVolumeBytes: 20 * BS });
  try {
    const records = makeRecords(5, 120, BS / 2);
    const report = await backup(h, 5, records);
    assert.ok(report.ranges.length >= 2, `ranges: ${report.ranges.length}`);
    assert.notEqual(report.ranges[0].volume, report.ranges[1].volume);
    for (const r of report.ranges) assert.equal(r.sessionId, report.sessionId);
    assert.ok(report.ranges[0].lastIndex <= report.ranges[1].firstIndex);
    assert.equal((await h.catalog.getVolume(report.ranges[0].volume))?.status, 'full');
    assert.ok(fs.statSync(path.join(h.dir, report.ranges[0].volume)).size <= 20 * BS);
    assertSameRecords(recordsOf(await restore(h, bootstrapOf(report))), records);
  } finally {
    await h.cleanup();
  }
});

test('max volume jobs: the next session starts a new volume', async () => {
  const h = startSd({ blockSize: BS, maxVolumeJobs: 1 });
  try {
    const r1 = await backup(h, 21, makeRecords(3, 5, 1000));
    const r2 = await backup(h, 22, makeRecords(4, 5, 1000));
    assert.notEqual(r1.ranges[0].volume, r2.ranges[0].volume);
    assert.equal((await h.catalog.getVolume(r1.ranges[0].volume))?.status, 'used');
  } finally {
    await h.cleanup();
  }
});

async function expectCode(p: Promise<unknown>, code: string, status?: number): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isCairnError(err), String(err));
    assert.equal(err.code, code);
    if (status !== undefined) assert.equal(err.fields.status, status);
    return true;
  });
}

test('an invalid ticket is refused with 3504; a used ticket cannot be used again', async () => {
  const h = startSd({ blockSize: BS });
  try {
    const s = h.session();
    await expectCode(s.appendOpen('00'.repeat(16)), 'CAIRN_E_SESSION_TICKET', 3504);
    const dir = h.director();
    const { ticket } = await dir.openAppendSession(job(30));
    await s.appendOpen(ticket);
    const other = h.session();
    await expectCode(other.appendOpen(ticket), 'CAIRN_E_SESSION_TICKET_USED', 3504);
    await expectCode(other.readOpen(ticket), 'CAIRN_E_SESSION_TICKET', 3504);
    await s.writeRecord({ fileIndex: 1, streamType: 1, streamNo: 0, payload: Buffer.from('x') });
    await s.appendClose();
    await expectCode(other.appendOpen(ticket), 'CAIRN_E_SESSION_TICKET', 3504);
    await s.close();
    await other.close();
    await dir.close();
  } finally {
    await h.cleanup();
  }
});

test('cancel by the Director: the FD gets 3505 session aborted and the Director a session-aborted notice', async () => {
  const h = startSd({ blockSize: BS });
  try {
    const dir = h.director();
    const notes: SdNotification[] = [];
    dir.onNotification((n) => void notes.push(n));
    const { ticket } = await dir.openAppendSession(job(40));
    const s = h.session();
    await s.appendOpen(ticket);
    for (const r of makeRecords(8, 20, 5000)) await s.writeRecord(r);
    await dir.cancel(ticket);
    await expectCode(s.appendClose(), 'CAIRN_E_SESSION_ABORTED', 3505);
    await s.close();
    await dir.close();
    assert.ok(notes.some((n) => n.type === 'session-aborted' && n.jobId === 40));
    assert.ok(!notes.some((n) => n.type === 'session-closed'));
  } finally {
    await h.cleanup();
  }
});

test('a read session naming a missing volume fails with CAIRN_E_VOLUME_NOT_FOUND; the connection stays usable', async () => {
  const h = startSd({ blockSize: BS });
  try {
    const dir = h.director();
    const { ticket } = await dir.openReadSession({ entries: [{ volume: 'Nope-0001', sessionId: 1, startFile: 0, startBlock: 1, endFile: 0, endBlock: 5 }] });
    const s = h.session();
    await s.readOpen(ticket);
    await expectCode(collect(s.readData()), 'CAIRN_E_VOLUME_NOT_FOUND');
    await s.readClose();
    await s.close();
    await dir.close();
  } finally {
    await h.cleanup();
  }
});

test('a read that stops early leaves the connection usable; read data then answers 3401', async () => {
  const h = startSd({ blockSize: BS });
  try {
    const report = await backup(h, 50, makeRecords(12, 40, BS));
    const dir = h.director();
    const { ticket } = await dir.openReadSession(bootstrapOf(report));
    const s = h.session();
    await s.readOpen(ticket);
    for await (const it of s.readData()) {
      assert.equal(it.kind, 'record');
      break;
    }
    assert.deepEqual(await collect(s.readData()), []);
    await s.readClose();
    await s.close();
    await dir.close();
  } finally {
    await h.cleanup();
  }
});

test('records sized around block boundaries (exact fit, one over, empty at a block end) round-trip', async () => {
  const small = 4096;
  const h = startSd({ blockSize: small });
  try {
    const room = small - 40 - 20; // payload that exactly fills an empty block with one fragment
    const sizes = [room, room - 1, room + 1, 0, 0, room - 20, 0, 1, room - 21, 3 * small + 7, 0, room, 2, room - 40, 0];
    const records: DataRecord[] = sizes.map((n, i) => ({ fileIndex: i + 1, streamType: 2, streamNo: i % 4, payload: Buffer.alloc(n, (i * 37) & 0xff) }));
    const report = await backup(h, 60, records);
    assertSameRecords(recordsOf(await restore(h, bootstrapOf(report))), records);
  } finally {
    await h.cleanup();
  }
});

test('a reader that releases each record as it goes gets every payload intact and lets the SD reuse its buffers', async () => {
  const h = startSd({ blockSize: BS });
  try {
    // ~50 MiB of records, most spanning blocks: many times what the SD's read and reassembly buffers hold.
    const records = makeRecords(7, 400, 4 * BS);
    const report = await backup(h, 70, records);
    const read = async (release: boolean): Promise<{ buffers: number; releases: number }> => {
      const dir = h.director();
      const { ticket } = await dir.openReadSession(bootstrapOf(report));
      const s = h.session();
      await s.readOpen(ticket);
      const buffers = new Set<ArrayBufferLike>();
      let n = 0;
      let releases = 0;
      for await (const it of s.readData()) {
        if (it.kind !== 'record') continue;
        const want = records[n++];
        assert.ok(Buffer.from(it.record.payload).equals(Buffer.from(want.payload)), `payload of record ${n - 1} intact`);
        if (want.payload.length > 0) buffers.add(it.record.payload.buffer);
        if (it.release) releases++;
        if (release) {
          it.release?.();
          it.release?.(); // a second call is harmless
        }
      }
      assert.equal(n, records.length);
      await s.readClose();
      await s.close();
      await dir.close();
      return { buffers: buffers.size, releases };
    };
    const kept = await read(false);
    const released = await read(true);
    const nonEmpty = records.filter((r) => r.payload.length > 0).length;
    assert.equal(released.releases, nonEmpty, 'every record with bytes comes with a release');
    assert.ok(released.buffers * 3 <= kept.buffers, `records released as read share ${released.buffers} buffers; kept, they need ${kept.buffers}`);
  } finally {
    await h.cleanup();
  }
});

test('several devices: a session writes the device it names; a read finds the volume on its device; unknown device → CAIRN_E_DEVICE_NOT_FOUND', async () => {
  const base = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR ?? '/tmp'), 'cairn-sd-devs-'));
  const h = startSd({ device: undefined, devices: [{ name: 'A', device: path.join(base, 'a'), blockSize: BS }, { name: 'B', device: path.join(base, 'b'), blockSize: BS, maxConcurrentJobs: 1 }] }, base);
  try {
    const dir = h.director();
    const info = { ...job(1), device: 'B' };
    const { ticket } = await dir.openAppendSession(info);
    const s = h.session();
    await s.appendOpen(ticket);
    const records = makeRecords(7, 50, 2 * BS);
    for (const r of records) await s.writeRecord(r);
    const report = await s.appendClose();
    await s.close();
    assert.deepEqual(fs.readdirSync(path.join(base, 'b')).filter((n) => !n.startsWith('.')).length > 0, true);
    assert.ok(!fs.existsSync(path.join(base, 'a')) || fs.readdirSync(path.join(base, 'a')).every((n) => n.startsWith('.')), 'nothing written to device A');
    assertSameRecords(recordsOf(await restore(h, bootstrapOf(report))), records);
    await assert.rejects(dir.openAppendSession({ ...job(2), device: 'C' }), (e: unknown) => isCairnError(e) && e.code === 'CAIRN_E_DEVICE_NOT_FOUND' && /devices: A, B/.test(e.message));
    const st = await dir.status();
    assert.deepEqual((st.devices as Array<{ name: string }>).map((d) => d.name), ['A', 'B']);
    await dir.close();
  } finally {
    await h.cleanup();
    fs.rmSync(base, { recursive: true, force: true });
  }
});

test('a device at its maxConcurrentJobs: the next session waits until one ends, then goes on', async () => {
  const h = startSd({ maxConcurrentJobs: 1, blockSize: BS });
  try {
    const dir = h.director();
    const first = await dir.openAppendSession(job(1));
    let secondOpened = false;
    const second = dir.openAppendSession(job(2)).then((g) => ((secondOpened = true), g));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(secondOpened, false, 'the second session waits while the first holds the device');
    assert.equal(((await h.director().status()).devices as Array<{ waiting: number }>)[0].waiting, 1);
    const s = h.session();
    await s.appendOpen(first.ticket);
    await s.writeRecord({ fileIndex: 1, streamType: 1, streamNo: 0, payload: Buffer.from('a') });
    await s.appendClose();
    await s.close();
    const g2 = await second;
    assert.equal(secondOpened, true);
    const s2 = h.session();
    await s2.appendOpen(g2.ticket);
    await s2.appendClose();
    await s2.close();
    await dir.close();
  } finally {
    await h.cleanup();
  }
});

test('a volume being scanned is not truncated for recycling until the scan ends (as with a read session); a verify lets its volumes go', async () => {
  // One job per volume: the job's volume is Used, not kept open for the next append.
  const h = startSd({ blockSize: BS, maxVolumeJobs: 1 });
  try {
    const report = await backup(h, 1, makeRecords(1, 3, 50_000));
    await backup(h, 2, makeRecords(1, 1, 1000)); // on the next volume: the first is no longer open for appending
    const volume = report.ranges[0].volume;
    const dir = h.director();
    const busy = async () => {
      try {
        await dir.truncateVolume(volume);
        return 'truncated';
      } catch (err) {
        return isCairnError(err) ? `${err.code}: ${err.message}` : String(err);
      }
    };
    // A direct scan holds the volume while it is being read.
    const scan = h.sd.scanVolume(volume, {});
    assert.equal((await scan.next()).value?.kind, 'volume-label');
    assert.match(await busy(), /^CAIRN_E_VOLUME_BUSY: .*being read/);
    await scan.return(undefined);
    assert.deepEqual([...h.sd.volumesInUse()], []);
    // A verify holds it the same way (holdForRead) and lets it go when done.
    const verified = await dir.verifySession({ entries: bootstrapOf(report).entries, jobId: 1 });
    assert.deepEqual(verified.problems, []);
    assert.deepEqual([...h.sd.volumesInUse()], [], 'nothing held after the verify');
    assert.equal(await busy(), 'truncated', 'once the reads are over, recycling goes ahead');
    await dir.close();
  } finally {
    await h.cleanup();
  }
});
