/**
 * Truncating a purged volume for reuse (recycling): the label block is
 * rewritten (same name, its pool — or the pool it was moved to — and a new
 * label time, with `recycled` counting how often) and the file is cut to
 * that one block, then fsynced, so the space is returned to the file system
 * at once. The caller (StorageDaemon) has checked that no session uses it.
 * On a tape the label is rewritten at BOT followed by a filemark: writing
 * there ends the recorded data, so everything after it is gone as well.
 */
import type { Device } from '../device/device.js';
import { BlockKind } from '../volume/block.js';
import { labelBlock, volumeLabelObject, type VolumeLabel } from '../volume/labels.js';
import { readVolumeLabel } from '../volume/volume-scanner.js';

export interface TruncateResult {
  volume: string;
  bytesBefore: number;
  bytesAfter: number;
  blockSize: number;
  label: VolumeLabel;
}

export async function truncateVolume(device: Device, volume: string, opts: { pool?: string; now?: number } = {}): Promise<TruncateResult> {
  if (device.access === 'sequential') {
    const tape = await device.open(volume, 'read');
    const old = tape.label;
    await tape.close();
    const bs = old.blockSize;
    const recycled = typeof old.recycled === 'number' ? old.recycled + 1 : 1;
    const label = volumeLabelObject({ volumeName: volume, pool: opts.pool ?? old.pool, mediaType: old.mediaType, labelTime: opts.now ?? Date.now(), blockSize: bs, recycled });
    await device.relabel(volume, labelBlock(bs, BlockKind.VOLUME_LABEL, label, { blockNumber: 0, sessionId: 0, sessionSeq: 0 }));
    return { volume, bytesBefore: -1, bytesAfter: bs, blockSize: bs, label };
  }
  const handle = await device.open(volume, 'append');
  try {
    const old = await readVolumeLabel(handle);
    const bytesBefore = await handle.size();
    const bs = old.blockSize;
    const recycled = typeof old.recycled === 'number' ? old.recycled + 1 : 1;
    const label = volumeLabelObject({ volumeName: volume, pool: opts.pool ?? old.pool, mediaType: old.mediaType, labelTime: opts.now ?? Date.now(), blockSize: bs, recycled });
    // Cut first, then rewrite block 0: a crash in between leaves a volume whose old label still reads.
    await handle.truncate(bs);
    await handle.writev([labelBlock(bs, BlockKind.VOLUME_LABEL, label, { blockNumber: 0, sessionId: 0, sessionSeq: 0 })], 0);
    await handle.sync();
    return { volume, bytesBefore, bytesAfter: await handle.size(), blockSize: bs, label };
  } finally {
    await handle.close();
  }
}
