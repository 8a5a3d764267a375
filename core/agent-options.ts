/**
 * Agent options: where they come from, how they are checked, and how
 * secrets among them stay out of logs and volumes (docs/fileset.md
 * §Agent options).
 *
 * Layers, later wins: the FD's own `agents:` defaults, the fileset line's
 * `options`, the Director job entry's `agentOptions`, the command line's
 * `--option AGENT.KEY=VALUE` (per job or per restore). The result is checked
 * against the agent's option schema (CAIRN_E_AGENT_OPTIONS names agent and
 * option). A value written `{ file: PATH }` or `{ env: NAME }` is a secret
 * reference, resolved on the FD only; the volume's AGENT record keeps the
 * reference, and an inline value of a property the schema marks
 * `writeOnly: true` is stored as "[redacted]". No option value is logged.
 */
import { readFileSync } from 'node:fs';
import { CairnError, type AgentModule, type OptionSchema } from '../plugin-api/index.js';

/** Per-agent option overrides: agent name → option → value. */
export type AgentOptionOverrides = Record<string, Record<string, unknown>>;

/** What the volume records instead of an inline secret. */
export const REDACTED = '[redacted]';

/** `--option` words (`AGENT.KEY=VALUE`, VALUE as JSON when it parses, else the text) as overrides. */
export function parseOptionArgs(words: readonly string[] | undefined): AgentOptionOverrides {
  const out: AgentOptionOverrides = {};
  for (const w of words ?? []) {
    const m = /^([^.=\s]+)\.([^=\s]+)=(.*)$/s.exec(w);
    if (!m) throw new CairnError('CAIRN_E_AGENT_OPTIONS', `--option "${w.split('=')[0]}…" is not AGENT.KEY=VALUE (e.g. fs.oneFileSystem=false, pipe.files='[…]')`, { option: w.split('=')[0] });
    const [, agent, key, raw] = m;
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // not JSON: the text itself
    }
    (out[agent] ??= {})[key] = value;
  }
  return out;
}

/** Lays override sets over each other (later wins, key by key within an agent). */
export function mergeOverrides(...layers: Array<AgentOptionOverrides | undefined>): AgentOptionOverrides {
  const out: AgentOptionOverrides = {};
  for (const l of layers) for (const [agent, opts] of Object.entries(l ?? {})) out[agent] = { ...out[agent], ...opts };
  return out;
}

export interface PreparedOptions {
  /** What the agent gets: secrets resolved, defaults applied, checked. */
  options: Record<string, unknown>;
  /** What may be written down (the volume's AGENT record): references kept, write-only values redacted. */
  recorded: Record<string, unknown>;
}

/**
 * Resolves secret references, then checks `given` against the agent's schema. `phase: 'restore'`
 * does not require the schema's required options (they describe what a backup needs).
 */
export function prepareAgentOptions(mod: AgentModule, given: Record<string, unknown>, phase: 'backup' | 'restore' = 'backup', env: NodeJS.ProcessEnv = process.env): PreparedOptions {
  const name = mod.manifest.name;
  const props = mod.manifest.options?.properties ?? {};
  const resolved: Record<string, unknown> = {};
  const secret = new Set<string>();
  for (const [k, v] of Object.entries(given)) {
    const ref = secretRef(v);
    if (ref && props[k]?.type !== 'object') {
      resolved[k] = resolveSecret(name, k, ref, env);
      secret.add(k);
    } else resolved[k] = v;
  }
  const options = validateAgentOptions(mod, resolved, phase);
  const recorded: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (secret.has(k)) recorded[k] = given[k];
    else if (props[k]?.writeOnly === true && k in given) recorded[k] = REDACTED;
    else recorded[k] = v;
  }
  return { options, recorded };
}

type SecretRef = { file: string } | { env: string };

function secretRef(v: unknown): SecretRef | null {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  const keys = Object.keys(v);
  if (keys.length !== 1) return null;
  const o = v as Record<string, unknown>;
  if (keys[0] === 'file' && typeof o.file === 'string') return { file: o.file };
  if (keys[0] === 'env' && typeof o.env === 'string') return { env: o.env };
  return null;
}

function resolveSecret(agent: string, key: string, ref: SecretRef, env: NodeJS.ProcessEnv): string {
  const fail = (why: string, facts: Record<string, unknown>) =>
    new CairnError('CAIRN_E_AGENT_OPTIONS', `options for agent ${agent}: option "${key}" ${why}`, { agent, key, option: key, ...facts });
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined || value === '') throw fail(`refers to environment variable ${ref.env}, which is ${value === undefined ? 'not set' : 'empty'} on this FD`, { variable: ref.env });
    return value;
  }
  let text: string;
  try {
    text = readFileSync(ref.file, 'utf8');
  } catch (err) {
    throw fail(`refers to the file ${ref.file}, which this FD cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { secretFile: ref.file });
  }
  const value = text.replace(/\r?\n$/, '');
  if (!value) throw fail(`refers to the file ${ref.file}, which is empty`, { secretFile: ref.file });
  return value;
}

/** Validates agent options against the manifest's schema (the subset plugin-api.md allows, nested). */
export function validateAgentOptions(mod: AgentModule, options: Record<string, unknown>, phase: 'backup' | 'restore' = 'backup'): Record<string, unknown> {
  const schema = mod.manifest.options;
  const name = mod.manifest.name;
  const fail = (why: string, path: string) =>
    new CairnError('CAIRN_E_AGENT_OPTIONS', `options for agent ${name}: ${why}`, { agent: name, key: path.split(/[.[]/)[0], option: path });
  if (!schema) {
    if (Object.keys(options).length) throw fail(`the agent takes no options, got ${Object.keys(options).join(', ')}`, Object.keys(options)[0]);
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
    checkValue(p, v, k, fail);
    out[k] = v;
  }
  for (const [k, p] of Object.entries(props)) if (!(k in out) && 'default' in p) out[k] = p.default;
  if (phase === 'backup') for (const r of schema.required ?? []) if (!(r in out)) throw fail(`required option "${r}" is missing`, r);
  return out;
}

function typeOf(v: unknown): string {
  return Array.isArray(v) ? 'array' : v === null ? 'null' : Number.isInteger(v) ? 'integer' : typeof v;
}

/** type, enum, minItems/items (arrays), properties/required/additionalProperties (objects), minLength. */
function checkValue(p: Record<string, unknown>, v: unknown, path: string, fail: (why: string, path: string) => CairnError): void {
  const type = p.type as string | undefined;
  const actual = typeOf(v);
  if (type && actual !== type && !(type === 'number' && actual === 'integer')) throw fail(`option "${path}" must be ${type}, got ${actual}`, path);
  if (Array.isArray(p.enum) && !p.enum.includes(v)) throw fail(`option "${path}" must be one of ${p.enum.map(String).join(', ')}`, path);
  if (typeof v === 'string' && typeof p.minLength === 'number' && v.length < p.minLength) throw fail(`option "${path}" must not be empty`, path);
  if (Array.isArray(v)) {
    if (typeof p.minItems === 'number' && v.length < p.minItems) throw fail(`option "${path}" needs at least ${p.minItems} item(s)`, path);
    const items = p.items as Record<string, unknown> | undefined;
    if (items) v.forEach((x, i) => checkValue(items, x, `${path}[${i}]`, fail));
  } else if (actual === 'object' && (p.properties || p.required || p.additionalProperties === false)) {
    const o = v as Record<string, unknown>;
    const sub = (p.properties ?? {}) as OptionSchema['properties'] & object;
    for (const [k, x] of Object.entries(o)) {
      if (sub[k]) checkValue(sub[k], x, `${path}.${k}`, fail);
      else if (p.additionalProperties === false) throw fail(`unknown option "${path}.${k}" (known: ${Object.keys(sub).join(', ') || 'none'})`, `${path}.${k}`);
    }
    for (const r of (p.required as string[] | undefined) ?? []) if (!(r in o)) throw fail(`option "${path}.${r}" is missing`, `${path}.${r}`);
  }
}

/**
 * Where a job's options came from, for the FD: `director` when a Director's order carries the fileset lines
 * and overrides (the FD's own `agents:` defaults then come separately, as `localDefaults`), `local` in local
 * mode (everything is the machine owner's).
 */
export interface OptionOrigin {
  fromDirector?: boolean;
  /** The FD's own per-agent defaults (cairn-fd.yaml `agents:`), laid under the Director's options. */
  localDefaults?: Record<string, Record<string, unknown>>;
}

/**
 * Options an agent's schema marks `localOnly: true` (a program's folder, a tool path: what decides which
 * program runs) may come only from the FD's own configuration: a Director's fileset line, job entry or
 * `--option` setting one is refused (CAIRN_E_AGENT_OPTIONS), so a compromised Director cannot make an FD run
 * programs of its choosing.
 */
export function assertNoLocalOnly(mod: AgentModule, given: Record<string, unknown> | undefined, where: string): void {
  const props = mod.manifest.options?.properties ?? {};
  for (const key of Object.keys(given ?? {})) {
    if (props[key]?.localOnly === true) {
      const agent = mod.manifest.name;
      throw new CairnError('CAIRN_E_AGENT_OPTIONS', `option "${key}" of agent ${agent} can be set only in the File Daemon's own configuration (cairn-fd.yaml agents: { ${agent}: { ${key}: … } }), not by the Director's ${where}`, { agent, option: key });
    }
  }
}

/** The lines' options as the agents get them from a Director's order: checked for local-only options, the FD's defaults under them. */
export function applyOptionOrigin(lines: ReadonlyArray<{ line: { agent: string; options: Record<string, unknown> }; loaded: { module: AgentModule } }>, overrides: AgentOptionOverrides | undefined, origin: OptionOrigin): void {
  if (!origin.fromDirector) return;
  for (const l of lines) {
    const name = l.loaded.module.manifest.name;
    assertNoLocalOnly(l.loaded.module, l.line.options, 'fileset');
    assertNoLocalOnly(l.loaded.module, overrides?.[name], 'job options (agentOptions, --option)');
    l.line.options = { ...(origin.localDefaults?.[l.line.agent] ?? origin.localDefaults?.[name] ?? {}), ...l.line.options };
  }
}
