/**
 * Builds the per-agent context: only the members plugin-api promises, never
 * host objects. The logger is stamped with agent and job; job messages and
 * progress go to the job's report through small sinks.
 */
import type { Logger } from 'pino';
import {
  GlobSet,
  createCommandService,
  displayPath,
  pathBytes,
  type AgentContext,
  type AgentManifest,
  type ApiVersion,
  type JobMessageLevel,
  type PlatformFileServices,
} from '../plugin-api/index.js';
import { HOST_NAME, HOST_VERSION } from './host-info.js';
import type { ChunkBuffers } from './chunk-buffers.js';

export interface JobMessage {
  level: JobMessageLevel;
  agent: string;
  text: string;
  path?: string;
  code?: string;
}

export interface ContextSinks {
  message(m: JobMessage): void;
  bytes(n: number): void;
  file(path: Uint8Array): void;
}

export function makeAgentContext(args: {
  manifest: AgentManifest;
  api: ApiVersion;
  jobId: number;
  logger: Logger;
  signal: AbortSignal;
  platform: PlatformFileServices;
  include: readonly string[];
  exclude: readonly string[];
  sinks: ContextSinks;
  /** Where chunkBuffer() memory comes from (API 1.2). */
  chunks: ChunkBuffers;
  /** Programs ctx.commands may run (API 1.5): the host's own commands.allow. */
  allowCommands?: readonly string[];
}): AgentContext {
  const { manifest, sinks } = args;
  const log = args.logger.child({ agent: manifest.name, jobId: args.jobId });
  const isIncluded = includeMatcher(args.include, args.exclude);
  const jobMessage = (level: JobMessageLevel, text: string, facts?: { path?: Uint8Array; code?: string }): void => {
    const path = facts?.path ? displayPath(facts.path) : undefined;
    sinks.message({ level, agent: manifest.name, text, path, code: facts?.code });
    log[level === 'warning' ? 'warn' : level]({ path, code: facts?.code }, text);
  };
  return Object.freeze({
    agent: Object.freeze({ name: manifest.name, version: manifest.version }),
    api: args.api,
    host: Object.freeze({ name: HOST_NAME, version: HOST_VERSION }),
    log: Object.freeze({
      debug: (msg: string, facts?: Record<string, unknown>) => log.debug(facts ?? {}, msg),
      info: (msg: string, facts?: Record<string, unknown>) => log.info(facts ?? {}, msg),
      warn: (msg: string, facts?: Record<string, unknown>) => log.warn(facts ?? {}, msg),
      error: (msg: string, facts?: Record<string, unknown>) => log.error(facts ?? {}, msg),
    }),
    jobMessage,
    progress: Object.freeze({ bytes: (n: number) => sinks.bytes(n), file: (p: Uint8Array) => sinks.file(p) }),
    signal: args.signal,
    isIncluded,
    platform: args.platform,
    chunkBuffer: (size: number) => args.chunks.take(size),
    commands: createCommandService({ allow: args.allowCommands ?? [], signal: args.signal, onStderr: (label, line) => jobMessage('info', `${label}: ${line}`) }),
  });
}

/** AgentContext.isIncluded for a fileset line: under an include root (any, when there are none) and not excluded. */
export function includeMatcher(include: readonly string[], exclude: readonly string[]): (path: Uint8Array | string) => boolean {
  const excluded = new GlobSet(exclude);
  const roots = include.map((r) => pathBytes(r.length > 1 ? r.replace(/\/+$/, '') : r));
  const underRoot = (p: Buffer) =>
    roots.length === 0 ||
    roots.some((r) => p.equals(r) || (p.length > r.length && p.subarray(0, r.length).equals(r) && (p[r.length] === 0x2f || r[r.length - 1] === 0x2f)));
  return (path) => {
    const p = pathBytes(path);
    return underRoot(p) && !excluded.matches(p);
  };
}
