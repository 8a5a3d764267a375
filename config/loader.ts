/**
 * Loading a configuration file: read, parse YAML keeping positions, validate
 * against the kind's schema, fill defaults, cross-check names, resolve
 * secrets and paths, and return the typed object. Every problem found is
 * reported as file:line:column, key path and what was expected.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { CairnError } from '../plugin-api/index.js';
import { problemsError, type ConfigProblem } from './config-problem.js';
import type { ConfigByKind, LoadedConfig } from './config-types.js';
import { crossReferenceIssues, normaliseCidr } from './cross-reference.js';
import { SchemaValidator, type KeyPath, type SchemaIssue } from './schema-validator.js';
import { SCHEMAS, type ConfigKind } from './schemas/index.js';
import { resolveSecrets } from './secrets.js';
import { formatKeyPath, YamlLocator } from './yaml-locator.js';

export interface ParseOptions {
  /** Folder relative paths and secret files are resolved against. Default: the source's folder if it names a file, else the current directory. */
  baseDir?: string;
  /** Where { env } secrets are looked up. Default: process.env. */
  env?: Record<string, string | undefined>;
}

const validators = new Map<ConfigKind, SchemaValidator>();

/** The validator of a kind's schema (built once). */
export function validatorFor(kind: ConfigKind): SchemaValidator {
  let v = validators.get(kind);
  if (!v) validators.set(kind, (v = new SchemaValidator(SCHEMAS[kind])));
  return v;
}

type Obj = Record<string, any>;

/** Absolute paths, computed defaults and normalised allow-lists, on a valid configuration. */
function finish(kind: ConfigKind, c: Obj, baseDir: string): void {
  const abs = (p: string | undefined, base = baseDir): string | undefined => (p === undefined ? undefined : isAbsolute(p) ? p : resolve(base, p));
  const tls = (t: Obj | undefined): void => {
    if (!t) return;
    for (const k of ['cert', 'key', 'ca']) if (t[k] !== undefined) t[k] = abs(t[k]);
  };
  const allow = (list: Obj[] | undefined): void => {
    for (const e of list ?? []) e.allow = (e.allow as string[]).map((a) => normaliseCidr(a) ?? a);
  };
  const self = c[kind === 'dir' ? 'director' : kind];
  if (kind !== 'console') {
    self.workingDirectory = abs(self.workingDirectory);
    tls(self.tls);
    if (self.metrics) allow([self.metrics]);
  }
  if (kind === 'dir') {
    const wd = self.workingDirectory as string;
    if (self.catalog.engine === 'sqlite') self.catalog.path = abs(self.catalog.path, wd);
    else {
      if (self.catalog.socketDir !== undefined) self.catalog.socketDir = abs(self.catalog.socketDir);
      if (self.catalog.binDir !== undefined) self.catalog.binDir = abs(self.catalog.binDir);
    }
    for (const j of c.jobs as Obj[]) {
      if (j.copyTo !== undefined) j.copyTo = abs(j.copyTo);
      if (j.type === 'catalog') j.level = 'full';
    }
    c.messages.logFile = abs(c.messages.logFile ?? 'cairn-dir.log', wd);
    self.bootstrapDirectory = abs(self.bootstrapDirectory ?? 'bootstrap', wd);
    allow(c.consoles);
    for (const e of [...c.clients, ...c.storages]) tls(e.tls);
  }
  if (kind === 'fd' || kind === 'sd') allow(c.directors);
  if (kind === 'fd') c.plugins.directories = (c.plugins.directories as string[]).map((d) => abs(d));
  if (kind === 'fd' && c.encryption) {
    c.encryption.keyFile = abs(c.encryption.keyFile);
    c.encryption.masterKeys = ((c.encryption.masterKeys ?? []) as string[]).map((k) => abs(k));
  }
  if (kind === 'sd') {
    for (const d of c.devices) {
      d.path = abs(d.path);
      if (d.spool) d.spool.path = abs(d.spool.path);
    }
  }
  if (kind === 'console') tls(c.director.tls);
}

/** Parses and checks configuration text; `source` names it in messages (normally the file path). */
export function parseConfig<K extends ConfigKind>(kind: K, text: string, source = `<${kind} config>`, options: ParseOptions = {}): LoadedConfig<K> {
  return parse(kind, text, source, options).loaded;
}

function parse<K extends ConfigKind>(kind: K, text: string, source: string, options: ParseOptions): { loaded: LoadedConfig<K>; inlineSecrets: number } {
  const baseDir = options.baseDir ?? (source.startsWith('<') ? process.cwd() : dirname(resolve(source)));
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const locator = new YamlLocator(doc, lines);
  const problem = (path: KeyPath, at: SchemaIssue['at'], expected: string, message: string): ConfigProblem => ({ file: source, ...locator.locate(path, at), key: formatKeyPath(path), expected, message });
  const fromIssues = (issues: SchemaIssue[]): ConfigProblem[] => issues
    .map((i) => problem(i.path, i.at, i.expected, i.message))
    .sort((a, b) => a.line - b.line || a.column - b.column);

  if (doc.errors.length) {
    throw problemsError('CAIRN_E_CONFIG_INVALID', doc.errors.map((e) => ({
      file: source, ...locator.at(e.pos[0]), key: '(YAML syntax)', expected: 'valid YAML', message: e.code === 'MULTIPLE_DOCS' ? 'a configuration file holds one YAML document; remove this --- and what follows, or merge it' : e.message.split('\n')[0],
    })));
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    throw problemsError('CAIRN_E_CONFIG_INVALID', [problem([], 'value', 'valid YAML', (err as Error).message)]);
  }
  if (raw === null || raw === undefined) raw = {};

  const validator = validatorFor(kind);
  const issues = validator.validate(raw);
  if (issues.length) throw problemsError('CAIRN_E_CONFIG_INVALID', fromIssues(issues));
  const withDefaults = validator.withDefaults(raw);
  const refs = crossReferenceIssues(kind, withDefaults);
  if (refs.length) throw problemsError('CAIRN_E_CONFIG_INVALID', fromIssues(refs));

  const secrets = resolveSecrets(withDefaults, { baseDir, env: options.env ?? process.env });
  if (secrets.problems.length) {
    const problems = secrets.problems.map((p) => problem(p.path, 'value', p.expected, p.message));
    const first = secrets.problems[0];
    throw problemsError('CAIRN_E_CONFIG_SECRET', problems, first.variable !== undefined ? { variable: first.variable } : { secretFile: first.secretFile });
  }
  const warnings = secrets.warnings.map((w) => {
    const at = locator.locate(w.path);
    return `${source}:${at.line}:${at.column}: ${formatKeyPath(w.path)}: ${w.message}`;
  });
  const config = secrets.value as Obj;
  finish(kind, config, baseDir);
  return { loaded: { kind, file: source, config: config as ConfigByKind[K], warnings }, inlineSecrets: secrets.inlineSecrets };
}

/** Reads and checks a configuration file. Throws CAIRN_E_CONFIG_READ, CAIRN_E_CONFIG_INVALID or CAIRN_E_CONFIG_SECRET. */
export function loadConfig<K extends ConfigKind>(kind: K, file: string, options: ParseOptions = {}): LoadedConfig<K> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new CairnError('CAIRN_E_CONFIG_READ', `cannot read the ${kind} configuration ${file}: ${(err as Error).message}`, { file, kind, errno }, { cause: err });
  }
  const { loaded, inlineSecrets } = parse(kind, text, file, { baseDir: dirname(resolve(file)), ...options });
  if (process.platform !== 'win32' && inlineSecrets > 0) {
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077) loaded.warnings.push(`${file}: holds inline secrets but is readable by ${mode & 0o007 ? 'everyone' : 'its group'} (mode ${mode.toString(8).padStart(4, '0')}); chmod 600 it`);
  }
  return loaded;
}
