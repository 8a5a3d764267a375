/**
 * cairn/sd — the Storage Daemon core.
 *
 * Owns: the SD wire protocol (frames, control messages, data records,
 * notifications), append and read sessions addressed by single-use tickets,
 * the volume format v1 (labels, checksummed fixed-size blocks, fragments),
 * devices (the file device; the Device interface others implement), volume
 * selection, labelling, mount checks against the catalog and rollover, and
 * the standalone volume scanner for bls/verify/bscan.
 *
 * Tape: the TapeDrive interface (st semantics) with NativeTapeDrive (a real
 * drive through the native addon) and VtapeDrive (a file-backed emulated
 * drive); the sequential device (TapeDevice: labels, a filemark every N
 * bytes, spanning at end of medium, fsf/fsr positioning, changers over mtx
 * or a vtape folder, mount requests), data spooling, the drive reservation
 * and the media commands (docs/tape.md).
 *
 * Does not promise: transport or authentication (callers hand over a trusted
 * Duplex), any catalog storage (it asks a VolumeCatalogPort), or ordering of
 * notifications across different sessions.
 * It does promise, per session: every catalog-records notification reaches
 * the Director before session-closed, and session-closed and the reply to
 * `append close session` are sent only after the session's blocks are durable.
 * docs/protocol.md and docs/volume-format.md are the normative texts.
 */
export * from './api.js';
export { SD_ERRORS, type SdErrorCode } from './errors.js';
export * as SD_DEFAULTS from './defaults.js';
export { DEFAULT_BLOCK_SIZE, DEFAULT_MAX_VOLUME_BYTES, DEFAULT_MAX_VOLUME_JOBS, MAX_FRAME_BYTES } from './defaults.js';
export { StorageDaemon, type StorageDaemonOptions, type StorageDaemonStatus } from './protocol/storage-daemon.js';
export { SdDirectorClient, type SessionGrant } from './protocol/director-client.js';
export type { SdPeer } from './protocol/sd-connection.js';
export { ControlChannel, type ControlChannelOptions, type HandlerReply } from './wire/control-channel.js';
export { Status as ControlStatus, type Request as ControlRequest, type Reply as ControlReply } from './wire/control-message.js';
export { SdSessionClient } from './protocol/session-client.js';
export { duplexPair } from './wire/duplex-pair.js';
export { Status as SdStatus } from './wire/control-message.js';
export { Signal as SdSignal } from './wire/frame.js';
export { readVolume, type ScanItem, type ScanOptions } from './volume/read-volume.js';
export { verifySession, MAX_FILE_INDEX, type VolumeVerifyRequest, type VolumeVerifyResult, type VolumeVerifyFinding, type ManifestAnchor, type ManifestCheckSummary } from './volume/volume-verifier.js';
export { ScanState, ScanBuffers } from './volume/volume-scanner.js';
export type { VolumeLabel, SessionStartLabel, SessionEndLabel } from './volume/labels.js';
export { FORMAT_VERSION as VOLUME_FORMAT_VERSION, BlockKind } from './volume/block.js';
export type { Device, DeviceBase, RandomAccessDevice, VolumeHandle } from './device/device.js';
export { isEndOfMedium, isRetryable, isUnwrittenEndOfMedium } from './device/device.js';
export { DEVICE_TYPES, createDevice, type DeviceConfig, type TapeDeviceConfig, type ChangerConfig } from './device/registry.js';
export type { SequentialDevice, TapeVolume, TapeAddress, MediaStatus, MountRequest, SlotInfo } from './device/sequential-device.js';
export type { Changer, ChangerStatus } from './device/changer.js';
export { MtxChanger, parseMtxStatus } from './device/mtx-changer.js';
export { VtapeChanger } from './device/vtape-changer.js';
export { TapeDevice } from './device/tape-device.js';
export type { MediaCommands, LabelRequest } from './protocol/media-commands.js';
export type { FileDeviceConfig } from './device/file-device.js';
export { endOfMediumPhase, isTapeEndOfData, isTapeEndOfMedium, type TapeDrive, type TapeStatus } from './device/tape-drive.js';
export { NativeTapeDrive } from './device/native-tape-drive.js';
export { VtapeDrive, createVtape, type VtapeCreateOptions, type VtapeHeader, type VtapeOpenOptions } from './device/vtape-drive.js';
export type { SdLogger } from './session/logger.js';
export { CATALOGED_STREAMS } from './session/append-session.js';
export {
  parseManifest,
  verifyManifest,
  manifestPrehash,
  MANIFEST_MAGIC,
  RECORD_ENTRY_BYTES,
  STREAM_ENTRY_BYTES,
  SIGNATURE_BYTES,
  type Manifest,
  type ManifestHead,
  type RecordDigest,
  type StreamDigestEntry,
} from './volume/signed-manifest.js';
