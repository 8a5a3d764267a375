/**
 * Plugin API versions and their negotiation.
 *
 * An agent declares the range it speaks (`api: '>=1 <2'`, `'^1.1'`, `'1.x'`);
 * the host supports a set of versions. The highest version in both wins; with
 * no overlap the host refuses with a message naming both sides.
 */
import { CairnError } from './errors.js';

export interface ApiVersion {
  readonly major: number;
  readonly minor: number;
}

/** Every API version this copy of plugin-api defines, oldest first. */
/**
 * 1.1: readData may return a synchronous Iterable (bytes already in memory).
 * 1.2: AgentContext.chunkBuffer (recycled memory for the chunks readData yields).
 * 1.3: log-type restores (manifest `restoreKind: 'log'` honoured; RestoreJob.recoveryTarget).
 * 1.4: FileEntry.xattrs (stored as XATTRS records, handed back at restore).
 * 1.5: AgentContext.commands (programs the host's own config allows).
 */
export const API_VERSIONS: readonly ApiVersion[] = [{ major: 1, minor: 0 }, { major: 1, minor: 1 }, { major: 1, minor: 2 }, { major: 1, minor: 3 }, { major: 1, minor: 4 }, { major: 1, minor: 5 }];

/** The first API version at which a manifest's `restoreKind: 'log'` takes effect (docs/plugin-api.md §Log-type restores). */
export const LOG_RESTORE_SINCE: ApiVersion = { major: 1, minor: 3 };

/**
 * How the host restores an agent: its manifest's restoreKind when the
 * negotiated version honours it (`log` from 1.3 on), else `files`.
 */
export function effectiveRestoreKind(manifest: { readonly restoreKind?: 'files' | 'log' }, api: ApiVersion): 'files' | 'log' {
  return manifest.restoreKind === 'log' && apiAtLeast(api, LOG_RESTORE_SINCE) ? 'log' : 'files';
}

/** True when the negotiated version `v` is at least `since`. */
export function apiAtLeast(v: ApiVersion, since: ApiVersion): boolean {
  return v.major > since.major || (v.major === since.major && v.minor >= since.minor);
}

export function formatVersion(v: ApiVersion): string {
  return `${v.major}.${v.minor}`;
}

function parseVersion(text: string): ApiVersion {
  const m = /^(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?$/.exec(text.trim());
  if (!m) throw new CairnError('CAIRN_E_AGENT_INVALID', `"${text}" is not a version (expected MAJOR or MAJOR.MINOR)`, { version: text });
  return { major: Number(m[1]), minor: m[2] === undefined || m[2] === 'x' || m[2] === '*' ? 0 : Number(m[2]) };
}

function cmp(a: ApiVersion, b: ApiVersion): number {
  return a.major - b.major || a.minor - b.minor;
}

type Comparator = (v: ApiVersion) => boolean;

/** Parses a range: space-separated comparators (>=, >, <=, <, =), `^X.Y`, `X.x`, or `A || B`. */
export function parseRange(range: string): (v: ApiVersion) => boolean {
  const alternatives = range.split('||').map((alt) => {
    const parts = alt.trim().split(/\s+/).filter(Boolean);
    if (parts.length === 0) throw new CairnError('CAIRN_E_AGENT_INVALID', `empty API range "${range}"`, { range });
    const comps: Comparator[] = parts.map((part) => {
      const m = /^(>=|<=|>|<|=|\^|~)?(.+)$/.exec(part)!;
      const op = m[1] ?? '';
      const raw = m[2];
      const v = parseVersion(raw);
      const wildcardMinor = /^\d+(\.(x|\*))?$/.test(raw) && op === '';
      switch (op) {
        case '>=': return (x) => cmp(x, v) >= 0;
        case '>': return (x) => cmp(x, v) > 0;
        case '<=': return (x) => cmp(x, v) <= 0;
        case '<': return (x) => cmp(x, v) < 0;
        case '^': return (x) => x.major === v.major && cmp(x, v) >= 0;
        case '~': return (x) => x.major === v.major && x.minor === v.minor;
        default: return wildcardMinor ? (x) => x.major === v.major : (x) => cmp(x, v) === 0;
      }
    });
    return (x: ApiVersion) => comps.every((c) => c(x));
  });
  return (v) => alternatives.some((a) => a(v));
}

export interface Negotiated {
  readonly version: ApiVersion;
}

/**
 * Picks the highest version both sides speak. Throws CAIRN_E_AGENT_API_MISMATCH
 * naming the agent, its version and range, and the host's versions.
 */
export function negotiateVersion(
  agent: { name: string; version: string; api: string },
  host: { name: string; version: string; supported: readonly ApiVersion[] },
): ApiVersion {
  const accepts = parseRange(agent.api);
  const common = [...host.supported].sort(cmp).reverse().find((v) => accepts(v));
  if (!common) {
    const hostRange = host.supported.map(formatVersion).join(', ');
    throw new CairnError(
      'CAIRN_E_AGENT_API_MISMATCH',
      `agent ${agent.name} ${agent.version} supports plugin API ${agent.api}; this ${host.name} ${host.version} speaks ${hostRange}`,
      { agent: agent.name, agentVersion: agent.version, agentApi: agent.api, host: host.name, hostVersion: host.version, hostApi: hostRange },
    );
  }
  return common;
}
