/**
 * Static checks of an agent module: manifest fields, option schema shape,
 * the hooks its agent object offers, and version negotiation (including
 * that a host with no common version is refused with CAIRN_E_AGENT_API_MISMATCH
 * and a message naming both sides).
 */
import { isCairnError } from '../errors.js';
import { HOOKS, type HookName } from '../hooks.js';
import type { Agent, AgentManifest, AgentModule } from '../types.js';
import { negotiateVersion, parseRange, type ApiVersion } from '../version.js';

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const NAME = /^[a-z][a-z0-9-]{0,63}$/;

/** Problems with a manifest (empty when valid). */
export function manifestProblems(mod: AgentModule): string[] {
  const out: string[] = [];
  const m = mod?.manifest as AgentManifest | undefined;
  if (!m || typeof m !== 'object') return ['the module exports no manifest object'];
  if (typeof mod.createAgent !== 'function') out.push('the module exports no createAgent function');
  if (typeof m.name !== 'string' || !NAME.test(m.name)) out.push(`manifest.name "${String(m.name)}" must be lowercase letters, digits and dashes, starting with a letter`);
  if (typeof m.version !== 'string' || !SEMVER.test(m.version)) out.push(`manifest.version "${String(m.version)}" is not semver (MAJOR.MINOR.PATCH)`);
  if (typeof m.api !== 'string') out.push('manifest.api must be a range string such as ">=1 <2"');
  else
    try {
      parseRange(m.api);
    } catch (err) {
      out.push(`manifest.api "${m.api}" does not parse: ${(err as Error).message}`);
    }
  if (!Number.isInteger(m.formatMajor) || m.formatMajor < 0) out.push(`manifest.formatMajor must be a non-negative integer (got ${String(m.formatMajor)})`);
  if (m.restoreKind !== undefined && m.restoreKind !== 'files' && m.restoreKind !== 'log') out.push(`manifest.restoreKind "${String(m.restoreKind)}" must be "files" or "log"`);
  if (m.options !== undefined) {
    const o = m.options;
    if (!o || o.type !== 'object') out.push('manifest.options must be a JSON schema with type "object"');
    else {
      const props = o.properties ?? {};
      if (typeof props !== 'object') out.push('manifest.options.properties must be an object');
      for (const [k, v] of Object.entries(props)) if (!v || typeof v !== 'object' || typeof v.type !== 'string') out.push(`option "${k}" needs a schema with a "type"`);
      for (const r of o.required ?? []) if (!(r in props)) out.push(`required option "${r}" is not among the properties`);
    }
  }
  return out;
}

/** Problems with the hooks an agent object offers. */
export function hookProblems(agent: Agent): string[] {
  const out: string[] = [];
  for (const [hook, spec] of Object.entries(HOOKS) as Array<[HookName, (typeof HOOKS)[HookName]]>) {
    const fn = (agent as unknown as Record<string, unknown>)[hook];
    if (spec.required && typeof fn !== 'function') out.push(`required hook ${hook} is missing`);
    if (!spec.required && fn !== undefined && typeof fn !== 'function') out.push(`optional hook ${hook} is not a function`);
  }
  return out;
}

/** Negotiates against the kit's host and checks an impossible host is refused properly. Returns [version, problems]. */
export function negotiationProblems(m: AgentManifest, host: readonly ApiVersion[]): [ApiVersion | null, string[]] {
  const out: string[] = [];
  let version: ApiVersion | null = null;
  try {
    version = negotiateVersion(m, { name: 'cairn-conformance', version: '1.0.0', supported: host });
  } catch (err) {
    out.push(isCairnError(err) ? err.message : String(err));
  }
  try {
    negotiateVersion(m, { name: 'cairn-conformance', version: '1.0.0', supported: [{ major: 9999, minor: 0 }] });
    out.push(`a host speaking only API 9999.0 was not refused (range "${m.api}" is too wide)`);
  } catch (err) {
    if (!isCairnError(err) || err.code !== 'CAIRN_E_AGENT_API_MISMATCH') out.push(`refusal of an impossible host did not raise CAIRN_E_AGENT_API_MISMATCH (${String(err)})`);
    else if (!err.message.includes(m.name) || !err.message.includes(m.version) || !err.message.includes('9999.0')) out.push(`refusal message does not name both sides: "${err.message}"`);
  }
  return [version, out];
}
