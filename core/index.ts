/**
 * cairn/core — the File Daemon.
 *
 * Owns: the plugin host (finding, admitting and guarding agents), filesets,
 * the backup pipeline (agent data → digest → zstd on a worker pool → ordered
 * records to the SD, with back-pressure) and the restore/verify pipeline
 * (records → decode → check digests → agent), and the attributes record codec;
 * client-side encryption: keys and key files, data-key wraps, sealed
 * records, signed job manifests (docs/encryption.md).
 * Does not own: where records land (sd/), which jobs run or what the catalog
 * says (director/).
 */
export { FileDaemon, type FdSettings, type BackupOrder, type BackupOutcome, type EstimateOrder, type RestoreOrder, type RestoreOutcome, type SessionCrypto } from './file-daemon.js';
export type { EstimateResult, EstimateLine } from './estimate-session.js';
export { FdRunner, type FdPort, type FdBackupOrder, type FdRestoreOrder, type LiveVerifyOrder, type SdConnector } from './fd-runner.js';
export { checkLiveTree, MAX_LIVE_PROBLEMS, type ExpectedEntry, type LiveCheckResult, type LiveProblem } from './live-tree-check.js';
export { decodeTreePage, encodeTreePage } from './live-tree-wire.js';
export { FdService, type FdServiceOptions, type SdTarget, type WireBackupOrder, type WireRestoreOrder } from './fd-service.js';
export * as fdWire from './fd-wire.js';
export { runCommand, type CommandResult } from './command-runner.js';
export { loadAgent, admitModule, validateAgentOptions, type AgentPolicy, type LoadedAgent } from './agent-loader.js';
export { parseOptionArgs, mergeOverrides, prepareAgentOptions, REDACTED, type AgentOptionOverrides, type PreparedOptions } from './agent-options.js';
export { isolationFromMapping, isolationWithEnv, isolationFor, type IsolationMode, type IsolationSettings } from './agent-isolation.js';
export { isolatedAgentModule, isolatedManifest, closeAgent, AgentProcess, CHUNK_WINDOW_BYTES } from './agent-process.js';
export { parseFileset, filesetFromObject, filesetFingerprint, DEFAULT_FILESET_OPTIONS, type Fileset, type AgentLine, type FilesetOptions } from './fileset.js';
export { encodeAttributes, decodeAttributes, KINDS, type FileAttributes } from './attributes.js';
export type { JobMessage } from './agent-context.js';
export { decodePackIndex, encodePackIndex, packableStream, PACK_MEMBER_MAX_BYTES, type PackMember } from './pack.js';
export type { AgentBase, BackupCounters } from './backup-session.js';
export type { RestoreProblem } from './restore-session.js';
export { HOST_NAME, HOST_VERSION } from './host-info.js';
export { CORE_ERRORS } from './errors.js';
export { CIPHERS, DEFAULT_CIPHER, SealKind, seal, open as openSealed, sealAad, sealNonce, sealDigest, openDigest, type CipherName, type SealPlace } from './chunk-seal.js';
export {
  generateKey,
  keyFingerprint,
  publicKeyOf,
  writeOnlyKeyOf,
  canDecrypt,
  canSign,
  encodeKeyFile,
  writeKeyFile,
  readKeyFile,
  parseKeyFile,
  describeKey,
  keyFromDescription,
  type CairnKey,
  type KeyKind,
} from './key-file.js';
export {
  wrapDataKey,
  unwrapWith,
  unwrapJobKey,
  parseEncryptionHeader,
  encryptionOfLabel,
  encodeKeyring,
  writeKeyringFile,
  readKeyringFile,
  rewrapDataKeys,
  type KeyWrap,
  type EncryptionHeader,
  type Keyring,
  type RewrapJob,
} from './key-wrap.js';
export { ManifestBuilder, manifestRecords, parseManifest, verifyManifest, attributeDigests, type Manifest, type ManifestHead, type RecordDigest, type StreamDigestEntry } from './job-manifest.js';
export { RecordOpener, type OpenProblem, type Opened } from './record-opener.js';
export { JobSealer, type FdCrypto } from './job-sealer.js';
