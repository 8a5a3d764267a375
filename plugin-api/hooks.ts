/**
 * The typed table of hooks: each hook's kind beside it, so a hook without a
 * spec does not compile. The host's guarded runner reads timeouts from here;
 * docs/plugin-api.md has one section per hook (the anchor).
 */
import type { Agent } from './types.js';

export interface HookSpec {
  readonly required: boolean;
  readonly phase: 'backup' | 'restore' | 'any';
  /** How often the host calls it. */
  readonly calls: 'once' | 'per-file' | 'per-stream' | 'per-chunk';
  /** Default timeout in milliseconds for the hook to settle (per chunk for iterators). */
  readonly timeoutMs: number;
  readonly doc: string;
}

const MINUTE = 60_000;

export const HOOKS: Record<keyof Agent, HookSpec> = {
  prepareBackup: { required: true, phase: 'backup', calls: 'once', timeoutMs: 10 * MINUTE, doc: 'plugin-api.md#preparebackup' },
  nextFile: { required: true, phase: 'backup', calls: 'per-file', timeoutMs: 10 * MINUTE, doc: 'plugin-api.md#nextfile' },
  readData: { required: true, phase: 'backup', calls: 'per-chunk', timeoutMs: 10 * MINUTE, doc: 'plugin-api.md#readdata' },
  endBackup: { required: true, phase: 'backup', calls: 'once', timeoutMs: 10 * MINUTE, doc: 'plugin-api.md#endbackup' },
  jobEnded: { required: false, phase: 'backup', calls: 'once', timeoutMs: 10 * MINUTE, doc: 'plugin-api.md#jobended' },
  prepareRestore: { required: true, phase: 'restore', calls: 'once', timeoutMs: 10 * MINUTE, doc: 'plugin-api.md#preparerestore' },
  createFile: { required: true, phase: 'restore', calls: 'per-file', timeoutMs: 10 * MINUTE, doc: 'plugin-api.md#createfile' },
  writeData: { required: true, phase: 'restore', calls: 'per-chunk', timeoutMs: 10 * MINUTE, doc: 'plugin-api.md#writedata' },
  endFile: { required: true, phase: 'restore', calls: 'per-file', timeoutMs: 10 * MINUTE, doc: 'plugin-api.md#endfile' },
  endRestore: { required: true, phase: 'restore', calls: 'once', timeoutMs: 10 * MINUTE, doc: 'plugin-api.md#endrestore' },
  estimate: { required: false, phase: 'backup', calls: 'once', timeoutMs: 10 * MINUTE, doc: 'plugin-api.md#estimate' },
  checkFile: { required: false, phase: 'backup', calls: 'per-file', timeoutMs: 1 * MINUTE, doc: 'plugin-api.md#checkfile' },
};

export type HookName = keyof Agent;

export const REQUIRED_HOOKS = (Object.keys(HOOKS) as HookName[]).filter((h) => HOOKS[h].required);
