/**
 * The device registry: the one explicit list of device types the SD knows.
 * A new device type is added here, nowhere else.
 */
import { CairnError } from '../../plugin-api/index.js';
import type { Device } from './device.js';
import { FileDevice, type FileDeviceConfig } from './file-device.js';

export type DeviceConfig = FileDeviceConfig;

export const DEVICE_TYPES: Record<string, (cfg: DeviceConfig) => Device> = {
  file: (cfg) => new FileDevice(cfg),
};

export function createDevice(cfg: DeviceConfig): Device {
  const make = DEVICE_TYPES[cfg.type];
  if (!make) {
    throw new CairnError('CAIRN_E_DEVICE_TYPE', `Unknown device type "${String(cfg.type)}"; known: ${Object.keys(DEVICE_TYPES).join(', ')}.`, { type: cfg.type, known: Object.keys(DEVICE_TYPES) });
  }
  return make(cfg);
}
