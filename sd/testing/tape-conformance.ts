/**
 * The tape drive conformance suite: one set of node:test cases that every
 * TapeDrive must pass — VtapeDrive, NativeTapeDrive over the LD_PRELOAD shim
 * (test/support/tape-shim/), and a real drive when CAIRN_TEST_TAPE names one.
 * The cases state st's behaviour (docs/tape.md): block sizes kept, 0-byte
 * read at a filemark, two 0-byte reads then END_OF_DATA at end of data,
 * positioning and its stops, eom then append, early warning then hard end of
 * medium, status bits, a write in the middle cutting off what followed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test, type TestContext } from 'node:test';
import { endOfMediumPhase, type TapeDrive } from '../device/tape-drive.js';

export interface TapeOptions {
  /** Record bytes the tape holds; emulated tapes only. */
  readonly capacity?: number;
  readonly earlyWarning?: number;
  readonly maxBlock?: number;
  readonly writeProtected?: boolean;
}

export interface TapeHarness {
  /** True when capacity, early warning, block limits and write protection can be chosen (vtape, shim). */
  readonly emulated: boolean;
  /** A tape for one test; `open` loads it into a drive (the same drive each time). */
  tape(t: TestContext, options?: TapeOptions): Promise<{ open(opts?: { readOnly?: boolean }): Promise<TapeDrive> }>;
}

/** Deterministic block content: `len` bytes for `seed`. */
export function blockOf(seed: number, len: number): Buffer {
  const out = Buffer.alloc(len);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return String((err as { code?: unknown }).code);
  }
  return 'no error';
}

function digest(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex').slice(0, 16);
}

async function readExpect(d: TapeDrive, expected: Buffer | 0, bufSize = 256 * 1024): Promise<void> {
  const buf = Buffer.alloc(bufSize);
  const n = await d.readBlock(buf);
  if (expected === 0) {
    assert.equal(n, 0, 'a 0-byte read (filemark or end of data)');
    return;
  }
  assert.equal(n, expected.length, 'the block keeps its size');
  assert.equal(digest(buf.subarray(0, n)), digest(expected), 'the block reads back byte-exact');
}

/** Registers the suite under `label`. */
export function tapeConformance(label: string, h: TapeHarness): void {
  describe(`tape conformance: ${label}`, () => {
    test('blocks of various sizes keep their sizes; a filemark reads as 0 bytes and is passed', async (t) => {
      const d = await (await h.tape(t)).open();
      try {
        const sizes = [1, 512, 1000, 65536, 4097, 262144];
        await d.rewind();
        for (const [i, n] of sizes.entries()) await d.writeBlock(blockOf(i, n));
        await d.writeFilemarks(1);
        await d.writeBlock(blockOf(100, 777));
        await d.writeFilemarks(1);
        let s = await d.status();
        assert.equal(s.fileNo, 2);
        assert.equal(s.blockNo, 0);
        await d.rewind();
        s = await d.status();
        assert.deepEqual([s.bot, s.eof, s.fileNo, s.blockNo, s.online], [true, false, 0, 0, true]);
        for (const [i, n] of sizes.entries()) await readExpect(d, blockOf(i, n));
        s = await d.status();
        assert.deepEqual([s.fileNo, s.blockNo], [0, sizes.length]);
        await readExpect(d, 0);
        s = await d.status();
        assert.deepEqual([s.fileNo, s.blockNo, s.eof, s.bot], [1, 0, true, false], 'past the filemark: file 1, block 0, EOF');
        await readExpect(d, blockOf(100, 777));
        await readExpect(d, 0);
        await readExpect(d, 0); // end of data right after a filemark: a second 0-byte read
        assert.equal(await code(d.readBlock(Buffer.alloc(1024))), 'CAIRN_E_TAPE_END_OF_DATA');
        s = await d.status();
        assert.equal(s.eod, true);
      } finally {
        await d.close();
      }
    });

    test('a block longer than the read buffer fails with BLOCK_SIZE and is skipped (st ENOMEM)', async (t) => {
      const d = await (await h.tape(t)).open();
      try {
        await d.rewind();
        await d.writeBlock(blockOf(1, 4096));
        await d.writeBlock(blockOf(2, 100));
        await d.rewind();
        assert.equal(await code(d.readBlock(Buffer.alloc(1024))), 'CAIRN_E_TAPE_BLOCK_SIZE');
        await readExpect(d, blockOf(2, 100));
      } finally {
        await d.close();
      }
    });

    test('fsf/bsf/fsr/bsr position as st does, and report filemark, BOT and end of data', async (t) => {
      const d = await (await h.tape(t)).open();
      try {
        await d.rewind();
        for (let f = 0; f < 3; f++) {
          for (let b = 0; b < 4; b++) await d.writeBlock(blockOf(f * 10 + b, 1000 + f * 10 + b));
          await d.writeFilemarks(1);
        }
        await d.rewind();
        await d.fsf(2);
        let s = await d.status();
        assert.deepEqual([s.fileNo, s.blockNo], [2, 0]);
        await readExpect(d, blockOf(20, 1020));
        await d.fsr(2);
        await readExpect(d, blockOf(23, 1023));
        await d.bsr(2);
        await readExpect(d, blockOf(22, 1022));
        // bsf 1 from inside file 2: just before the filemark ending file 1; fsf 1 then starts file 2 again
        await d.bsf(1);
        s = await d.status();
        assert.deepEqual([s.fileNo, s.blockNo], [1, -1]);
        await d.bsr(1);
        await readExpect(d, blockOf(13, 1013));
        await d.fsf(1);
        await readExpect(d, blockOf(20, 1020));
        // fsr over a filemark stops past it
        await d.rewind();
        assert.equal(await code(d.fsr(6)), 'CAIRN_E_TAPE_FILEMARK');
        s = await d.status();
        assert.deepEqual([s.fileNo, s.blockNo], [1, 0]);
        await readExpect(d, blockOf(10, 1010));
        // bsr over a filemark stops before it
        assert.equal(await code(d.bsr(3)), 'CAIRN_E_TAPE_FILEMARK');
        s = await d.status();
        assert.deepEqual([s.fileNo, s.blockNo], [0, -1]);
        await readExpect(d, 0);
        await readExpect(d, blockOf(10, 1010));
        // BOT stops backward spacing
        await d.rewind();
        await d.fsr(2);
        assert.equal(await code(d.bsr(5)), 'CAIRN_E_TAPE_BEGINNING_OF_MEDIUM');
        s = await d.status();
        assert.equal(s.bot, true);
        await readExpect(d, blockOf(0, 1000));
        await d.fsf(1);
        assert.equal(await code(d.bsf(3)), 'CAIRN_E_TAPE_BEGINNING_OF_MEDIUM');
        s = await d.status();
        assert.deepEqual([s.fileNo, s.blockNo, s.bot], [0, 0, true]);
        // forward into end of data
        await d.rewind();
        assert.equal(await code(d.fsf(4)), 'CAIRN_E_TAPE_END_OF_DATA');
        s = await d.status();
        assert.deepEqual([s.fileNo, s.eod], [3, true]);
        await d.rewind();
        await d.fsf(2);
        assert.equal(await code(d.fsr(9)), 'CAIRN_E_TAPE_FILEMARK');
        assert.equal(await code(d.fsr(1)), 'CAIRN_E_TAPE_END_OF_DATA');
      } finally {
        await d.close();
      }
    });

    test('eom goes to end of data; writing there appends', async (t) => {
      const d = await (await h.tape(t)).open();
      try {
        await d.rewind();
        await d.writeBlock(blockOf(1, 5000));
        await d.writeFilemarks(1);
        await d.writeBlock(blockOf(2, 6000));
        await d.writeFilemarks(1);
        await d.rewind();
        await d.eom();
        let s = await d.status();
        assert.deepEqual([s.fileNo, s.blockNo, s.eod], [2, -1, true]);
        await d.writeBlock(blockOf(3, 7000));
        await d.writeFilemarks(1);
        s = await d.status();
        assert.deepEqual([s.fileNo, s.blockNo], [3, 0]);
        await d.rewind();
        await d.fsf(2);
        await readExpect(d, blockOf(3, 7000));
        await readExpect(d, 0);
        await d.rewind();
        await readExpect(d, blockOf(1, 5000));
      } finally {
        await d.close();
      }
    });

    test('a write in the middle cuts off everything after it', async (t) => {
      const d = await (await h.tape(t)).open();
      try {
        await d.rewind();
        for (let b = 0; b < 3; b++) await d.writeBlock(blockOf(b, 3000));
        await d.writeFilemarks(1);
        await d.writeBlock(blockOf(9, 3000));
        await d.writeFilemarks(1);
        await d.rewind();
        await d.fsr(1);
        await d.writeBlock(blockOf(50, 1234));
        await d.rewind(); // st writes a filemark first: the last operation was a write
        await readExpect(d, blockOf(0, 3000));
        await readExpect(d, blockOf(50, 1234));
        await readExpect(d, 0);
        await readExpect(d, 0);
        assert.equal(await code(d.readBlock(Buffer.alloc(4096))), 'CAIRN_E_TAPE_END_OF_DATA');
        await d.rewind();
        await d.eom();
        const s = await d.status();
        assert.equal(s.fileNo, 1, 'only the automatic filemark is left');
      } finally {
        await d.close();
      }
    });

    test('close after writing writes a filemark and leaves the tape there (no-rewind)', async (t) => {
      const tape = await h.tape(t);
      let d = await tape.open();
      await d.rewind();
      await d.writeBlock(blockOf(7, 2222));
      await d.close();
      d = await tape.open();
      try {
        let s = await d.status();
        assert.deepEqual([s.fileNo, s.blockNo], [1, 0]);
        await d.rewind();
        await readExpect(d, blockOf(7, 2222));
        await readExpect(d, 0);
        s = await d.status();
        assert.equal(s.fileNo, 1);
      } finally {
        await d.close();
      }
    });

    test('operations issued together run one at a time in call order', async (t) => {
      const d = await (await h.tape(t)).open();
      try {
        const buf1 = Buffer.alloc(8192);
        const buf2 = Buffer.alloc(8192);
        const all = await Promise.all([
          d.rewind(),
          d.writeBlock(blockOf(1, 100)),
          d.writeBlock(blockOf(2, 200)),
          d.writeFilemarks(1),
          d.rewind(),
          d.readBlock(buf1),
          d.readBlock(buf2),
          d.status(),
        ]);
        assert.equal(all[5], 100);
        assert.equal(all[6], 200);
        assert.equal(digest(buf2.subarray(0, 200)), digest(blockOf(2, 200)));
        assert.deepEqual([all[7].fileNo, all[7].blockNo], [0, 2]);
      } finally {
        await d.close();
      }
    });

    test('fixed-block mode: whole multiples of the block size; MTSETBLK 0 returns to variable', async (t) => {
      const d = await (await h.tape(t)).open();
      try {
        await d.rewind();
        await d.setBlockSize(1024);
        assert.equal((await d.status()).blockSize, 1024);
        assert.equal(await code(d.writeBlock(blockOf(1, 1000))), 'CAIRN_E_TAPE_BLOCK_SIZE');
        await d.writeBlock(blockOf(1, 4096)); // four blocks
        await d.writeFilemarks(1);
        await d.rewind();
        const buf = Buffer.alloc(2048);
        assert.equal(await d.readBlock(buf), 2048);
        assert.equal(digest(buf), digest(blockOf(1, 4096).subarray(0, 2048)));
        assert.equal((await d.status()).blockNo, 2);
        await d.setBlockSize(0);
        await readExpect(d, blockOf(1, 4096).subarray(2048, 3072));
      } finally {
        await d.close();
      }
    });

    test('fixed-block mode: a read of more blocks than the file has returns those, then 0 at the filemark', async (t) => {
      const d = await (await h.tape(t)).open();
      try {
        await d.rewind();
        await d.setBlockSize(512);
        await d.writeBlock(blockOf(3, 1024)); // two blocks
        await d.writeFilemarks(1);
        await d.writeBlock(blockOf(4, 512));
        await d.writeFilemarks(1);
        await d.rewind();
        const buf = Buffer.alloc(2048);
        assert.equal(await d.readBlock(buf), 1024);
        assert.equal(digest(buf.subarray(0, 1024)), digest(blockOf(3, 1024)));
        assert.equal(await d.readBlock(buf), 0);
        const s = await d.status();
        assert.deepEqual([s.fileNo, s.blockNo], [1, 0]);
        assert.equal(await d.readBlock(buf), 512);
        await d.setBlockSize(0);
      } finally {
        await d.close();
      }
    });

    test('write protection: a read-only open refuses writes', async (t) => {
      const tape = await h.tape(t);
      const d = await tape.open({ readOnly: true });
      try {
        assert.equal(d.readOnly, true);
        assert.equal(await code(d.writeBlock(blockOf(1, 100))), 'CAIRN_E_TAPE_WRITE_PROTECTED');
        assert.equal(await code(d.writeFilemarks(1)), 'CAIRN_E_TAPE_WRITE_PROTECTED');
      } finally {
        await d.close();
      }
    });

    test('a closed drive refuses operations with CAIRN_E_TAPE_CLOSED', async (t) => {
      const d = await (await h.tape(t)).open();
      await d.close();
      assert.equal(await code(d.rewind()), 'CAIRN_E_TAPE_CLOSED');
    });

    if (!h.emulated) return;

    test('emulated: offline unloads: NO_MEDIUM until load, which puts the tape at BOT', async (t) => {
      const d = await (await h.tape(t)).open();
      try {
        await d.rewind();
        await d.writeBlock(blockOf(1, 100));
        await d.offline();
        let s = await d.status();
        assert.deepEqual([s.online, s.doorOpen], [false, true]);
        assert.equal(await code(d.readBlock(Buffer.alloc(100))), 'CAIRN_E_TAPE_NO_MEDIUM');
        await d.load();
        s = await d.status();
        assert.deepEqual([s.online, s.bot], [true, true]);
        await readExpect(d, blockOf(1, 100)); // offline after a write wrote a filemark first
        await readExpect(d, 0);
      } finally {
        await d.close();
      }
    });

    test('emulated: a write-protected tape is refused for writing at open', async (t) => {
      const tape = await h.tape(t, { writeProtected: true });
      assert.equal(await code(tape.open()), 'CAIRN_E_TAPE_WRITE_PROTECTED');
      const d = await tape.open({ readOnly: true });
      try {
        assert.equal((await d.status()).writeProtected, true);
      } finally {
        await d.close();
      }
    });

    test('emulated: blocks outside the drive limits fail with BLOCK_SIZE', async (t) => {
      const d = await (await h.tape(t, { maxBlock: 65536 })).open();
      try {
        assert.equal(await code(d.writeBlock(blockOf(1, 65537))), 'CAIRN_E_TAPE_BLOCK_SIZE');
        await d.writeBlock(blockOf(1, 65536));
        assert.equal(await code(d.setBlockSize(131072)), 'CAIRN_E_TAPE_BLOCK_SIZE');
      } finally {
        await d.close();
      }
    });

    test('emulated: early warning (ENOSPC, block not written, next write allowed) then hard end of medium; nothing written is lost', async (t) => {
      const block = 4096;
      const record = block + 16;
      // 40 records fit; the early-warning zone is the last 10.
      const d = await (await h.tape(t, { capacity: 40 * record, earlyWarning: 10 * record })).open();
      try {
        await d.rewind();
        const written: number[] = [];
        const outcomes: string[] = [];
        for (let i = 0; i < 80 && !outcomes.includes('hard'); i++) {
          try {
            await d.writeBlock(blockOf(i, block));
            written.push(i);
            outcomes.push('ok');
          } catch (err) {
            const phase = endOfMediumPhase(err);
            assert.ok(phase !== undefined, `unexpected ${String((err as { code?: unknown }).code)}`);
            outcomes.push(phase);
          }
        }
        // The write that crosses the mark succeeds; then st refuses one write (ENOSPC) and lets the next through, alternately.
        const firstEw = outcomes.indexOf('early-warning');
        assert.equal(firstEw, 31, outcomes.join(','));
        assert.deepEqual(outcomes.slice(firstEw, firstEw + 4), ['early-warning', 'ok', 'early-warning', 'ok']);
        assert.equal(outcomes.at(-1), 'hard');
        assert.equal(written.length, 40, 'every record that fits was written');
        const s = await d.status();
        assert.equal(s.eot, true);
        await d.rewind();
        const buf = Buffer.alloc(block);
        for (const i of written) {
          assert.equal(await d.readBlock(buf), block);
          assert.equal(digest(buf), digest(blockOf(i, block)), `block ${i}`);
        }
      } finally {
        await d.close();
      }
    });

    test('emulated: past early warning a filemark can still be written', async (t) => {
      const block = 4096;
      const record = block + 16;
      const d = await (await h.tape(t, { capacity: 20 * record, earlyWarning: 5 * record })).open();
      try {
        await d.rewind();
        let refused = false;
        for (let i = 0; i < 30 && !refused; i++) {
          try {
            await d.writeBlock(blockOf(i, block));
          } catch (err) {
            assert.equal(endOfMediumPhase(err), 'early-warning');
            refused = true;
          }
        }
        assert.ok(refused);
        await d.writeFilemarks(1);
        const s = await d.status();
        assert.equal(s.blockNo, 0);
      } finally {
        await d.close();
      }
    });
  });
}
