/**
 * SD_ERRORS: the Storage Daemon's error catalogue. Every CairnError thrown
 * by sd/ carries one of these codes; facts (volume, block, ticket, sizes) are
 * in the error's fields, never only in the message.
 */
import type { ErrorSpec } from '../plugin-api/index.js';

export const SD_ERRORS = {
  CAIRN_E_VOLUME_TRUNCATED: { exitCode: 3, retryable: false, summary: 'A volume ends before the blocks a read session expected (cut off or truncated); files past the cut are named.' },
  CAIRN_E_VOLUME_SHORT: { exitCode: 3, retryable: false, summary: 'The volume holds fewer bytes than the catalog counts as committed; it is refused and never appended to.' },
  CAIRN_E_VOLUME_NOT_FOUND: { exitCode: 3, retryable: false, summary: 'The volume named is not on the device.' },
  CAIRN_E_VOLUME_EXISTS: { exitCode: 3, retryable: false, summary: 'A new volume was to be created under a name the device already holds.' },
  CAIRN_E_VOLUME_NAME: { exitCode: 2, retryable: false, summary: 'The volume name is not allowed (letters, digits, . _ - only; no leading dot).' },
  CAIRN_E_VOLUME_LABEL: { exitCode: 3, retryable: false, summary: 'The volume label is missing, fails its checksum or does not name this volume.' },
  CAIRN_E_VOLUME_VERSION: { exitCode: 3, retryable: false, summary: 'The volume or block was written in a format version this SD cannot read.' },
  CAIRN_E_VOLUME_MISMATCH: { exitCode: 3, retryable: false, summary: 'The volume disagrees with the catalog (committed size not on a block boundary, or the committed end fails its check).' },
  CAIRN_E_VOLUME_BAD_BLOCK: { exitCode: 3, retryable: false, summary: 'A block failed its checksum or header check; readers skip it and resync at the next good block.' },
  CAIRN_E_VOLUME_SEQUENCE: { exitCode: 3, retryable: false, summary: 'Verify: a session\'s blocks do not follow one another (its block sequence has a gap: blocks missing or out of order).' },
  CAIRN_E_VOLUME_RECORD: { exitCode: 3, retryable: false, summary: 'Verify: a session\'s fragments do not chain into whole records, or its counts differ from its end label.' },
  CAIRN_E_VOLUME_BUSY: { exitCode: 3, retryable: true, summary: 'The volume is held exclusively by another operation.' },
  CAIRN_E_DEVICE_END_OF_MEDIUM: { exitCode: 3, retryable: false, summary: 'The device has no room left for another block.' },
  CAIRN_E_DEVICE_IO: { exitCode: 3, retryable: true, summary: 'The device failed a read, write or sync.' },
  CAIRN_E_DEVICE_TYPE: { exitCode: 2, retryable: false, summary: 'The device configuration names an unknown device type.' },
  CAIRN_E_DEVICE_NOT_FOUND: { exitCode: 2, retryable: false, summary: 'A session names a device the Storage Daemon does not have (the Director\'s storages[].device vs the SD\'s devices[].name).' },
  CAIRN_E_MEDIA_NOT_AVAILABLE: { exitCode: 3, retryable: true, summary: 'The tape wanted (a named volume, or a blank tape to label) is neither in the drive nor in the changer\'s slots.' },
  CAIRN_E_MEDIA_WAIT_TIMEOUT: { exitCode: 3, retryable: true, summary: 'A job waited for a tape to be mounted (its mount request) for the device\'s maximum media wait, and none came.' },
  CAIRN_E_VOLUME_LABELLED: { exitCode: 3, retryable: false, summary: 'The tape already carries a label (or data that is not a Cairn volume) and is not recyclable; it is not overwritten.' },
  CAIRN_E_CHANGER_FAILED: { exitCode: 3, retryable: true, summary: 'The autochanger could not report its slots or move a cartridge (mtx failed, or the slot or drive is not as expected).' },
  CAIRN_E_SESSION_TICKET: { exitCode: 3, retryable: false, summary: 'The session ticket is unknown, or was issued for the other kind of session.' },
  CAIRN_E_SESSION_TICKET_USED: { exitCode: 3, retryable: false, summary: 'The ticket was already used (tickets are single-use and bound to the first connection using them).' },
  CAIRN_E_SESSION_NOT_FOUND: { exitCode: 3, retryable: false, summary: 'The command needs an open session on this connection and there is none.' },
  CAIRN_E_SESSION_ABORTED: { exitCode: 4, retryable: false, summary: 'The session was aborted (cancelled, client abort, lost connection or device failure).' },
  CAIRN_E_SESSION_STATE: { exitCode: 3, retryable: false, summary: 'The command is not allowed in the session\'s current state.' },
  CAIRN_E_PROTOCOL_FRAME: { exitCode: 3, retryable: false, summary: 'A malformed frame (bad length, too large, cut off).' },
  CAIRN_E_PROTOCOL_RECORD: { exitCode: 3, retryable: false, summary: 'A data frame holds a malformed or cut-off record.' },
  CAIRN_E_PROTOCOL_COMMAND: { exitCode: 3, retryable: false, summary: 'An unknown command or malformed arguments.' },
  CAIRN_E_PROTOCOL_REPLY: { exitCode: 3, retryable: false, summary: 'The peer sent a reply the protocol does not allow here.' },
  CAIRN_E_PROTOCOL_CLOSED: { exitCode: 3, retryable: true, summary: 'The peer closed the connection.' },
  CAIRN_E_PROTOCOL_HEARTBEAT: { exitCode: 3, retryable: true, summary: 'Nothing arrived from the peer for twice the heartbeat interval: it is considered gone and the connection is closed.' },
  CAIRN_E_SD_NO_DIRECTOR: { exitCode: 3, retryable: true, summary: 'The SD needed its Director\'s catalog (to pick, label or update a volume) and no Director is connected.' },
  CAIRN_E_MANIFEST_MISSING: { exitCode: 3, retryable: false, summary: "Keyless verify: an encrypted job's signed manifest, or records it lists, are not on the volumes read (truncated, lost or removed); the files they belong to are named." },
  CAIRN_E_SD_INTERNAL: { exitCode: 70, retryable: false, summary: 'An unexpected failure inside the SD (a bug); the cause is attached.' },
  CAIRN_E_SD_STATE: { exitCode: 2, retryable: false, summary: "A state file in the SD's working directory (volume updates kept for the Director) cannot be read; the message names it." },
} as const satisfies Record<string, ErrorSpec>;

export type SdErrorCode = keyof typeof SD_ERRORS;
