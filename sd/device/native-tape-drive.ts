/**
 * NativeTapeDrive: a real tape drive (a no-rewind st device, /dev/nstN)
 * through the native addon, which runs the drive's syscalls on a thread of
 * its own. The TapeDrive rules (StDrive) over the addon's TapePort.
 */
import { openTapeDevice, type TapeOpenOptions } from '../../native/index.js';
import { StDrive } from './st-drive.js';

export class NativeTapeDrive extends StDrive {
  /**
   * Opens the drive. Fails with CAIRN_E_NATIVE_LOAD (addon not built),
   * CAIRN_E_TAPE_REWINDING_DEVICE (/dev/stN), _NOT_FOUND, _ACCESS, _BUSY,
   * _NO_MEDIUM, _WRITE_PROTECTED, _NOT_A_TAPE.
   */
  static async open(device: string, options: TapeOpenOptions = {}): Promise<NativeTapeDrive> {
    const port = await openTapeDevice(device, options);
    return new NativeTapeDrive('tape', port, options.readOnly === true);
  }
}
