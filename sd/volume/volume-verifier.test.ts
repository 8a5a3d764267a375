/**
 * verify session (volume-verifier.ts) against volumes written by the SD and
 * then altered in ways a CRC alone cannot see: blocks of one session swapped
 * (each resealed with a correct checksum and block number), a block of the
 * session replaced by a sealed copy of another, a record's fragment length
 * lengthened. And the clean case: counts equal the end label.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { SessionCloseReport } from '../api.js';
import { job, makeRecords, startSd, type Harness } from '../testing/harness.js';
import { BLOCK_HEADER_BYTES, checkBlock, sealBlock } from './block.js';
import { verifySession } from './volume-verifier.js';

const BS = 4096;

async function write(h: Harness, jobId: number): Promise<SessionCloseReport> {
  const dir = h.director();
  const { ticket } = await dir.openAppendSession(job(jobId));
  const s = h.session();
  await s.appendOpen(ticket);
  // Records up to 3 blocks long: plenty of records that span blocks.
  for (const r of makeRecords(jobId, 120, 3 * BS)) await s.writeRecord(r);
  const report = await s.appendClose();
  await s.close();
  await dir.close();
  return report;
}

function entries(report: SessionCloseReport) {
  return report.ranges.map((r) => ({ volume: r.volume, sessionId: r.sessionId, startFile: r.startFile, startBlock: r.startBlock, endFile: r.endFile, endBlock: r.endBlock }));
}

function readBlock(path: string, n: number): Buffer {
  const b = Buffer.alloc(BS);
  const fd = openSync(path, 'r');
  readSync(fd, b, 0, BS, n * BS);
  closeSync(fd);
  return b;
}

function writeBlock(path: string, n: number, b: Buffer): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, b, 0, BS, n * BS);
  closeSync(fd);
}

/** Rewrites a block's header fields and reseals it (a valid CRC over the new content). */
function reseal(b: Buffer, change: { blockNumber?: number; sessionSeq?: number; sessionId?: number }): Buffer {
  const out = Buffer.from(b);
  sealBlock(out, {
    kind: b.readUInt16BE(6), blockNumber: change.blockNumber ?? b.readUInt32BE(16), sessionId: change.sessionId ?? b.readUInt32BE(20),
    sessionSeq: change.sessionSeq ?? b.readUInt32BE(24), payloadLength: b.readUInt32BE(28), firstRecordOffset: b.readUInt32BE(32),
  });
  assert.ok(checkBlock(out, BS).ok, 'the resealed block passes its own check');
  return out;
}

test('verify session: a clean session verifies with the end label counts; records are checked, nothing is handed out', async (t) => {
  const h = startSd({ blockSize: BS });
  t.after(() => h.cleanup());
  const report = await write(h, 1);
  const r = await verifySession(h.sd.device, { entries: entries(report), jobId: 1 });
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.badBlocks, []);
  assert.equal(r.records, report.records);
  assert.equal(r.blocks, report.blocks - 1, 'the end label is not counted in its own statistics');
  assert.equal(r.endLabel?.status, 'ok');
  // The wrong job id is named.
  const w = await verifySession(h.sd.device, { entries: entries(report), jobId: 2 });
  assert.ok(w.problems.some((p) => p.code === 'CAIRN_E_VOLUME_LABEL' && /job 1, not 2/.test(p.text)));
});

test('verify session: swapped blocks with valid checksums, a foreign block, and a stretched fragment are found', async (t) => {
  const h = startSd({ blockSize: BS });
  t.after(() => h.cleanup());
  const report = await write(h, 1);
  const vol = join(h.dir, report.ranges[0].volume);
  const e = entries(report);
  const first = report.ranges[0].startBlock + 3;

  // 1. Two data blocks swapped, each resealed with the block number of its new place: every CRC is right.
  const a = readBlock(vol, first);
  const b = readBlock(vol, first + 1);
  writeBlock(vol, first, reseal(b, { blockNumber: first }));
  writeBlock(vol, first + 1, reseal(a, { blockNumber: first + 1 }));
  let r = await verifySession(h.sd.device, { entries: e, jobId: 1 });
  assert.deepEqual(r.badBlocks, [], 'no block fails its own check');
  assert.ok(r.problems.some((p) => p.code === 'CAIRN_E_VOLUME_SEQUENCE' && p.block === first), JSON.stringify(r.problems));
  assert.ok(r.problems.some((p) => p.code === 'CAIRN_E_VOLUME_RECORD'), 'the records across the swapped blocks no longer chain');
  writeBlock(vol, first, a);
  writeBlock(vol, first + 1, b);
  assert.deepEqual((await verifySession(h.sd.device, { entries: e })).problems, []);

  // 2. A block of the session dropped (replaced by a sealed block of another session): its sequence number is missing.
  writeBlock(vol, first, reseal(a, { sessionId: 999 }));
  r = await verifySession(h.sd.device, { entries: e });
  const gap = r.problems.find((p) => p.code === 'CAIRN_E_VOLUME_SEQUENCE');
  assert.ok(gap && gap.block === first + 1 && /1 block\(s\) of the session missing/.test(gap.text), JSON.stringify(r.problems));
  assert.ok(gap.fileIndexes && gap.fileIndexes[0] >= 1 && gap.fileIndexes[1] >= gap.fileIndexes[0]);
  writeBlock(vol, first, a);

  // 3. A fragment whose length runs past its block (resealed: the CRC is right).
  const c = Buffer.from(a);
  c.writeUInt32BE(BS, BLOCK_HEADER_BYTES + 16);
  writeBlock(vol, first, reseal(c, {}));
  r = await verifySession(h.sd.device, { entries: e });
  assert.ok(r.problems.some((p) => p.code === 'CAIRN_E_VOLUME_RECORD' && p.block === first && /runs past/.test(p.text)), JSON.stringify(r.problems));
  writeBlock(vol, first, a);

  // Back to clean.
  assert.deepEqual((await verifySession(h.sd.device, { entries: e })).problems, []);
});
