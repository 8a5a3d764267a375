/**
 * Schema of cairn-sd.yaml, the Storage Daemon's configuration: the daemon,
 * the Directors that may command it, and its devices.
 */
import type { JsonSchema } from '../schema-validator.js';
import { heartbeatSeconds, mapping, maxConcurrentJobs, name, nonEmptyString, prop, ref, rootSchema, sharedDefs, tlsProp, metricsProp } from './common.js';

const device = mapping({
  name: name('device (the Director\'s storages[].device)'),
  type: prop('Type', 'file: volumes are files in a directory. vtape: an emulated tape drive over a vtape file, or with `slots` a vtape autochanger folder. tape: a real tape drive (no-rewind st device).', { enum: ['file', 'vtape', 'tape'], default: 'file' }),
  mediaType: prop('Media type', 'A label for what the device holds; volumes are mounted only on devices of their media type.', nonEmptyString),
  path: prop('Path', 'file: the directory holding the volume files. vtape: the vtape file, or with `slots` the changer folder. tape: the no-rewind drive, e.g. /dev/nst0. Relative paths are relative to this file\'s folder.', nonEmptyString),
  slots: prop('Slots (vtape)', 'The vtape path is an autochanger folder with this many slots (files slot-1 … slot-N; the drive\'s tape is drive0).', { type: 'integer', minimum: 1 }),
  capacity: prop('Capacity (vtape, bytes)', 'Blank vtapes of this capacity are created for empty slots (or a missing vtape file) when the device is first used.', { type: 'integer', minimum: 65536 }),
  changer: prop('Autochanger (tape)', 'The drive\'s tape library, driven with mtx.', mapping({
    device: prop('Changer device', 'The library\'s SCSI generic device, e.g. /dev/sg3.', nonEmptyString),
    drive: prop('Drive index', 'The drive\'s number in the library (mtx numbers drives from 0).', { type: 'integer', minimum: 0, default: 0 }),
    program: prop('mtx program', 'The mtx program to run (default: mtx on PATH).', nonEmptyString),
  }, ['device'])),
  filemarkBytes: prop('Bytes per tape file', 'Tape devices: a filemark ends a tape file once it holds this many bytes, so a restore spaces over files instead of reading them. Default 1 GiB.', { type: 'integer', minimum: 65536 }),
  maxMediaWaitSeconds: prop('Maximum media wait (seconds)', 'Tape devices: how long a job waits for its tape (its mount request is shown in `status storage`) before it fails. Default 1800.', { type: 'integer', minimum: 1 }),
  spool: prop('Data spooling', 'Append sessions write their data to this disk area first and despool it to the device in one run (one job at a time), so a slow client never stops the tape drive.', mapping({
    path: prop('Spool folder', 'Where the spool files go. Relative paths are relative to this file\'s folder.', nonEmptyString),
    maxJobBytes: prop('Spool per job (bytes)', 'A job despools whenever it has this much spooled (and at its end). Default 1 GiB.', { type: 'integer', minimum: 65536 }),
  }, ['path'])),
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
    metrics: metricsProp('this Storage Daemon'),
  }, ['name', 'workingDirectory'])),
  directors: prop('Directors', 'Directors that may command this Storage Daemon.', { type: 'array', minItems: 1, items: ref('peer') }),
  devices: prop('Devices', 'Where volumes are written.', { type: 'array', minItems: 1, items: device }),
}, ['sd', 'directors', 'devices']), { ...sharedDefs });
