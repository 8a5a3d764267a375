/**
 * Mounting a volume for append: check it against the catalog before a single
 * byte is appended. Reads the label, then looks only at what lies past the
 * catalog's committed end: a torn tail or uncommitted blocks there are
 * trimmed; a volume shorter than the committed end is refused
 * (CAIRN_E_VOLUME_SHORT) and never appended to.
 */
import { CairnError } from '../../plugin-api/index.js';
import type { VolumeInfo } from '../api.js';
import type { RandomAccessDevice, VolumeHandle } from '../device/device.js';
import type { SequentialDevice, TapeVolume } from '../device/sequential-device.js';
import { checkBlock } from '../volume/block.js';
import { readVolumeLabel } from '../volume/volume-scanner.js';
import type { VolumeLabel } from '../volume/labels.js';
import type { SdLogger } from './logger.js';

export interface MountedVolume {
  handle: VolumeHandle;
  label: VolumeLabel;
  /** Whole committed blocks, label included: where appending resumes. */
  blocks: number;
  /** What was trimmed past the committed end. */
  trimmedBytes: number;
}

export async function mountForAppend(device: RandomAccessDevice, info: VolumeInfo, log: SdLogger): Promise<MountedVolume> {
  const handle = await device.open(info.name, 'append');
  try {
    const label = await readVolumeLabel(handle);
    const bs = label.blockSize;
    const size = await handle.size();
    // The label block always counts as committed once it is readable.
    const committed = Math.max(info.committedBytes, bs);
    if (committed % bs !== 0) {
      throw new CairnError('CAIRN_E_VOLUME_MISMATCH', `Catalog says volume ${info.name} has ${committed} committed bytes, not a multiple of its ${bs}-byte block size.`, { volume: info.name, expectedBytes: committed, blockSize: bs });
    }
    if (size < committed) {
      throw new CairnError(
        'CAIRN_E_VOLUME_SHORT',
        `Volume ${info.name} holds ${size} bytes but the catalog counts ${committed} committed; refusing to append. Restore the volume file or mark it Error in the catalog.`,
        { volume: info.name, expectedBytes: committed, foundBytes: size },
      );
    }
    const blocks = committed / bs;
    if (blocks > 1) {
      const last = Buffer.allocUnsafe(bs);
      await handle.read(last, (blocks - 1) * bs);
      const c = checkBlock(last, bs);
      if (!c.ok || c.header.blockNumber !== blocks - 1) {
        throw new CairnError('CAIRN_E_VOLUME_MISMATCH', `Volume ${info.name}: the last committed block ${blocks - 1} fails its check (${c.ok ? 'wrong block number' : c.reason}); refusing to append.`, { volume: info.name, block: blocks - 1 });
      }
    }
    const trimmed = size - committed;
    if (trimmed > 0) {
      log.warn({ volume: info.name, committedBytes: committed, foundBytes: size, wholeBlocks: Math.floor(trimmed / bs), tornBytes: trimmed % bs }, 'trimming uncommitted tail of volume');
      await handle.truncate(committed);
      await handle.sync();
    }
    return { handle, label, blocks, trimmedBytes: trimmed };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

export interface MountedTape {
  handle: TapeVolume;
  label: VolumeLabel;
  /** Blocks on the tape, label included: where appending resumes (in a new tape file). */
  blocks: number;
}

/**
 * Mounting a tape for append (volume-format.md §7.1): the tape with the volume is loaded (waiting for it, with a
 * mount request, when it is nowhere to be found), spaced to end of data, and its last block's number read back.
 * Fewer blocks than the catalog's committed count: CAIRN_E_VOLUME_SHORT. More: blocks of sessions that never
 * closed — a tape cannot be cut there without losing nothing else, so they stay (readers skip them) and
 * appending resumes after them, in a new tape file.
 */
export async function mountTapeForAppend(device: SequentialDevice, info: VolumeInfo, log: SdLogger): Promise<MountedTape> {
  const handle = await device.open(info.name, 'append', { wait: true, pool: info.pool });
  try {
    const label = handle.label;
    const end = await handle.seekEnd();
    const committed = Math.max(info.committedBlocks, 1);
    if (end.blocks < committed) {
      throw new CairnError(
        'CAIRN_E_VOLUME_SHORT',
        `Tape volume ${info.name} holds ${end.blocks} blocks but the catalog counts ${committed} committed; refusing to append.`,
        { volume: info.name, expectedBytes: committed * label.blockSize, foundBytes: end.blocks * label.blockSize, expectedBlocks: committed, foundBlocks: end.blocks },
      );
    }
    if (end.blocks > committed) log.warn({ volume: info.name, committedBlocks: committed, foundBlocks: end.blocks }, 'tape holds uncommitted blocks past the committed end; appending after them');
    return { handle, label, blocks: end.blocks };
  } catch (err) {
    await handle.close();
    throw err;
  }
}
