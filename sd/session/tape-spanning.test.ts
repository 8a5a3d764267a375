// Acceptance (issue 5): a backup larger than one vtape spans three vtapes
// through the vtape changer and restores byte-exact; restoring a file from
// the third volume positions there (fsf/fsr) without loading or reading the
// first two; a write that meets hard end of medium mid-block loses nothing —
// the block appears whole on the next volume; `verify session` reads the
// spanned session from the tapes, positioned, and names a damaged block.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/support/temp.js';
import { BlockKind } from '../volume/block.js';
import { backup, bootstrapOf, makeFiles, restore, startTapeSd, tapeContents } from '../testing/tape-fixtures.js';

const BS = 64 * 1024;

test('a backup larger than one vtape spans three vtapes and restores byte-exact; a file on the third is read without touching the first two', async (t) => {
  const dir = tempDir(t, 'cairn-span-');
  // 1.5 MiB tapes (early warning 96 KiB before the end), 64 KiB blocks, a filemark every 4 blocks; 3.5 MiB of data.
  const h = await startTapeSd(dir, { slots: 4, capacity: 1536 * 1024, blockSize: BS, filemarkBytes: 4 * BS });
  const files = makeFiles(28, 128 * 1024);
  const report = await backup(h, 1, files);
  assert.equal(report.ranges.length, 3, `three volumes: ${report.ranges.map((r) => r.volume).join(', ')}`);
  assert.equal(new Set(report.ranges.map((r) => r.volume)).size, 3);
  for (const r of report.ranges) assert.ok(r.endFile > r.startFile || r.endBlock > r.startBlock, 'each range holds blocks');
  assert.ok(report.ranges[0].endFile >= 3, 'filemarks split the first volume into several tape files');
  for (const r of report.ranges) assert.equal(h.catalog.volumes.get(r.volume)?.mediaType, 'VTape');
  assert.equal(h.catalog.volumes.get(report.ranges[0].volume)?.status, 'full');
  assert.equal(h.catalog.volumes.get(report.ranges[1].volume)?.status, 'full');

  const all = await restore(h, bootstrapOf(report));
  assert.equal(all.size, files.size);
  for (const [i, recs] of files) assert.deepEqual(all.get(i), recs.map((r) => Buffer.from(r.payload)), `file ${i} byte-exact`);

  // One file that lies wholly on the third volume: its bootstrap names only that volume.
  const third = report.ranges[2];
  const want = third.lastIndex - 1;
  assert.ok(want > third.firstIndex, 'a file wholly on the third volume');
  const before = h.device.mediaStatus().counters;
  h.loads.length = 0;
  const one = await restore(h, bootstrapOf(report, (r) => r.volume === third.volume, [[want, want]]));
  const after = h.device.mediaStatus().counters;
  assert.deepEqual([...one.keys()], [want]);
  assert.deepEqual(one.get(want), files.get(want)?.map((r) => Buffer.from(r.payload)));
  const volumeOfSlot = new Map(h.device.mediaStatus().slots.map((s) => [s.slot, s.volume]));
  assert.ok(h.loads.every((slot) => volumeOfSlot.get(slot) === third.volume), `only the third volume was loaded (slots ${h.loads.join(',')})`);
  const read = after.blocksRead - before.blocksRead;
  const rangeBlocks = third.endBlock - third.startBlock + 1;
  t.diagnostic(`restore of file ${want}: ${read} blocks read (the session's range on ${third.volume}: ${rangeBlocks} blocks; volumes 1-2 hold ${report.ranges[0].endBlock + report.ranges[1].endBlock} blocks); ${after.filesSpaced - before.filesSpaced} files spaced`);
  assert.ok(read <= rangeBlocks + 2, `at most the range on the third volume and its label/first block were read (${read})`);
  assert.ok(after.filesSpaced > before.filesSpaced || third.startFile <= 1, 'the read spaced over tape files');
  await h.cleanup();
});

test('a write that meets hard end of medium mid-block loses nothing: that block is written whole on the next volume', async (t) => {
  const dir = tempDir(t, 'cairn-hardeom-');
  // No early-warning zone: the first refusal is the physical end, in the middle of a block (capacity not a multiple of a record).
  const capacity = 8 * (BS + 16) + 16 + 1000;
  const h = await startTapeSd(dir, { slots: 4, capacity, earlyWarning: 0, blockSize: BS, filemarkBytes: 2 * BS });
  const files = makeFiles(6, 90_000);
  const report = await backup(h, 7, files);
  assert.ok(report.ranges.length >= 2, 'the session continued on another volume');
  const all = await restore(h, bootstrapOf(report));
  for (const [i, recs] of files) assert.deepEqual(all.get(i), recs.map((r) => Buffer.from(r.payload)), `file ${i} byte-exact`);
  await h.cleanup();

  const tapes = await tapeContents(dir, 4, BS);
  const first = tapes.get(report.ranges[0].volume) ?? [];
  // Label (1) + 4 blocks filled the tape's room for whole blocks with filemarks between; the next block did not fit.
  assert.ok(first.length >= 3 && first.every((b) => b.kind !== BlockKind.SESSION_END), 'the first volume holds whole blocks and no end label');
  // What the first tape holds up to its last block: the label and the blocks (16-byte record header each) and the filemarks before them.
  const used = (first.length + 1) * (BS + 16) + first[first.length - 1].file * 16;
  assert.ok(used < capacity && used + 16 + BS > capacity, `the next block met the physical end mid-block (${capacity - used} bytes were left for a ${BS}-byte block)`);
  // Every block of the session, over all volumes, in order: the sequence is unbroken, so the refused block was written later.
  const seqs = report.ranges.flatMap((r) => (tapes.get(r.volume) ?? []).filter((b) => b.sessionId === report.sessionId && !(b.kind === BlockKind.SESSION_START && b.seq > 0)).map((b) => b.seq));
  const starts = report.ranges.flatMap((r) => (tapes.get(r.volume) ?? []).filter((b) => b.sessionId === report.sessionId && b.kind === BlockKind.SESSION_START && b.seq > 0).map((b) => b.seq));
  const together = [...seqs, ...starts].sort((a, b) => a - b);
  assert.deepEqual(together, together.map((_, i) => i), 'session sequence 0…n without a gap');
  assert.equal(report.blocks, together.length);
  const second = tapes.get(report.ranges[1].volume) ?? [];
  assert.equal(second[0].kind, BlockKind.SESSION_START, 'the next volume starts with the continuation label');
  assert.equal(second[1].seq, second[0].seq + 1, 'then the block that did not fit');
  assert.equal(second[1].kind, BlockKind.DATA);
});

test('verify session on tape: a session spanning three vtapes verifies clean, spaced to its ranges; a flipped byte is named by volume, tape file and block', async (t) => {
  const dir = tempDir(t, 'cairn-span-verify-');
  const h = await startTapeSd(dir, { slots: 4, capacity: 1536 * 1024, blockSize: BS, filemarkBytes: 4 * BS });
  const files = makeFiles(28, 128 * 1024);
  const report = await backup(h, 3, files);
  assert.equal(report.ranges.length, 3);
  const req = { entries: bootstrapOf(report).entries, jobId: 3 };
  const clean = await h.director().verifySession(req);
  assert.deepEqual([clean.badBlocks, clean.problems], [[], []], JSON.stringify(clean.problems.slice(0, 3)));
  // Every block of the session over the three tapes; the end label counts those before it, the close report it too.
  assert.equal(clean.blocks, report.blocks - 1);
  assert.equal(clean.endLabel?.blocks, clean.blocks);
  assert.deepEqual(clean.volumes, report.ranges.map((r) => r.volume));
  assert.equal(clean.endLabel?.status, 'ok');
  assert.equal(clean.files, 28);

  // Flip one byte of a data record that lies on the second tape (found by its bytes in the vtape files of the folder).
  const second = report.ranges[1];
  const onSecond = second.firstIndex + 1;
  const needle = Buffer.from(files.get(onSecond)![1].payload).subarray(100, 164);
  let flipped = '';
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (!statSync(p).isFile()) continue;
    const bytes = readFileSync(p);
    const at = bytes.indexOf(needle);
    if (at < 0) continue;
    bytes[at + 10] ^= 0x20;
    writeFileSync(p, bytes);
    flipped = name;
  }
  assert.ok(flipped, 'the record was found in a vtape file');
  const bad = await h.director().verifySession(req);
  assert.equal(bad.badBlocks.length, 1, JSON.stringify(bad.badBlocks));
  const [b] = bad.badBlocks;
  assert.equal(b.volume, second.volume);
  assert.ok(b.file >= second.startFile && b.file <= second.endFile && b.file > 0, `the tape file is named (${b.file}, range ${second.startFile}-${second.endFile})`);
  assert.ok(b.block >= second.startBlock && b.block <= second.endBlock);
  assert.ok(b.fileIndexes && b.fileIndexes[0] <= onSecond && b.fileIndexes[1] >= onSecond, `the damaged place may hold file ${onSecond}: ${JSON.stringify(b.fileIndexes)}`);
  await h.cleanup();
});
