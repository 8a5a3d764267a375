/**
 * plugins/pgsql — Cairn's bundled PostgreSQL agent (logical dumps).
 *
 * Owns: backing up each selected database of a cluster as a streamed
 * `pg_dump --format=custom` plus the cluster's globals (`pg_dumpall
 * --globals-only`), checking server and tool versions first; restoring into
 * a cluster (same or another, under new names, replace policy honoured) or
 * as dump files under a folder. Does not promise: incremental dumps (every
 * level is a full dump), database-level settings (ALTER DATABASE … SET,
 * database GRANTs and comment) when restoring into a cluster, or a
 * consistent snapshot across databases (each dump is consistent in itself).
 * Imports only plugin-api and the `pg` package. docs/agents/pgsql.md.
 */
import type { Agent, AgentContext, AgentModule } from '../../plugin-api/index.js';
import { createPgsqlAgent } from './pgsql-agent.js';
import { manifest } from './manifest.js';

export { manifest } from './manifest.js';
export { PGSQL_ERRORS, type PgsqlErrorCode } from './errors.js';

export function createAgent(ctx: AgentContext): Agent {
  return createPgsqlAgent(ctx);
}

const pgsqlAgentModule: AgentModule = { manifest, createAgent };
export default pgsqlAgentModule;
