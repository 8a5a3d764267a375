/**
 * Schema of cairn-sd.yaml, the Storage Daemon's configuration: the daemon,
 * the Directors that may command it, and its devices.
 */
import type { JsonSchema } from '../schema-validator.js';
import { heartbeatSeconds, mapping, maxConcurrentJobs, name, nonEmptyString, prop, ref, rootSchema, sharedDefs, tlsProp } from './common.js';

const device = mapping({
  name: name('device (the Director\'s storages[].device)'),
  type: prop('Type', 'file: volumes are files in a directory.', { enum: ['file'], default: 'file' }),
  mediaType: prop('Media type', 'A label for what the device holds; volumes are mounted only on devices of their media type.', nonEmptyString),
  path: prop('Path', 'The directory holding the volume files. Relative paths are relative to this file\'s folder.', nonEmptyString),
  blockSize: prop('Block size (bytes)', 'Size of the blocks written; a multiple of 512. Default: the volume format\'s default.', { type: 'integer', minimum: 512, multipleOf: 512 }),
  maxVolumeBytes: prop('Maximum volume size (bytes)', 'A volume on this device is marked Full at this size.', { type: 'integer', minimum: 1 }),
  maxVolumeJobs: prop('Maximum jobs per volume', 'A volume on this device is marked Used after this many jobs.', { type: 'integer', minimum: 1 }),
  maxConcurrentJobs: prop('Maximum concurrent jobs', 'How many jobs write to this device at once. Default: sd.maxConcurrentJobs.', { type: 'integer', minimum: 1 }),
}, ['name', 'mediaType', 'path']);

export const sdSchema: JsonSchema = rootSchema('cairn-sd', 'Cairn Storage Daemon configuration (cairn-sd.yaml)', 'The Storage Daemon: who may command it and the devices it writes volumes to.', mapping({
  sd: prop('Storage Daemon', 'The Storage Daemon itself.', mapping({
    name: name('Storage Daemon'),
    listen: prop('Listen', 'Where Directors and File Daemons connect. Without it the Storage Daemon opens no TCP port and is reached only through `cairn-sd --stdio` (e.g. over ssh), which relays to its Unix socket cairn-sd.sock in the working directory.', ref('listen')),
    workingDirectory: prop('Working directory', 'Pid and lock files, spool. Relative paths are relative to this file\'s folder.', nonEmptyString),
    maxConcurrentJobs: maxConcurrentJobs(20, 'this Storage Daemon'),
    heartbeatSeconds,
    tls: tlsProp('connections to this Storage Daemon'),
  }, ['name', 'workingDirectory'])),
  directors: prop('Directors', 'Directors that may command this Storage Daemon.', { type: 'array', minItems: 1, items: ref('peer') }),
  devices: prop('Devices', 'Where volumes are written.', { type: 'array', minItems: 1, items: device }),
}, ['sd', 'directors', 'devices']), { ...sharedDefs });
