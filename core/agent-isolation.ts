/**
 * Where an agent runs: in the FD's own process (`inprocess`: trusted,
 * fastest) or in a child process of its own (`process`: a crash, a hang or
 * a process.exit of the agent fails its job, never the FD). Chosen per agent
 * by the FD's settings (cairn-fd.yaml `plugins.isolation`, or the local
 * repository's `settings.plugins.isolation`), overridden by the environment
 * variable CAIRN_AGENT_ISOLATION. docs/config.md has the keys.
 *
 *   plugins:
 *     isolation:
 *       default: process      # agents from plugin directories / the allow-list (default: process)
 *       bundled: inprocess    # bundled agents: fs, pipe (default: inprocess)
 *       fs: process           # one agent, by the name the fileset gives it
 */
import { CairnError } from '../plugin-api/index.js';

export type IsolationMode = 'inprocess' | 'process';

export interface IsolationSettings {
  /** Agents loaded from a plugin directory or the allow-list. */
  default?: IsolationMode;
  /** Bundled agents. */
  bundled?: IsolationMode;
  /** Per agent, by the name the fileset uses (bundled name, package name or path). */
  agents?: Record<string, IsolationMode>;
}

const MODES = new Set<string>(['inprocess', 'process']);

function mode(value: unknown, where: string): IsolationMode {
  if (typeof value !== 'string' || !MODES.has(value)) {
    throw new CairnError('CAIRN_E_CONFIG_INVALID', `${where}: expected inprocess or process, got ${JSON.stringify(value)}`, { key: where });
  }
  return value as IsolationMode;
}

/** The flat mapping of the settings files (`default`, `bundled`, then agent names) as IsolationSettings. */
export function isolationFromMapping(map: Record<string, unknown> | undefined, where = 'plugins.isolation'): IsolationSettings {
  const out: IsolationSettings = { agents: {} };
  for (const [k, v] of Object.entries(map ?? {})) {
    const m = mode(v, `${where}.${k}`);
    if (k === 'default') out.default = m;
    else if (k === 'bundled') out.bundled = m;
    else out.agents![k] = m;
  }
  return out;
}

/**
 * CAIRN_AGENT_ISOLATION: `process` or `inprocess` for every agent, or a list
 * `name=mode,…` (names `default`, `bundled` or agents), laid over the settings.
 */
export function isolationWithEnv(settings: IsolationSettings, env: string | undefined = process.env.CAIRN_AGENT_ISOLATION): IsolationSettings {
  const text = env?.trim();
  if (!text) return settings;
  if (MODES.has(text)) return { default: text as IsolationMode, bundled: text as IsolationMode, agents: {} };
  const map: Record<string, string> = {};
  for (const part of text.split(',')) {
    const [k, v] = part.split('=').map((x) => x.trim());
    if (!k || !v) throw new CairnError('CAIRN_E_CONFIG_INVALID', `CAIRN_AGENT_ISOLATION: "${part}" is not name=inprocess|process`, { key: 'CAIRN_AGENT_ISOLATION' });
    map[k] = v;
  }
  const over = isolationFromMapping(map, 'CAIRN_AGENT_ISOLATION');
  return { default: over.default ?? settings.default, bundled: over.bundled ?? settings.bundled, agents: { ...settings.agents, ...over.agents } };
}

/** The mode of one agent line's agent. */
export function isolationFor(spec: string, bundled: boolean, settings: IsolationSettings | undefined): IsolationMode {
  const s = settings ?? {};
  return s.agents?.[spec] ?? (bundled ? (s.bundled ?? 'inprocess') : (s.default ?? 'process'));
}
