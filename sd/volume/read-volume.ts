/**
 * readVolume(): the standalone scanner for bls / verify / bscan. Opens one
 * volume file directly (no SD, no catalog) and yields its labels and
 * ReadItems in volume order.
 */
import path from 'node:path';
import { FileDevice } from '../device/file-device.js';
import { scanVolume, type ScanItem, type ScanOptions } from './volume-scanner.js';

export type { ScanItem, ScanOptions };

export async function* readVolume(volumePath: string, opts: ScanOptions = {}): AsyncGenerator<ScanItem> {
  const device = new FileDevice({ type: 'file', dir: path.dirname(volumePath) });
  const handle = await device.open(path.basename(volumePath), 'read');
  try {
    yield* scanVolume(handle, opts);
  } finally {
    await handle.close();
  }
}
