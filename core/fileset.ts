/**
 * Filesets: what a job backs up. The YAML form is the one the Director uses
 * (docs/fileset.md):
 *
 *   name: home
 *   include: [/home]            # shorthand for one `fs` agent line
 *   exclude: ['*.tmp', '/home/* /.cache']
 *   options: { compression: zstd, level: 1 }
 *   agents:
 *     - agent: fs               # bundled name, package name or path
 *       include: [/srv]
 *       exclude: []
 *       options: { oneFileSystem: false }
 *
 * Unknown keys are errors that name the key and where it was.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { CairnError } from '../plugin-api/index.js';

export interface AgentLine {
  agent: string;
  include: string[];
  exclude: string[];
  options: Record<string, unknown>;
}

export interface FilesetOptions {
  compression: 'zstd' | 'none';
  /** zstd level; 1 by default (the fast end, ~340 MB/s a core here). */
  level: number;
}

export interface Fileset {
  name: string;
  options: FilesetOptions;
  agents: AgentLine[];
}

export const DEFAULT_FILESET_OPTIONS: FilesetOptions = { compression: 'zstd', level: 1 };

function invalid(source: string, where: string, why: string): CairnError {
  return new CairnError('CAIRN_E_FILESET_INVALID', `fileset ${source}: ${where}: ${why}`, { source, key: where });
}

function strings(source: string, where: string, v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalid(source, where, 'expected a list of strings');
  return v as string[];
}

function checkKeys(source: string, where: string, obj: Record<string, unknown>, allowed: string[]): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) throw invalid(source, `${where}${k}`, `unknown key (expected one of: ${allowed.join(', ')})`);
  }
}

/** Builds a fileset from a parsed object (YAML or JSON). */
export function filesetFromObject(obj: unknown, source = '<fileset>'): Fileset {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw invalid(source, 'top level', 'expected a mapping');
  const o = obj as Record<string, unknown>;
  checkKeys(source, '', o, ['name', 'include', 'exclude', 'options', 'agents']);
  const name = o.name === undefined ? 'default' : o.name;
  if (typeof name !== 'string' || !name) throw invalid(source, 'name', 'expected a non-empty string');
  const optsIn = (o.options ?? {}) as Record<string, unknown>;
  if (typeof optsIn !== 'object' || Array.isArray(optsIn)) throw invalid(source, 'options', 'expected a mapping');
  checkKeys(source, 'options.', optsIn, ['compression', 'level']);
  const options: FilesetOptions = { ...DEFAULT_FILESET_OPTIONS };
  if (optsIn.compression !== undefined) {
    if (optsIn.compression !== 'zstd' && optsIn.compression !== 'none') throw invalid(source, 'options.compression', 'expected zstd or none');
    options.compression = optsIn.compression;
  }
  if (optsIn.level !== undefined) {
    if (!Number.isInteger(optsIn.level) || (optsIn.level as number) < 1 || (optsIn.level as number) > 19) throw invalid(source, 'options.level', 'expected a whole number 1–19');
    options.level = optsIn.level as number;
  }
  const agents: AgentLine[] = [];
  const include = strings(source, 'include', o.include);
  const exclude = strings(source, 'exclude', o.exclude);
  if (include.length) agents.push({ agent: 'fs', include, exclude, options: {} });
  else if (exclude.length) throw invalid(source, 'exclude', 'top-level exclude needs a top-level include');
  if (o.agents !== undefined) {
    if (!Array.isArray(o.agents)) throw invalid(source, 'agents', 'expected a list of agent lines');
    o.agents.forEach((line: unknown, i: number) => {
      const where = `agents[${i}]`;
      if (!line || typeof line !== 'object' || Array.isArray(line)) throw invalid(source, where, 'expected a mapping');
      const l = line as Record<string, unknown>;
      checkKeys(source, `${where}.`, l, ['agent', 'include', 'exclude', 'options']);
      if (typeof l.agent !== 'string' || !l.agent) throw invalid(source, `${where}.agent`, 'expected the agent name, package or path');
      const opts = l.options ?? {};
      if (typeof opts !== 'object' || Array.isArray(opts)) throw invalid(source, `${where}.options`, 'expected a mapping');
      agents.push({ agent: l.agent, include: strings(source, `${where}.include`, l.include), exclude: strings(source, `${where}.exclude`, l.exclude), options: opts as Record<string, unknown> });
    });
  }
  if (agents.length === 0) throw invalid(source, 'include', 'the fileset selects nothing: give include paths or agent lines');
  return { name, options, agents };
}

/** The YAML parser, loaded on first use: importing it costs ≈ 40 ms, which every command but `backup --fileset` would pay for nothing. */
let yaml: typeof import('yaml') | null = null;

export function parseFileset(text: string, source = '<fileset>'): Fileset {
  let obj: unknown;
  try {
    yaml ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
    obj = yaml.parse(text);
  } catch (err) {
    throw invalid(source, 'YAML', (err as Error).message);
  }
  return filesetFromObject(obj, source);
}

/** Canonical text and hash: a changed fileset upgrades the next Incremental to Full. */
export function filesetFingerprint(fs: Fileset): { text: string; hash: string } {
  const text = JSON.stringify({ name: fs.name, options: fs.options, agents: fs.agents });
  return { text, hash: createHash('sha256').update(text).digest('hex').slice(0, 32) };
}
