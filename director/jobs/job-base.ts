/**
 * A backup's level and base job (DESIGN §2 step 4), shared by a backup and
 * an estimate: an Incremental is based on the last successful job of any
 * level, a Differential on the last successful Full; with none, or when the
 * fileset changed since, the job runs as a Full and says why. The base's
 * agent states and tree reach the agents through `baseFor`.
 */
import type { AgentState, BaseJob, Level } from '../../plugin-api/index.js';
import type { AgentBase } from '../../core/index.js';
import type { Catalog, CatalogJob } from '../catalog/index.js';
import type { JobReport } from './job-report.js';

export interface LevelChoice {
  level: Level;
  levelUpgraded?: JobReport['levelUpgraded'];
  base: CatalogJob | null;
}

export async function chooseLevel(catalog: Catalog, o: { client: string; jobName: string; level: Level; filesetHash: string }): Promise<LevelChoice> {
  if (o.level === 'full') return { level: 'full', base: null };
  const base = await catalog.lastSuccessfulJob({ client: o.client, name: o.jobName, levels: o.level === 'incremental' ? ['full', 'incremental', 'differential'] : ['full'] });
  if (!base) return { level: 'full', base: null, levelUpgraded: { from: o.level, reason: `no successful ${o.level === 'differential' ? 'Full' : 'backup'} of job "${o.jobName}" to base it on` } };
  if (base.filesetHash !== o.filesetHash) return { level: 'full', base: null, levelUpgraded: { from: o.level, reason: `the fileset changed since job ${base.id}` } };
  return { level: o.level, base };
}

/** The agent state and base job of each agent line (by state key), from the base job and its restore chain. */
export async function baseProvider(catalog: Catalog, base: CatalogJob | null): Promise<(key: string) => Promise<AgentBase>> {
  if (!base) return async () => ({ state: null });
  const chainIds = (await catalog.restoreChain(base)).map((j) => j.id);
  return async (key) => {
    const state: AgentState = await catalog.agentState(base.id, key);
    const baseJob: BaseJob = {
      jobId: base.id,
      level: base.level as Level,
      startedAt: base.startedAt,
      files: async function* () {
        yield* catalog.baseTree(chainIds);
      },
    };
    return { base: baseJob, state };
  };
}
