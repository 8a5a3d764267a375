/**
 * Test support for the fs agent's tests (not used by the agent): a temp tree
 * builder, a context for direct hook calls, and a helper that drains one
 * backup into memory. Platform services default to the pure-Node ones (no
 * batched calls); tests pass the native ones to cover the batched mode.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCommandService, nodePlatformFileServices, type AgentContext, type PlatformFileServices, type BackupJob, type BaseFile, type FileEntry, type JobMessageLevel, type Level, type DataChunk } from '../../plugin-api/index.js';
import { createAgent } from './index.js';

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cairn-fs-${tag}-`));
}

export interface Message {
  level: JobMessageLevel;
  text: string;
  path?: string;
  code?: string;
}

export function testContext(platform: PlatformFileServices = nodePlatformFileServices(), api: AgentContext['api'] = { major: 1, minor: 0 }): { ctx: AgentContext; messages: Message[]; controller: AbortController } {
  const messages: Message[] = [];
  const controller = new AbortController();
  const noop = (): void => undefined;
  const ctx: AgentContext = {
    agent: { name: 'fs', version: '1.0.0' },
    api,
    host: { name: 'test', version: '0' },
    log: { debug: noop, info: noop, warn: noop, error: noop },
    jobMessage: (level, text, facts) => messages.push({ level, text, path: facts?.path ? Buffer.from(facts.path).toString() : undefined, code: facts?.code }),
    progress: { bytes: noop, file: noop },
    signal: controller.signal,
    isIncluded: () => true,
    platform,
    chunkBuffer: (size) => Buffer.allocUnsafe(size),
    commands: createCommandService({ allow: [], onStderr: noop }),
  };
  return { ctx, messages, controller };
}

export interface Backed {
  entry: FileEntry;
  data: Buffer[];
  chunks: DataChunk[][];
}

export interface BackupAllOptions {
  level?: Level;
  base?: BaseFile[];
  exclude?: string[];
  options?: Record<string, unknown>;
  state?: BackupJob['state'];
  platform?: PlatformFileServices;
  /** The negotiated API version the agent sees (default 1.0). */
  api?: AgentContext['api'];
}

export async function backupAll(include: string[], opts: BackupAllOptions = {}) {
  const { ctx, messages } = testContext(opts.platform, opts.api);
  const agent = createAgent(ctx);
  const base = opts.base;
  await agent.prepareBackup({
    jobId: 1,
    jobName: 't',
    level: opts.level ?? 'full',
    base: base ? { jobId: 0, level: 'full', startedAt: new Date(), files: async function* () { yield* base; } } : undefined,
    state: opts.state ?? null,
    // Hosts here (API 1.0, node:fs platform) cannot do xattrs and would say so once per job: off unless a test asks.
    options: { xattrs: false, ...opts.options },
    include,
    exclude: opts.exclude ?? [],
  });
  const out: Backed[] = [];
  for (;;) {
    const e = await agent.nextFile();
    if (!e) break;
    const data: Buffer[] = [];
    const chunks: DataChunk[][] = [];
    for (const s of e.streams) {
      const cs: DataChunk[] = [];
      for await (const c of agent.readData(e, s)) {
        cs.push(c);
        data.push(Buffer.from(c instanceof Uint8Array ? c : c.data));
      }
      chunks.push(cs);
    }
    out.push({ entry: e, data, chunks });
  }
  const end = await agent.endBackup();
  return { entries: out, state: end.state, messages };
}

export function toBase(entries: Backed[]): BaseFile[] {
  return entries.map(({ entry: e }) => ({ path: e.path, kind: e.kind, size: e.stat.size, mtimeNs: e.stat.mtimeNs, ctimeNs: e.stat.ctimeNs, ino: e.stat.ino, dev: e.stat.dev, mode: e.stat.mode }));
}

export const rel = (root: string, p: Uint8Array): string => path.relative(root, Buffer.from(p).toString()) || '.';

/** How a backup test runs the agent: the platform it gets and the options it adds. */
export interface IoMode {
  readonly name: string;
  readonly platform: PlatformFileServices;
  readonly options: Record<string, unknown>;
  /** Why the mode cannot run here (e.g. the native addon is not built), else false. */
  readonly skip: string | false;
}

/**
 * The three ways the agent does I/O: the platform's native batched calls
 * (`batch`, given by the caller), synchronous node:fs (`syncIo`, the default
 * without batch services) and asynchronous node:fs (`async`).
 */
export function ioModes(batchPlatform: PlatformFileServices): IoMode[] {
  const node = nodePlatformFileServices();
  return [
    { name: 'batch', platform: batchPlatform, options: {}, skip: batchPlatform.available.batch === true ? false : 'native batched services not available (addon not built?)' },
    { name: 'syncIo', platform: node, options: {}, skip: false },
    { name: 'async', platform: node, options: { syncIo: false }, skip: false },
  ];
}
