/**
 * The keyless manifest check of verify session (manifest-check.ts) against
 * sessions written by the SD with a signed manifest at their end, as an
 * encrypting FD writes it: a clean session matches every record; a record
 * altered in place (block resealed with a valid CRC) is named at its block;
 * a manifest signed by another key, or for another job, is refused; with no
 * MANIFEST records on the volume the Director's copy serves, and without one
 * either the check says the manifest is missing; a volume copy that differs
 * from the Director's is named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ManifestBuilder, generateKey, manifestRecords, type CairnKey } from '../../core/index.js';
import type { DataRecord, SessionCloseReport } from '../api.js';
import { job, makeRecords, startSd, type Harness } from '../testing/harness.js';
import { checkBlock, sealBlock } from './block.js';
import { readFragmentHeader } from './fragment.js';
import { verifySession, type VolumeVerifyRequest } from './volume-verifier.js';

const BS = 4096;

function signed(records: DataRecord[], jobId: number, key: CairnKey): Buffer {
  const b = new ManifestBuilder();
  for (const r of records) b.addRecord(r, r.payload.byteLength, createHash('sha256').update(r.payload).digest());
  return b.finish({ jobId, signer: key.fingerprint, cipher: 'aes-256-gcm', files: 0, bytes: 0, createdAt: 0 }, key.signSecretKey!);
}

async function write(h: Harness, jobId: number, records: DataRecord[], manifest: Buffer | null): Promise<SessionCloseReport> {
  const dir = h.director();
  const { ticket } = await dir.openAppendSession(job(jobId));
  const s = h.session();
  await s.appendOpen(ticket);
  for (const r of records) await s.writeRecord(r);
  if (manifest) for (const r of manifestRecords(manifest)) await s.writeRecord(r);
  const report = await s.appendClose();
  await s.close();
  await dir.close();
  return report;
}

function entries(report: SessionCloseReport): VolumeVerifyRequest['entries'] {
  return report.ranges.map((r) => ({ volume: r.volume, sessionId: r.sessionId, startFile: r.startFile, startBlock: r.startBlock, endFile: r.endFile, endBlock: r.endBlock }));
}

const anchor = (k: CairnKey, bytes?: Buffer) => ({ signer: k.fingerprint, signPublicKey: Buffer.from(k.signPublicKey).toString('base64'), ...(bytes ? { bytes: bytes.toString('base64') } : {}) });

test('manifest check: clean session matches; an altered record (CRC resealed) is named at its block; foreign signer and wrong job refused', async (t) => {
  const h = startSd({ blockSize: BS });
  t.after(() => h.cleanup());
  const key = generateKey();
  const records = makeRecords(5, 90, 2 * BS);
  const manifest = signed(records, 7, key);
  const report = await write(h, 7, records, manifest);
  const e = entries(report);

  const clean = await verifySession(h.sd.device, { entries: e, jobId: 7, manifest: anchor(key) });
  assert.deepEqual(clean.problems, []);
  assert.equal(clean.manifest?.source, 'volume');
  assert.equal(clean.manifest?.verified, true);
  assert.equal(clean.manifest?.listed, records.length);
  assert.equal(clean.manifest?.matched, records.length);
  const inline = await verifySession(h.sd.device, { entries: e, jobId: 7, manifest: anchor(key, manifest) });
  assert.deepEqual(inline.problems, []);
  assert.equal(inline.manifest?.source, 'request');

  const stranger = generateKey();
  const forged = await verifySession(h.sd.device, { entries: e, jobId: 7, manifest: anchor({ ...stranger, fingerprint: key.fingerprint }) });
  assert.deepEqual(forged.problems.map((p) => p.code), ['CAIRN_E_MANIFEST_SIGNATURE'], 'a key that did not sign it');
  assert.equal(forged.manifest?.verified, false);
  const other = await verifySession(h.sd.device, { entries: e, manifest: anchor(stranger) });
  assert.deepEqual(other.problems.map((p) => p.code), ['CAIRN_E_MANIFEST_SIGNATURE'], 'a manifest signed by someone else than the anchor names');
  // Replayed as another job's session: the manifest names job 7.
  const replay = await verifySession(h.sd.device, { entries: e, jobId: 8, manifest: anchor(key) });
  assert.ok(replay.problems.some((p) => p.code === 'CAIRN_E_MANIFEST_SIGNATURE'), JSON.stringify(replay.problems));

  // One payload byte of a data block altered, the block resealed: the structure and CRC are fine, the digest is not.
  const vol = join(h.dir, e[0].volume);
  const fd = openSync(vol, 'r+');
  let altered: { block: number; fileIndex: number } | null = null;
  try {
    for (let n = e[0].startBlock + 2; n <= e[0].endBlock && !altered; n++) {
      const b = Buffer.alloc(BS);
      readSync(fd, b, 0, BS, n * BS);
      const c = checkBlock(b, BS);
      if (!c.ok || c.header.kind !== 3 || c.header.firstRecordOffset !== 0) continue;
      const p = c.header.headerLength;
      const f = readFragmentHeader(b.subarray(p), 0);
      if (f.fragmentOffset !== 0 || f.fragmentLength < 4 || f.streamType === 19) continue;
      b[p + 20 + 1] ^= 0xff;
      sealBlock(b, { kind: c.header.kind, blockNumber: n, sessionId: c.header.sessionId, sessionSeq: c.header.sessionSeq, payloadLength: c.header.payloadLength, firstRecordOffset: 0 });
      writeSync(fd, b, 0, BS, n * BS);
      altered = { block: n, fileIndex: f.fileIndex };
    }
  } finally {
    closeSync(fd);
  }
  assert.ok(altered, 'a data block starting with a record');
  const bad = await verifySession(h.sd.device, { entries: e, jobId: 7, manifest: anchor(key) });
  assert.deepEqual(bad.badBlocks, []);
  assert.deepEqual(bad.problems.map((p) => [p.code, p.block, p.fileIndexes]), [['CAIRN_E_MANIFEST_MISMATCH', altered.block, [altered.fileIndex, altered.fileIndex]]]);
  assert.equal(bad.manifest?.mismatched, 1);
  assert.equal(bad.manifest?.matched, records.length - 1);
});

test('manifest check: no MANIFEST records on the volume — the Director\'s copy serves, none at all is named; a differing volume copy is named', async (t) => {
  const h = startSd({ blockSize: BS });
  t.after(() => h.cleanup());
  const key = generateKey();
  const records = makeRecords(9, 40, BS);
  const manifest = signed(records, 3, key);
  const bare = entries(await write(h, 3, records, null));
  const given = await verifySession(h.sd.device, { entries: bare, jobId: 3, manifest: anchor(key, manifest) });
  assert.deepEqual(given.problems, []);
  assert.equal(given.manifest?.matched, records.length);
  const none = await verifySession(h.sd.device, { entries: bare, jobId: 3, manifest: anchor(key) });
  assert.deepEqual(none.problems.map((p) => p.code), ['CAIRN_E_MANIFEST_MISSING']);
  assert.equal(none.manifest?.source, 'none');

  // The Director's manifest lists one more record than the session holds: it is missing, named by its file index.
  const extra: DataRecord = { fileIndex: 999, streamType: 2, streamNo: 0, payload: Buffer.from('never written') };
  const longer = signed([...records, extra], 3, key);
  const missing = await verifySession(h.sd.device, { entries: bare, jobId: 3, manifest: anchor(key, longer) });
  assert.deepEqual(missing.problems.map((p) => [p.code, p.fileIndexes]), [['CAIRN_E_MANIFEST_MISSING', [999, 999]]]);
  assert.equal(missing.manifest?.missing, 1);

  // A session whose own manifest is not the one the Director holds (both validly signed).
  const withOwn = entries(await write(h, 4, records, signed(records, 4, key)));
  const differs = await verifySession(h.sd.device, { entries: withOwn, jobId: 4, manifest: anchor(key, signed(records.slice(1), 4, key)) });
  assert.ok(differs.problems.some((p) => p.code === 'CAIRN_E_MANIFEST_MISMATCH' && /differ from the job's signed manifest in the catalog/.test(p.text)), JSON.stringify(differs.problems));
});
