/**
 * cairn/plugin-api — the agent interface, v1.
 *
 * Owns: the types agent authors implement (manifest, factory, hooks), version
 * negotiation, stream-type numbers, CairnError, path helpers and the
 * conformance kit. Imports nothing else of Cairn. Does not promise anything
 * about how the host moves, compresses or stores bytes.
 */
export * from './types.js';
export * from './version.js';
export * from './errors.js';
export * from './stream-types.js';
export * from './hooks.js';
export * from './paths.js';
export type { PlatformFileServices, EntryStat, ScannedEntry, ScanOptions, XattrSelection, ReadFileRequest, ReadFileData, ReadFileFailure, ReadFileResult, WriteFileRequest, WriteFileResult } from './platform.js';
export * from './hook-runner.js';
export * from './glob.js';
export { createCommandService, type CommandServiceOptions } from './command-service.js';
export * from './conformance/index.js';
