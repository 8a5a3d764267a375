/**
 * The device conformance suite: one set of node:test cases every device kind
 * in the registry must pass — file (random access), vtape (VtapeDrive in a
 * vtape changer) and tape (NativeTapeDrive through the addon, over the
 * LD_PRELOAD st shim in a child process, or a real drive). It checks the
 * rules of device.ts and sequential-device.ts through the same steps for
 * both kinds: a new volume's label and blocks read back after a reopen,
 * names listed and refused twice, appending after a reopen continues after
 * the last block, a positioned read returns the block asked for (a tape
 * spaces to it: only a block or two are read), end of medium is reported as
 * such and the block not written is not on the volume, and a tape drive
 * holds one volume at a time.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { isCairnError } from '../../plugin-api/index.js';
import { isEndOfMedium, isUnwrittenEndOfMedium, type Device, type VolumeHandle } from '../device/device.js';
import type { TapeVolume } from '../device/sequential-device.js';
import type { DeviceConfig } from '../device/registry.js';
import { checkBlock } from '../volume/block.js';
import { CONFORMANCE_BLOCK_SIZE, dataBlock, label0 } from './conformance-blocks.js';
import { fillVolumeUnderSizeLimit } from './fill-volume.js';

export { dataBlock };

export interface DeviceHarness {
  /** A fresh device for one test. Tape devices: a changer with `slots` blank tapes of `capacity` bytes. */
  device(t: TestContext, o: { blockSize: number; capacity: number; slots: number }): Promise<Device>;
  /** Random-access devices: the registry config of a device `device()` made, so a child process can open the same one. */
  spec?(d: Device): DeviceConfig;
}

const BS = CONFORMANCE_BLOCK_SIZE;

/** What the suite does with a volume, for either kind of device. */
interface Vol {
  append(blocks: Buffer[]): Promise<void>;
  close(): Promise<void>;
}

async function createVolume(d: Device, name: string): Promise<Vol & { handle: VolumeHandle | TapeVolume }> {
  if (d.access === 'random') {
    const h = await d.create(name);
    await h.writev([label0(name)], 0);
    await h.sync();
    let at = BS;
    return {
      handle: h,
      append: async (blocks) => {
        await h.writev(blocks, at);
        at += blocks.length * BS;
        await h.sync();
      },
      close: () => h.close(),
    };
  }
  const h = await d.create(name, label0(name));
  return {
    handle: h,
    append: async (blocks) => {
      for (const b of blocks) await h.writeBlock(b);
      await h.sync();
    },
    close: () => h.close(),
  };
}

async function openAppend(d: Device, name: string): Promise<Vol & { blocks: number }> {
  if (d.access === 'random') {
    const h = await d.open(name, 'append');
    let at = await h.size();
    return {
      blocks: at / BS,
      append: async (blocks) => {
        await h.writev(blocks, at);
        at += blocks.length * BS;
        await h.sync();
      },
      close: () => h.close(),
    };
  }
  const h = await d.open(name, 'append');
  const end = await h.seekEnd();
  return {
    blocks: end.blocks,
    append: async (blocks) => {
      for (const b of blocks) await h.writeBlock(b);
      await h.sync();
    },
    close: () => h.close(),
  };
}

/** Reads blocks `from`… (count of them, or to the end) of a volume: positioned, not from the start. */
async function readBlocks(d: Device, name: string, from: number, count: number, file = 1): Promise<Buffer[]> {
  const out: Buffer[] = [];
  if (d.access === 'random') {
    const h = await d.open(name, 'read');
    try {
      for (let i = 0; i < count; i++) {
        const b = Buffer.alloc(BS);
        if ((await h.read(b, (from + i) * BS)) < BS) break;
        out.push(b);
      }
    } finally {
      await h.close();
    }
    return out;
  }
  const h = await d.open(name, 'read');
  try {
    await h.seek(file, from);
    for (let i = 0; i < count; i++) {
      const b = Buffer.alloc(BS);
      const r = await h.readBlock(b);
      if (r === null) break;
      out.push(b.subarray(0, r.length));
    }
  } finally {
    await h.close();
  }
  return out;
}

const numberOf = (b: Buffer): number => {
  const c = checkBlock(b, b.length);
  assert.ok(c.ok, 'a whole, valid block');
  return c.header.blockNumber;
};

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (err) {
    return isCairnError(err) ? err.code : String(err);
  }
}

export function deviceConformance(label: string, h: DeviceHarness): void {
  describe(`device conformance: ${label}`, () => {
    test('a new volume: label and blocks are read back after a reopen, byte-exact and in order', async (t) => {
      const d = await h.device(t, { blockSize: BS, capacity: 8 << 20, slots: 2 });
      const v = await createVolume(d, 'Conf-0001');
      const blocks = [1, 2, 3, 4, 5].map((n) => dataBlock(n));
      await v.append(blocks);
      await v.close();
      const back = await readBlocks(d, 'Conf-0001', 1, 10);
      assert.equal(back.length, 5);
      back.forEach((b, i) => assert.ok(b.equals(blocks[i]), `block ${i + 1} byte-exact`));
      await d.close?.();
    });

    test('list() names the volumes; a name is created once; an unknown volume is not found', async (t) => {
      const d = await h.device(t, { blockSize: BS, capacity: 4 << 20, slots: 2 });
      const v = await createVolume(d, 'Conf-0002');
      await v.close();
      assert.ok((await d.list()).includes('Conf-0002'));
      const again = d.access === 'random' ? d.create('Conf-0002') : d.create('Conf-0002', label0('Conf-0002'));
      assert.equal(await codeOf(again), 'CAIRN_E_VOLUME_EXISTS');
      const missing = await codeOf(d.open('Nowhere-0001', 'read'));
      assert.ok(['CAIRN_E_VOLUME_NOT_FOUND', 'CAIRN_E_MEDIA_NOT_AVAILABLE'].includes(missing), missing);
      await d.close?.();
    });

    test('appending after a reopen continues after the last block (a tape: in a new tape file)', async (t) => {
      const d = await h.device(t, { blockSize: BS, capacity: 8 << 20, slots: 1 });
      const v = await createVolume(d, 'Conf-0003');
      await v.append([1, 2, 3].map((n) => dataBlock(n)));
      await v.close();
      const a = await openAppend(d, 'Conf-0003');
      assert.equal(a.blocks, 4, 'label + 3 blocks found');
      const more = [4, 5].map((n) => dataBlock(n));
      await a.append(more);
      await a.close();
      const back = await readBlocks(d, 'Conf-0003', 1, 10);
      assert.deepEqual(back.map(numberOf), [1, 2, 3, 4, 5]);
      assert.ok(back[3].equals(more[0]) && back[4].equals(more[1]));
      await d.close?.();
    });

    test('a positioned read returns the block asked for (a tape spaces to it with fsf/fsr)', async (t) => {
      const d = await h.device(t, { blockSize: BS, capacity: 8 << 20, slots: 1 });
      const v = await createVolume(d, 'Conf-0004');
      const blocks = Array.from({ length: 12 }, (_, i) => dataBlock(i + 1));
      await v.append(blocks.slice(0, 6));
      if (d.access === 'sequential') await (v.handle as TapeVolume).writeFilemark(); // blocks 7… in tape file 2
      await v.append(blocks.slice(6));
      await v.close();
      const before = d.access === 'sequential' ? d.mediaStatus().counters.blocksRead : 0;
      const got = await readBlocks(d, 'Conf-0004', 10, 1, 2);
      assert.equal(numberOf(got[0]), 10);
      assert.ok(got[0].equals(blocks[9]));
      if (d.access === 'sequential') {
        const read = d.mediaStatus().counters.blocksRead - before;
        assert.ok(read <= 2, `only the file's first block and the one wanted are read (read ${read})`);
      }
      await d.close?.();
    });

    test('end of medium is reported as end of medium, and the block refused is not on the volume', async (t) => {
      const d = await h.device(t, { blockSize: BS, capacity: 1 << 20, slots: 1 });
      if (d.access === 'random') {
        // A file device's medium ends where the file system refuses to grow the file. The same device folder is
        // written by a child process whose file size limit (RLIMIT_FSIZE) is the capacity: the kernel refuses the
        // block that would cross it (EFBIG), exactly as a full file system (ENOSPC) would.
        if (!h.spec) assert.fail('a random-access device harness must give spec() so the child can open the same device');
        const spec = h.spec(d);
        const r = await fillVolumeUnderSizeLimit(spec, 'Conf-0005', 1 << 20);
        assert.equal(r.code, 'CAIRN_E_DEVICE_END_OF_MEDIUM', `the refused write is end of medium (${JSON.stringify(r)})`);
        assert.equal(r.refusedAt, 16, 'label + 15 blocks fill 1 MiB; block 16 is refused');
        const back = await readBlocks(d, 'Conf-0005', 1, 200);
        assert.deepEqual(back.map(numberOf), Array.from({ length: r.refusedAt - 1 }, (_, i) => i + 1), 'every block before the refused one, and not it');
        return;
      }
      const v = await d.create('Conf-0005', label0('Conf-0005'));
      let n = 1;
      let err: unknown = null;
      for (; n < 100; n++) {
        try {
          await v.writeBlock(dataBlock(n));
        } catch (e) {
          err = e;
          break;
        }
      }
      assert.ok(isEndOfMedium(err) && isUnwrittenEndOfMedium(err), `end of medium, not written (got ${String(err)})`);
      assert.equal(await codeOf(v.writeBlock(dataBlock(n + 1))), 'CAIRN_E_DEVICE_END_OF_MEDIUM', 'a full tape takes nothing more');
      await v.close();
      const back = await readBlocks(d, 'Conf-0005', 1, 200);
      assert.deepEqual(back.map(numberOf), Array.from({ length: n - 1 }, (_, i) => i + 1), 'every block before the refused one, and not it');
      await d.close?.();
    });

    test('a tape drive holds one volume at a time (a file device opens several)', async (t) => {
      const d = await h.device(t, { blockSize: BS, capacity: 4 << 20, slots: 2 });
      const a = await createVolume(d, 'Conf-0006');
      if (d.access === 'random') {
        const b = await createVolume(d, 'Conf-0007');
        await b.close();
        await a.close();
        return;
      }
      assert.equal(await codeOf(d.open('Conf-0006', 'read')), 'CAIRN_E_VOLUME_BUSY');
      await a.close();
      const again = await d.open('Conf-0006', 'read');
      await again.close();
      await d.close?.();
    });
  });
}
