/**
 * plugins/pipe — Cairn's bundled command agent.
 *
 * Owns: virtual files whose data a reader program writes to its stdout
 * (backup) and a writer program reads from its stdin (restore), several per
 * fileset line; exit statuses checked; every stderr line of both into the
 * job log. Programs run only through the host's command service
 * (ctx.commands, API 1.5): argv lists, no shell unless argv[0] is one, and
 * only what the host's own commands.allow lists. Imports only plugin-api.
 */
import type { Agent, AgentContext, AgentModule } from '../../plugin-api/index.js';
import { createPipeAgent } from './pipe-agent.js';
import { manifest } from './manifest.js';

export { manifest } from './manifest.js';
export { PIPE_ERRORS, type PipeErrorCode } from './errors.js';

export function createAgent(ctx: AgentContext): Agent {
  return createPipeAgent(ctx);
}

const pipeAgentModule: AgentModule = { manifest, createAgent };
export default pipeAgentModule;
