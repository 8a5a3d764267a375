// The tape conformance suite against VtapeDrive (file-backed emulation), plus
// what only the emulator shows: its file format on disk and its errors at open.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/support/temp.js';
import { blockOf, tapeConformance, type TapeOptions } from '../testing/tape-conformance.js';
import { RECORD_HEADER_SIZE, REC_BLOCK, REC_EOD, REC_FILEMARK, VTAPE_HEADER_SIZE } from './vtape-format.js';
import { VtapeDrive, createVtape } from './vtape-drive.js';

let n = 0;
tapeConformance('VtapeDrive', {
  emulated: true,
  async tape(t, options: TapeOptions = {}) {
    const file = join(tempDir(t, 'cairn-vtape-'), `tape-${n++}.vtape`);
    await createVtape(file, { capacity: options.capacity ?? 64 * 1024 * 1024, earlyWarning: options.earlyWarning, maxBlock: options.maxBlock, writeProtected: options.writeProtected });
    return { open: (o) => VtapeDrive.open(file, o) };
  },
});

test('vtape file: header, block records with their lengths, filemarks, end-of-data marker', async (t) => {
  const file = join(tempDir(t, 'cairn-vtape-'), 'fmt.vtape');
  await createVtape(file, { capacity: 1 << 20 });
  const d = await VtapeDrive.open(file);
  await d.writeBlock(blockOf(1, 10));
  await d.writeFilemarks(1);
  await d.writeBlock(blockOf(2, 3));
  await d.close(); // writes a filemark
  const b = readFileSync(file);
  assert.equal(b.toString('latin1', 0, 8), 'CAIRNVT1');
  assert.equal(Number(b.readBigUInt64LE(16)), 1 << 20);
  const recs: Array<[number, number, number]> = [];
  for (let at = VTAPE_HEADER_SIZE; at < b.length; ) {
    const type = b.readUInt32LE(at);
    const len = b.readUInt32LE(at + 4);
    recs.push([type, len, b.readUInt32LE(at + 8)]);
    at += RECORD_HEADER_SIZE + (type === REC_BLOCK ? len : 0);
  }
  assert.deepEqual(recs, [
    [REC_BLOCK, 10, 0xffffffff],
    [REC_FILEMARK, 0, 10],
    [REC_BLOCK, 3, 0],
    [REC_FILEMARK, 0, 3],
    [REC_EOD, 0, 0],
  ]);
  assert.equal(b.subarray(VTAPE_HEADER_SIZE + RECORD_HEADER_SIZE, VTAPE_HEADER_SIZE + RECORD_HEADER_SIZE + 10).equals(blockOf(1, 10)), true);
});

test('vtape: a torn tail reads as end of data after the last whole block', async (t) => {
  const file = join(tempDir(t, 'cairn-vtape-'), 'torn.vtape');
  await createVtape(file, { capacity: 1 << 20 });
  let d = await VtapeDrive.open(file);
  await d.writeBlock(blockOf(1, 1000));
  await d.writeBlock(blockOf(2, 1000));
  await d.offline(); // writes a filemark, releases the file
  await d.close();
  const b = readFileSync(file);
  // cut the file inside the second block's data (as a crash mid-write would)
  writeFileSync(file, b.subarray(0, VTAPE_HEADER_SIZE + RECORD_HEADER_SIZE + 1000 + RECORD_HEADER_SIZE + 500));
  d = await VtapeDrive.open(file, { readOnly: true, nonBlocking: true }); // unloaded by offline(): no tape until load
  try {
    await d.load();
    const buf = Buffer.alloc(2000);
    assert.equal(await d.readBlock(buf), 1000);
    await assert.rejects(d.readBlock(buf), { code: 'CAIRN_E_TAPE_IO' }); // blank check not after a filemark: EIO, as st
  } finally {
    await d.close();
  }
});

test('vtape: open errors are CAIRN_E_TAPE_* codes', async (t) => {
  const dir = tempDir(t, 'cairn-vtape-');
  await assert.rejects(VtapeDrive.open(join(dir, 'missing.vtape')), { code: 'CAIRN_E_TAPE_NOT_FOUND' });
  writeFileSync(join(dir, 'junk'), 'not a tape at all');
  await assert.rejects(VtapeDrive.open(join(dir, 'junk')), { code: 'CAIRN_E_TAPE_FORMAT' });
  const file = join(dir, 'busy.vtape');
  await createVtape(file, { capacity: 1 << 20 });
  const d = await VtapeDrive.open(file);
  await assert.rejects(VtapeDrive.open(file), { code: 'CAIRN_E_TAPE_BUSY' });
  await d.close();
  await assert.rejects(createVtape(file, { capacity: 1 << 20 }), { code: 'EEXIST' });
});
