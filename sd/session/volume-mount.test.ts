import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { isCairnError } from '../../plugin-api/index.js';
import type { DataRecord, SessionCloseReport } from '../api.js';
import { job, makeRecords, startSd, type Harness } from '../testing/harness.js';
import { MemoryCatalog } from '../testing/memory-catalog.js';
import { readVolume } from '../volume/read-volume.js';

const BS = 16 * 1024;

async function backup(h: Harness, jobId: number, records: DataRecord[]): Promise<SessionCloseReport> {
  const dir = h.director();
  const { ticket } = await dir.openAppendSession(job(jobId));
  const s = h.session();
  await s.appendOpen(ticket);
  for (const r of records) await s.writeRecord(r);
  const report = await s.appendClose();
  await s.close();
  await dir.close();
  return report;
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-sd-mount-'));
}

test('mount trims a torn tail and uncommitted blocks past the catalog committed end, then appends after it', async () => {
  const dir = tmp();
  const catalog = new MemoryCatalog();
  try {
    let h = startSd({ blockSize: BS }, dir, catalog);
    const r1 = await backup(h, 1, makeRecords(1, 30, BS));
    await h.cleanup();
    const vol = r1.ranges[0].volume;
    const file = path.join(dir, vol);
    const committed = (await catalog.getVolume(vol))!.committedBytes;
    assert.equal(fs.statSync(file).size, committed);
    // A crash left two uncommitted whole blocks and half a block behind.
    fs.appendFileSync(file, Buffer.alloc(2 * BS + BS / 2, 0xab));
    h = startSd({ blockSize: BS }, dir, catalog);
    const r2 = await backup(h, 2, makeRecords(2, 10, BS));
    await h.cleanup();
    assert.equal(r2.ranges[0].volume, vol);
    assert.equal(r2.ranges[0].startBlock, committed / BS, 'appending resumed at the committed end');
    const items = [];
    for await (const it of readVolume(file)) items.push(it);
    assert.ok(!items.some((i) => i.kind === 'bad-block'), 'no garbage left in the volume');
    assert.equal(items.filter((i) => i.kind === 'session-start').length, 2);
    const ends = items.filter((i) => i.kind === 'session-end');
    assert.equal(ends.length, 2);
    assert.equal(items.filter((i) => i.kind === 'record').length, 40);
    assert.equal(fs.statSync(file).size, (await catalog.getVolume(vol))!.committedBytes);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a volume shorter than the catalog says is refused with CAIRN_E_VOLUME_SHORT and left untouched', async () => {
  const dir = tmp();
  const catalog = new MemoryCatalog();
  try {
    let h = startSd({ blockSize: BS }, dir, catalog);
    const r1 = await backup(h, 1, makeRecords(3, 30, BS));
    await h.cleanup();
    const vol = r1.ranges[0].volume;
    const file = path.join(dir, vol);
    const committed = (await catalog.getVolume(vol))!.committedBytes;
    fs.truncateSync(file, committed - 3 * BS);
    h = startSd({ blockSize: BS }, dir, catalog);
    const d = h.director();
    await assert.rejects(d.openAppendSession(job(2)), (err: unknown) => {
      assert.ok(isCairnError(err));
      assert.equal(err.code, 'CAIRN_E_VOLUME_SHORT');
      assert.equal(err.fields.volume, vol);
      assert.equal(err.fields.expectedBytes, committed);
      assert.equal(err.fields.foundBytes, committed - 3 * BS);
      assert.equal(err.fields.status, 3503);
      return true;
    });
    await d.close();
    await h.cleanup();
    assert.equal(fs.statSync(file).size, committed - 3 * BS, 'never appended to');
    assert.equal((await catalog.getVolume(vol))?.status, 'error', 'marked Error so the next job labels a new volume');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('readVolume yields the volume label, session labels with job metadata and end statistics', async () => {
  const h = startSd({ blockSize: BS });
  try {
    const records = makeRecords(4, 12, 3 * BS);
    const report = await backup(h, 77, records);
    const items = [];
    for await (const it of readVolume(path.join(h.dir, report.ranges[0].volume))) items.push(it);
    const label = items[0];
    assert.equal(label.kind, 'volume-label');
    if (label.kind === 'volume-label') {
      assert.equal(label.label.volumeName, report.ranges[0].volume);
      assert.equal(label.label.blockSize, BS);
      assert.equal(label.label.pool, 'Default');
      assert.equal(label.label.formatVersion, 1);
    }
    const sos = items.find((i) => i.kind === 'session-start');
    assert.ok(sos && sos.kind === 'session-start');
    assert.deepEqual(sos.label.job, job(77));
    assert.equal(sos.label.sessionId, report.sessionId);
    const eos = items.find((i) => i.kind === 'session-end');
    assert.ok(eos && eos.kind === 'session-end');
    assert.equal(eos.label.status, 'ok');
    assert.equal(eos.label.records, records.length);
    assert.equal(eos.label.bytes, report.bytes);
    assert.equal(eos.label.lastFileIndex, report.lastFileIndex);
    assert.equal(eos.block, report.ranges[0].endBlock);
    assert.equal(items[items.length - 1].kind, 'volume-end');
  } finally {
    await h.cleanup();
  }
});

test('session ids are unique across SD restarts (persisted counter)', async () => {
  const dir = tmp();
  const catalog = new MemoryCatalog();
  try {
    let h = startSd({ blockSize: BS }, dir, catalog);
    const a = await backup(h, 1, makeRecords(5, 2, 100));
    await h.cleanup();
    h = startSd({ blockSize: BS }, dir, catalog);
    const b = await backup(h, 2, makeRecords(6, 2, 100));
    await h.cleanup();
    assert.ok(b.sessionId > a.sessionId);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
