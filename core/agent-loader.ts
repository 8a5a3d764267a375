/**
 * Finds, loads and admits agent modules. Agents load at run time by dynamic
 * import: a bundled name (`fs`), a package name, or a path. Only what the
 * FD's own settings allow is loaded — the bundled agents, modules under a
 * configured plugin directory, and package names on the allow-list —
 * whatever a fileset asks for.
 */
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  API_VERSIONS,
  CairnError,
  negotiateVersion,
  parseRange,
  type AgentModule,
  type ApiVersion,
} from '../plugin-api/index.js';
import { HOST_NAME, HOST_VERSION } from './host-info.js';
import { isolationFor, type IsolationMode, type IsolationSettings } from './agent-isolation.js';
import { isolatedAgentModule, isolatedManifest } from './agent-process.js';

/** Agents that ship with Cairn, by name → module path relative to this file. */
const BUNDLED: Record<string, string> = {
  fs: '../plugins/fs/index.js',
  pgsql: '../plugins/pgsql/index.js',
  pglog: '../plugins/pglog/index.js',
  pipe: '../plugins/pipe/index.js',
};

export interface AgentPolicy {
  /** Directories agents may be loaded from by path or package name. */
  pluginDirs: string[];
  /** Package names allowed (looked up under pluginDirs); bundled agents are always allowed unless `allowBundled` is false. */
  allow: string[];
  allowBundled?: boolean;
  /** Which agents run in a process of their own (core/agent-isolation.ts); default: bundled in-process, others not. */
  isolation?: IsolationSettings;
}

export interface LoadedAgent {
  /** What the fileset said. */
  spec: string;
  module: AgentModule;
  api: ApiVersion;
  /** `name/formatMajor`, written in every file's attributes. */
  identity: string;
  /** Where its agents run. */
  isolation: IsolationMode;
}

const cache = new Map<string, LoadedAgent>();

export async function loadAgent(spec: string, policy: AgentPolicy): Promise<LoadedAgent> {
  const url = resolveAgent(spec, policy);
  const isolation = isolationFor(spec, Object.hasOwn(BUNDLED, spec), policy.isolation);
  const key = `${isolation}:${url}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let agentModule: AgentModule;
  if (isolation === 'process') {
    // The module is imported only in a child process: its code never runs in the FD.
    let manifest;
    try {
      // A bundled agent is Cairn's own code: its manifest is read here, saving a process start per job.
      manifest = Object.hasOwn(BUNDLED, spec) ? admitModule(spec, await import(url)).manifest : await isolatedManifest(url, spec);
    } catch (err) {
      const e = err as CairnError;
      if (e.code === 'CAIRN_E_AGENT_INVALID' || e.code === 'CAIRN_E_AGENT_API_MISMATCH') throw e;
      throw new CairnError('CAIRN_E_AGENT_INVALID', `agent "${spec}" could not be loaded in its own process: ${e.message}`, { agent: spec, url }, { cause: err });
    }
    const admitted = admitModule(spec, { manifest, createAgent: () => undefined });
    agentModule = isolatedAgentModule(url, spec, admitted.manifest);
  } else {
    let mod: unknown;
    try {
      mod = await import(url);
    } catch (err) {
      throw new CairnError('CAIRN_E_AGENT_INVALID', `agent "${spec}" could not be loaded: ${(err as Error).message}`, { agent: spec, url }, { cause: err });
    }
    agentModule = admitModule(spec, mod);
  }
  const api = negotiateVersion(
    { name: agentModule.manifest.name, version: agentModule.manifest.version, api: agentModule.manifest.api },
    { name: HOST_NAME, version: HOST_VERSION, supported: API_VERSIONS },
  );
  const loaded = { spec, module: agentModule, api, identity: `${agentModule.manifest.name}/${agentModule.manifest.formatMajor}`, isolation };
  cache.set(key, loaded);
  return loaded;
}

function resolveAgent(spec: string, policy: AgentPolicy): string {
  if (Object.hasOwn(BUNDLED, spec)) {
    if (policy.allowBundled === false) throw notAllowed(spec, 'bundled agents are disabled in this FD’s settings');
    return new URL(BUNDLED[spec], import.meta.url).href;
  }
  const dirs = policy.pluginDirs.filter((d) => existsSync(d)).map((d) => realpathSync(d));
  if (spec.startsWith('.') || isAbsolute(spec)) {
    const full = resolve(spec);
    if (!existsSync(full)) throw notFound(spec, `no file at ${full}`);
    const real = realpathSync(full);
    const inside = dirs.some((d) => {
      const rel = relative(d, real);
      return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
    });
    if (!inside) {
      throw notAllowed(spec, `${real} is not under a plugin directory of this FD (${dirs.join(', ') || 'none configured'})`);
    }
    return pathToFileURL(real).href;
  }
  if (!/^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/.test(spec)) throw notFound(spec, 'not a bundled agent, a path or a package name');
  let found: string | null = null;
  for (const d of dirs) {
    try {
      found = pathToFileURL(createRequire(join(d, sep)).resolve(spec)).href;
      break;
    } catch {
      // try the next plugin directory
    }
  }
  if (!found) {
    throw notFound(spec, `it is not a bundled agent (${Object.keys(BUNDLED).join(', ')}) and no package of that name is installed under ${dirs.join(', ') || 'a plugin directory'}`);
  }
  if (!policy.allow.includes(spec)) throw notAllowed(spec, `package "${spec}" is installed but not on this FD's agent allow-list`);
  return found;
}

function notFound(spec: string, why: string): CairnError {
  return new CairnError('CAIRN_E_AGENT_NOT_FOUND', `unknown agent "${spec}": ${why}`, { agent: spec });
}

function notAllowed(spec: string, why: string): CairnError {
  return new CairnError('CAIRN_E_AGENT_NOT_ALLOWED', `agent "${spec}" is not allowed: ${why}`, { agent: spec });
}

/** Checks a loaded module has a usable manifest and factory. */
export function admitModule(spec: string, mod: unknown): AgentModule {
  const m = mod as Partial<AgentModule> & { default?: Partial<AgentModule> };
  const candidate = m.manifest && m.createAgent ? m : m.default;
  const bad = (why: string) => new CairnError('CAIRN_E_AGENT_INVALID', `agent "${spec}" is not a valid Cairn agent: ${why}`, { agent: spec });
  if (!candidate || typeof candidate !== 'object') throw bad('it exports no manifest and createAgent');
  const man = candidate.manifest;
  if (!man || typeof man !== 'object') throw bad('no `manifest` export');
  if (typeof candidate.createAgent !== 'function') throw bad('no `createAgent` function export');
  if (typeof man.name !== 'string' || !/^[a-z][a-z0-9-]*$/.test(man.name)) throw bad('manifest.name must be lowercase letters, digits and dashes');
  if (typeof man.version !== 'string' || !/^\d+\.\d+\.\d+/.test(man.version)) throw bad('manifest.version must be a semver version');
  if (typeof man.api !== 'string') throw bad('manifest.api must be a version range such as ">=1 <2"');
  parseRange(man.api);
  if (!Number.isInteger(man.formatMajor) || (man.formatMajor as number) < 0) throw bad('manifest.formatMajor must be a whole number');
  return candidate as AgentModule;
}

export { validateAgentOptions } from './agent-options.js';
