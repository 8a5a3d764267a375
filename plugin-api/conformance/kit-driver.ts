/**
 * Drives an agent through one backup or one restore in the documented order,
 * every call through the HookRunner, and notes each contract violation it
 * sees (bad entries, chunk shapes, reused chunk buffers, nextFile not staying
 * null after the end, non-JSON state).
 */
import { createHash } from 'node:crypto';
import { HookRunner } from '../hook-runner.js';
import { CairnError } from '../errors.js';
import type { HookName } from '../hooks.js';
import type { Agent, AgentModule, AgentState, BackupJob, BaseJob, FileEntry, FileKind, JobStatus, Level, RestoreJob } from '../types.js';
import type { ApiVersion } from '../version.js';
import type { PlatformFileServices } from '../platform.js';
import { displayPath } from '../paths.js';
import { kitContext, type BackedUpFile, type KitMessage, type Spool } from './mock-host.js';

export interface DriveEnv {
  readonly mod: AgentModule;
  readonly api: ApiVersion;
  readonly platform: PlatformFileServices;
  readonly spool: Spool;
  readonly timeouts?: Partial<Record<HookName, number>>;
  /** Every error that came out of the runner, for the error-wrapping check. */
  readonly errors: unknown[];
  /** Programs the kit's command service runs (ConformanceOptions.commands). */
  readonly commands?: readonly string[];
}

export interface BackupRun {
  files: BackedUpFile[];
  state: AgentState;
  violations: string[];
  messages: KitMessage[];
  agent: Agent;
  runner: HookRunner;
}

/** Malformed entries tolerated before the kit stops a backup (an agent that never returns null would loop forever). */
const MAX_VIOLATIONS = 100;

const KINDS: ReadonlySet<FileKind> = new Set(['file', 'dir', 'symlink', 'hardlink', 'fifo', 'chardev', 'blockdev', 'socket', 'deleted']);

export function entryProblem(e: unknown): string | null {
  const x = e as FileEntry;
  if (!x || typeof x !== 'object') return 'nextFile returned something that is not an entry';
  if (!(x.path instanceof Uint8Array) || x.path.length === 0) return 'entry.path must be a non-empty Uint8Array';
  if (!KINDS.has(x.kind)) return `entry.kind "${String(x.kind)}" is not a FileKind`;
  const s = x.stat;
  if (!s || typeof s.mode !== 'number' || typeof s.size !== 'number' || typeof s.mtimeNs !== 'bigint' || typeof s.ino !== 'bigint') return `entry ${displayPath(x.path)} has a malformed stat`;
  if (!Array.isArray(x.streams)) return `entry ${displayPath(x.path)} has no streams array`;
  for (let i = 0; i < x.streams.length; i++) {
    const st = x.streams[i];
    if (st.index !== i) return `entry ${displayPath(x.path)}: streams[${i}].index is ${st.index}`;
    if (st.layout !== 'sequential' && st.layout !== 'sparse') return `entry ${displayPath(x.path)}: stream layout "${String(st.layout)}"`;
  }
  if (x.kind === 'symlink' && !(x.linkTarget instanceof Uint8Array)) return `symlink ${displayPath(x.path)} has no linkTarget bytes`;
  if (x.kind === 'hardlink' && !(x.hardlinkTarget instanceof Uint8Array)) return `hard link ${displayPath(x.path)} has no hardlinkTarget`;
  if ((x.kind === 'deleted' || x.kind === 'dir') && x.streams.length > 0) return `${x.kind} entry ${displayPath(x.path)} has streams`;
  return null;
}

function sha1(b: Uint8Array): string {
  return createHash('sha1').update(b).digest('hex');
}

export interface BackupSpec {
  readonly jobId: number;
  readonly level: Level;
  readonly base?: BaseJob;
  readonly state: AgentState;
  readonly options: Record<string, unknown>;
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  /** Outcome the kit reports to jobEnded (a job the kit pretends failed gets 'error'). */
  readonly outcome: JobStatus;
}

/** One backup job, in the documented order. Throws what the runner throws. */
export async function driveBackup(env: DriveEnv, spec: BackupSpec): Promise<BackupRun> {
  const { mod } = env;
  const kc = kitContext(mod.manifest, env.api, env.platform, spec.include, env.commands);
  const runner = new HookRunner(mod.manifest.name, mod.manifest.version, { controller: kc.controller, timeouts: env.timeouts });
  const violations: string[] = [];
  const agent = await mod.createAgent(kc.ctx);
  const job: BackupJob = { jobId: spec.jobId, jobName: 'conformance', level: spec.level, base: spec.base, state: spec.state, options: spec.options, include: spec.include, exclude: spec.exclude };
  const files: BackedUpFile[] = [];
  try {
    await runner.call('prepareBackup', () => agent.prepareBackup(job));
    for (;;) {
      const entry = await runner.call('nextFile', () => agent.nextFile());
      if (entry === null) break;
      const bad = entryProblem(entry);
      if (bad) {
        violations.push(bad);
        if (violations.length >= MAX_VIOLATIONS) throw new CairnError('CAIRN_E_AGENT_FAILED', `agent ${mod.manifest.name}: ${MAX_VIOLATIONS} malformed entries, giving up: ${bad}`, { agent: mod.manifest.name, hook: 'nextFile' }, { cause: new Error(bad) });
        continue;
      }
      const streams = [];
      for (const desc of entry.streams) {
        const w = env.spool.stream(desc);
        let prev: { chunk: Uint8Array; sum: string } | null = null;
        for await (const chunk of runner.chunks('readData', () => agent.readData(entry, desc), { path: entry.path })) {
          if (prev && sha1(prev.chunk) !== prev.sum) violations.push(`${displayPath(entry.path)}: the agent changed a chunk after yielding it (buffers must not be reused)`);
          if (prev) kc.chunks.done(prev.chunk);
          const problem = await w.add(chunk);
          if (problem) violations.push(`${displayPath(entry.path)}: ${problem}`);
          const data = chunk instanceof Uint8Array ? chunk : chunk.data;
          prev = data instanceof Uint8Array ? { chunk: data, sum: sha1(data) } : null;
        }
        if (prev) kc.chunks.done(prev.chunk);
        streams.push(w.finish());
      }
      files.push({ entry: structuredClone(entry), streams });
    }
    for (let i = 0; i < 2; i++) {
      const again = await runner.call('nextFile', () => agent.nextFile());
      if (again !== null) violations.push('nextFile returned an entry after it had returned null');
    }
    const result = await runner.call('endBackup', () => agent.endBackup());
    let state: AgentState = null;
    try {
      const text = JSON.stringify(result?.state ?? null);
      state = JSON.parse(text) as AgentState;
      if (JSON.stringify(state) !== text) violations.push('endBackup state does not survive a JSON round trip');
    } catch (err) {
      violations.push(`endBackup state is not JSON (${(err as Error).message})`);
    }
    for (const d of result?.deletions ?? []) files.push({ entry: { path: d, kind: 'deleted', stat: { mode: 0, uid: 0, gid: 0, size: 0, mtimeNs: 0n, atimeNs: 0n, ctimeNs: 0n, dev: 0n, ino: 0n, nlink: 0, rdev: 0 }, streams: [] }, streams: [] });
    if (agent.jobEnded) await runner.call('jobEnded', () => agent.jobEnded!(spec.outcome));
    return { files, state, violations, messages: kc.messages, agent, runner };
  } catch (err) {
    env.errors.push(err);
    throw err;
  }
}

export interface RestoreRun {
  violations: string[];
  messages: KitMessage[];
}

const RESULTS = new Set(['extract', 'skip', 'created']);

/** One restore job of `files` (already merged, in tree order) under `where`. */
export async function driveRestore(env: DriveEnv, files: readonly BackedUpFile[], where: string, options: Record<string, unknown>): Promise<RestoreRun> {
  const { mod } = env;
  const kc = kitContext(mod.manifest, env.api, env.platform, [], env.commands);
  const runner = new HookRunner(mod.manifest.name, mod.manifest.version, { controller: kc.controller, timeouts: env.timeouts });
  const violations: string[] = [];
  const agent = await mod.createAgent(kc.ctx);
  const job: RestoreJob = { jobId: 1000, where, replace: 'always', options };
  try {
    await runner.call('prepareRestore', () => agent.prepareRestore(job));
    for (const f of files) {
      const entry = structuredClone(f.entry);
      const r = await runner.call('createFile', () => agent.createFile(entry), { path: entry.path });
      if (!RESULTS.has(r)) violations.push(`createFile returned "${String(r)}"`);
      if (r === 'skip') continue;
      if (r === 'extract') {
        for (const s of f.streams) {
          for (const c of s.chunks) {
            const chunk = await env.spool.read(c);
            await runner.call('writeData', () => agent.writeData(entry, s.desc, chunk), { path: entry.path });
          }
        }
      }
      await runner.call('endFile', () => agent.endFile(entry, true), { path: entry.path });
    }
    await runner.call('endRestore', () => agent.endRestore());
    return { violations, messages: kc.messages };
  } catch (err) {
    env.errors.push(err);
    throw err;
  }
}

export function describe(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err) return `${String((err as { code: unknown }).code)}: ${(err as unknown as Error).message}`;
  return err instanceof Error ? err.message : String(err);
}

