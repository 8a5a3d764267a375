/**
 * Secrets in configuration files: every `password` or `secret` value may be
 * the string itself, { file: PATH } or { env: NAME }. This resolves them to
 * plain strings, collects what cannot be resolved, and warns about secret
 * files that others can read.
 */
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { KeyPath } from './schema-validator.js';

const SECRET_KEYS = new Set(['password', 'secret']);

export interface SecretProblem {
  path: KeyPath;
  expected: string;
  message: string;
  /** The variable or file named. */
  variable?: string;
  secretFile?: string;
}

export interface SecretContext {
  baseDir: string;
  env: Record<string, string | undefined>;
}

export interface SecretResult {
  value: unknown;
  problems: SecretProblem[];
  /** Each a "key: what is wrong" line; the loader adds the position. */
  warnings: Array<{ path: KeyPath; message: string }>;
  inlineSecrets: number;
}

function readSecretFile(path: KeyPath, file: string, ctx: SecretContext, out: SecretResult): string | undefined {
  const abs = isAbsolute(file) ? file : resolve(ctx.baseDir, file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    out.problems.push({ path, secretFile: abs, expected: 'a readable file holding the secret', message: `cannot read secret file ${abs} (${code})` });
    return undefined;
  }
  const secret = text.replace(/\r?\n$/, '');
  if (!secret) {
    out.problems.push({ path, secretFile: abs, expected: 'a file holding a non-empty secret', message: `secret file ${abs} is empty` });
    return undefined;
  }
  if (process.platform !== 'win32') {
    const mode = statSync(abs).mode & 0o777;
    if (mode & 0o077) out.warnings.push({ path, message: `secret file ${abs} is readable by ${mode & 0o007 ? 'everyone' : 'its group'} (mode ${mode.toString(8).padStart(4, '0')}); chmod 600 it` });
  }
  return secret;
}

function resolveOne(path: KeyPath, v: unknown, ctx: SecretContext, out: SecretResult): unknown {
  if (typeof v === 'string') {
    out.inlineSecrets++;
    return v;
  }
  const o = v as { file?: string; env?: string };
  if (typeof o.file === 'string') return readSecretFile(path, o.file, ctx, out) ?? '';
  if (typeof o.env === 'string') {
    const value = ctx.env[o.env];
    if (value === undefined || value === '') {
      out.problems.push({ path, variable: o.env, expected: `environment variable ${o.env} set to the secret`, message: `environment variable ${o.env} is ${value === undefined ? 'not set' : 'empty'}` });
      return '';
    }
    return value;
  }
  return v;
}

/** A copy of a schema-valid configuration with every password/secret a plain string. */
export function resolveSecrets(config: unknown, ctx: SecretContext): SecretResult {
  const out: SecretResult = { value: undefined, problems: [], warnings: [], inlineSecrets: 0 };
  const walk = (v: unknown, path: KeyPath): unknown => {
    if (Array.isArray(v)) return v.map((item, i) => walk(item, [...path, i]));
    if (typeof v !== 'object' || v === null) return v;
    const copy: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(v)) {
      copy[k] = SECRET_KEYS.has(k) && val !== undefined && path[0] !== 'agents' && path[0] !== 'filesets' ? resolveOne([...path, k], val, ctx, out) : walk(val, [...path, k]);
    }
    return copy;
  };
  out.value = walk(config, []);
  return out;
}
