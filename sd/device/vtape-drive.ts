/**
 * VtapeDrive: a tape drive emulated over a vtape file — a real device an
 * admin can use to try tape setups without a drive, and what the tests and
 * the SD's tape code run against. It is the st driver's behaviour
 * (vtape-st.ts) over the vtape format (vtape-format.ts), behind the same
 * TapeDrive rules as a real drive (StDrive). Every operation is
 * asynchronous file I/O; operations run one at a time, like a drive.
 */
import { tapeError } from '../../native/index.js';
import { StDrive } from './st-drive.js';
import { createVtapeFile, type VtapeCreateOptions, type VtapeHeader } from './vtape-format.js';
import { openVtapePort, type VtapeOpenOptions } from './vtape-st.js';

export type { VtapeCreateOptions, VtapeHeader } from './vtape-format.js';
export type { VtapeOpenOptions } from './vtape-st.js';

export class VtapeDrive extends StDrive {
  /**
   * Loads the vtape `file` into its emulated drive. The drive keeps its
   * position across close and reopen within this process (a no-rewind
   * device); the first open starts at BOT in variable-block mode. Fails
   * with CAIRN_E_TAPE_NOT_FOUND (no file), _FORMAT (not a vtape), _BUSY
   * (already open in this process), _WRITE_PROTECTED (a protected vtape
   * opened for writing).
   */
  static async open(file: string, options: VtapeOpenOptions = {}): Promise<VtapeDrive> {
    try {
      const port = await openVtapePort(file, options);
      return new VtapeDrive('vtape', port, options.readOnly === true);
    } catch (err) {
      throw tapeError(err, { device: file, op: 'open' });
    }
  }
}

/** Creates a blank vtape file (fails if it exists). */
export function createVtape(file: string, options: VtapeCreateOptions): Promise<VtapeHeader> {
  return createVtapeFile(file, options);
}
