/**
 * One agent line's agent for a backup or an estimate: its options laid and
 * checked (secrets resolved; prepareAgentOptions), its context (logger,
 * signal, platform, chunk buffers, command service, message sink) and the
 * agent itself, created under the guarded runner — in this process or in a
 * child process of its own (createAgentGuarded). Backup and estimate sessions
 * differ in what they then do with it, not in how it is made.
 */
import type { Logger } from 'pino';
import { HookRunner, type Agent, type PlatformFileServices } from '../plugin-api/index.js';
import { makeAgentContext, type JobMessage } from './agent-context.js';
import { prepareAgentOptions, type AgentOptionOverrides } from './agent-options.js';
import { createAgentGuarded } from './agent-process.js';
import type { BackupLine } from './backup-session.js';
import type { ChunkBuffers } from './chunk-buffers.js';
import { hookTimeouts } from './hook-timeouts.js';

export interface LineAgentArgs {
  jobId: number;
  logger: Logger;
  platform: PlatformFileServices;
  controller: AbortController;
  chunks: ChunkBuffers;
  /** Per-job option overrides by agent name, over the line's options. */
  overrides?: AgentOptionOverrides;
  /** Programs agents may run through ctx.commands. */
  allowCommands?: readonly string[];
  /** Where the agent's job messages go. */
  onMessage(m: JobMessage): void;
}

export interface LineAgent {
  runner: HookRunner;
  agent: Agent;
  /** What the agent gets. */
  options: Record<string, unknown>;
  /** What may be written down (references kept, write-only values redacted). */
  recorded: Record<string, unknown>;
}

export async function createLineAgent(bl: BackupLine, a: LineAgentArgs): Promise<LineAgent> {
  const man = bl.loaded.module.manifest;
  const runner = new HookRunner(man.name, man.version, { controller: a.controller, timeouts: hookTimeouts() });
  const { options, recorded } = prepareAgentOptions(bl.loaded.module, { ...bl.line.options, ...(a.overrides?.[man.name] ?? {}) });
  const ctx = makeAgentContext({
    manifest: man,
    api: bl.loaded.api,
    jobId: a.jobId,
    logger: a.logger,
    signal: a.controller.signal,
    platform: a.platform,
    include: bl.line.include,
    exclude: bl.line.exclude,
    chunks: a.chunks,
    allowCommands: a.allowCommands,
    sinks: { message: a.onMessage, bytes: () => undefined, file: () => undefined },
  });
  const agent = await createAgentGuarded(bl.loaded.module, ctx, runner, 'prepareBackup');
  return { runner, agent, options, recorded };
}
