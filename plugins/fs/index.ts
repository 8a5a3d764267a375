/**
 * plugins/fs — Cairn's bundled filesystem agent.
 *
 * Owns: walking include roots in tree order, incremental comparison against
 * the base tree, reading file data (sparse-aware), extended attributes and
 * POSIX ACLs (user.* always; security.*, trusted.* and ACLs as root), and
 * restoring files, directories, links, fifos and devices safely under a
 * target. Does not promise: restoring sockets, or atomicity against a
 * concurrent local attacker inside the restore target (see restore-target.ts).
 * Imports only plugin-api.
 */
import type { Agent, AgentContext, AgentModule } from '../../plugin-api/index.js';
import { createFsAgent } from './fs-agent.js';
import { manifest } from './manifest.js';

export { manifest } from './manifest.js';
export { FS_ERRORS, type FsErrorCode } from './errors.js';


export function createAgent(ctx: AgentContext): Agent {
  return createFsAgent(ctx);
}

const fsAgentModule: AgentModule = { manifest, createAgent };
export default fsAgentModule;
