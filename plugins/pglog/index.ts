/**
 * plugins/pglog — Cairn's bundled PostgreSQL transaction-log agent
 * (Exchange-style): a Full is a streamed base backup plus the WAL that makes
 * it consistent, an Incremental the WAL archived since the last backup, a
 * Differential the WAL since the last Full; restores are log-type (plugin
 * API 1.3): base + WAL into a folder with the recovery settings written, to
 * the latest point or to a time. Reads WAL from a spool folder the cluster's
 * archive_command fills (docs/agents/pglog.md). Does not promise:
 * tablespaces beyond the default (refused), backing up a standby, or WAL
 * archived by anything else than that spool. Imports only plugin-api and pg.
 */
import type { Agent, AgentContext, AgentModule } from '../../plugin-api/index.js';
import { createPglogAgent } from './pglog-agent.js';
import { manifest } from './manifest.js';

export { manifest } from './manifest.js';
export { PGLOG_ERRORS, type PglogErrorCode } from './errors.js';

export function createAgent(ctx: AgentContext): Agent {
  return createPglogAgent(ctx);
}

const pglogAgentModule: AgentModule = { manifest, createAgent };
export default pglogAgentModule;
