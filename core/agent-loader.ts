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

/** Agents that ship with Cairn, by name → module path relative to this file. */
const BUNDLED: Record<string, string> = {
  fs: '../plugins/fs/index.js',
  pgsql: '../plugins/pgsql/index.js',
  pglog: '../plugins/pglog/index.js',
};

export interface AgentPolicy {
  /** Directories agents may be loaded from by path or package name. */
  pluginDirs: string[];
  /** Package names allowed (looked up under pluginDirs); bundled agents are always allowed unless `allowBundled` is false. */
  allow: string[];
  allowBundled?: boolean;
}

export interface LoadedAgent {
  /** What the fileset said. */
  spec: string;
  module: AgentModule;
  api: ApiVersion;
  /** `name/formatMajor`, written in every file's attributes. */
  identity: string;
}

const cache = new Map<string, LoadedAgent>();

export async function loadAgent(spec: string, policy: AgentPolicy): Promise<LoadedAgent> {
  const url = resolveAgent(spec, policy);
  const hit = cache.get(url);
  if (hit) return hit;
  let mod: unknown;
  try {
    mod = await import(url);
  } catch (err) {
    throw new CairnError('CAIRN_E_AGENT_INVALID', `agent "${spec}" could not be loaded: ${(err as Error).message}`, { agent: spec, url }, { cause: err });
  }
  const agentModule = admitModule(spec, mod);
  const api = negotiateVersion(
    { name: agentModule.manifest.name, version: agentModule.manifest.version, api: agentModule.manifest.api },
    { name: HOST_NAME, version: HOST_VERSION, supported: API_VERSIONS },
  );
  const loaded = { spec, module: agentModule, api, identity: `${agentModule.manifest.name}/${agentModule.manifest.formatMajor}` };
  cache.set(url, loaded);
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

/** Validates agent options against the manifest's schema (the subset plugin-api.md allows). */
export function validateAgentOptions(mod: AgentModule, options: Record<string, unknown>): Record<string, unknown> {
  const schema = mod.manifest.options;
  const name = mod.manifest.name;
  const fail = (why: string, key?: string) =>
    new CairnError('CAIRN_E_AGENT_OPTIONS', `options for agent ${name}: ${why}`, { agent: name, key });
  if (!schema) {
    if (Object.keys(options).length) throw fail(`the agent takes no options, got ${Object.keys(options).join(', ')}`);
    return options;
  }
  const out: Record<string, unknown> = {};
  const props = schema.properties ?? {};
  for (const [k, v] of Object.entries(options)) {
    const p = props[k];
    if (!p) {
      if (schema.additionalProperties === false) throw fail(`unknown option "${k}" (known: ${Object.keys(props).join(', ') || 'none'})`, k);
      out[k] = v;
      continue;
    }
    const type = p.type as string | undefined;
    const actual = Array.isArray(v) ? 'array' : v === null ? 'null' : Number.isInteger(v) && type === 'integer' ? 'integer' : typeof v;
    if (type && actual !== type && !(type === 'number' && actual === 'integer')) throw fail(`option "${k}" must be ${type}, got ${actual}`, k);
    if (Array.isArray(p.enum) && !p.enum.includes(v)) throw fail(`option "${k}" must be one of ${p.enum.map(String).join(', ')}`, k);
    out[k] = v;
  }
  for (const [k, p] of Object.entries(props)) if (!(k in out) && 'default' in p) out[k] = p.default;
  for (const r of schema.required ?? []) if (!(r in out)) throw fail(`required option "${r}" is missing`, r);
  return out;
}
