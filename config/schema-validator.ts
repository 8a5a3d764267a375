/**
 * A validator for the subset of JSON Schema (draft 2020-12) that Cairn's own
 * configuration schemas use, plus the pass that fills in their `default`s.
 *
 * Keywords: type (and unions), properties, required, additionalProperties
 * (false or a schema), enum, const, items, minItems, minimum, maximum,
 * multipleOf, minLength, pattern, oneOf, anyOf, $ref to #/$defs/…, and the
 * annotations $schema, $id, $defs, $comment, title, description, default,
 * examples, errorMessage and patternErrorMessage (the last two are the
 * vscode-json-languageservice extensions; here they phrase "expected …").
 * Any other keyword in a schema is a bug in Cairn and throws
 * CAIRN_E_CONFIG_SCHEMA: a keyword silently ignored is a rule silently lost.
 */
import { CairnError } from '../plugin-api/index.js';
import { closest } from './did-you-mean.js';

export type JsonSchema = { readonly [keyword: string]: unknown };
export type KeyPath = Array<string | number>;

/** One problem found. `at` says where to point: the key itself, its value, or the mapping that lacks a key. */
export interface SchemaIssue {
  path: KeyPath;
  at: 'key' | 'value' | 'mapping';
  expected: string;
  message: string;
}

const KEYWORDS = new Set([
  '$schema', '$id', '$defs', '$ref', '$comment', 'title', 'description', 'default', 'examples', 'errorMessage', 'patternErrorMessage',
  'type', 'properties', 'required', 'additionalProperties', 'enum', 'const', 'items', 'minItems', 'minimum', 'maximum', 'multipleOf',
  'minLength', 'pattern', 'oneOf', 'anyOf',
]);
const TYPES = new Set(['string', 'integer', 'number', 'boolean', 'object', 'array', 'null']);

function schemaBug(where: string, why: string): CairnError {
  return new CairnError('CAIRN_E_CONFIG_SCHEMA', `schema ${where}: ${why}`, { where });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Throws CAIRN_E_CONFIG_SCHEMA if the schema uses anything this validator does not implement. */
export function assertSupportedSchema(root: JsonSchema): void {
  const defs = isObject(root.$defs) ? root.$defs : {};
  const walk = (s: unknown, where: string): void => {
    if (!isObject(s)) throw schemaBug(where, 'a schema must be an object');
    for (const k of Object.keys(s)) if (!KEYWORDS.has(k)) throw schemaBug(where, `unsupported keyword "${k}"`);
    if (s.$ref !== undefined) {
      const ref = String(s.$ref);
      if (!ref.startsWith('#/$defs/') || !(ref.slice(8) in defs)) throw schemaBug(where, `unresolvable $ref "${ref}"`);
    }
    for (const t of typeList(s)) if (!TYPES.has(t)) throw schemaBug(where, `unknown type "${t}"`);
    if (s.pattern !== undefined) new RegExp(String(s.pattern), 'u');
    for (const [k, sub] of Object.entries((s.properties ?? {}) as object)) walk(sub, `${where}.properties.${k}`);
    for (const [k, sub] of Object.entries((s.$defs ?? {}) as object)) walk(sub, `${where}.$defs.${k}`);
    if (s.items !== undefined) walk(s.items, `${where}.items`);
    if (isObject(s.additionalProperties)) walk(s.additionalProperties, `${where}.additionalProperties`);
    for (const key of ['oneOf', 'anyOf'] as const) {
      if (s[key] === undefined) continue;
      if (!Array.isArray(s[key])) throw schemaBug(where, `${key} must be a list`);
      (s[key] as unknown[]).forEach((b, i) => walk(b, `${where}.${key}[${i}]`));
    }
  };
  walk(root, '#');
}

function typeList(s: JsonSchema): string[] {
  return s.type === undefined ? [] : Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
}

function hasType(t: string, v: unknown): boolean {
  switch (t) {
    case 'string': return typeof v === 'string';
    case 'integer': return Number.isInteger(v);
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'boolean': return typeof v === 'boolean';
    case 'object': return isObject(v);
    case 'array': return Array.isArray(v);
    default: return v === null;
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A value as the message shows it: strings quoted, containers by kind. */
export function showValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return v.length ? 'a list' : 'an empty list';
  if (isObject(v)) return 'a mapping';
  return String(v);
}

const ARTICLE: Record<string, string> = { string: 'a string', integer: 'an integer', number: 'a number', boolean: 'true or false', object: 'a mapping', array: 'a list', null: 'nothing' };
const PLURAL: Record<string, string> = { string: 'strings', integer: 'integers', number: 'numbers', boolean: 'booleans', object: 'mappings', array: 'lists' };

function joinOr(parts: string[]): string {
  return parts.length <= 1 ? (parts[0] ?? '') : `${parts.slice(0, -1).join(', ')} or ${parts[parts.length - 1]}`;
}

export class SchemaValidator {
  constructor(readonly root: JsonSchema) {
    assertSupportedSchema(root);
  }

  deref(s: JsonSchema): JsonSchema {
    let out = s;
    while (typeof out.$ref === 'string') out = (this.root.$defs as Record<string, JsonSchema>)[out.$ref.slice(8)];
    return out;
  }

  /** "Expected …" in words, e.g. "an integer from 1 to 65535". */
  describe(schema: JsonSchema): string {
    const s = this.deref(schema);
    if (typeof s.errorMessage === 'string') return s.errorMessage;
    if ('const' in s) return JSON.stringify(s.const);
    if (Array.isArray(s.enum)) return `one of: ${s.enum.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join(', ')}`;
    const alts = (s.oneOf ?? s.anyOf) as JsonSchema[] | undefined;
    if (alts) return joinOr(alts.map((b) => this.describe(b)));
    const types = typeList(s);
    if (types.length !== 1) return types.length ? joinOr(types.map((t) => ARTICLE[t])) : 'any value';
    const t = types[0];
    if (t === 'string') {
      if (s.pattern !== undefined) return typeof s.patternErrorMessage === 'string' ? s.patternErrorMessage : `a string matching /${String(s.pattern)}/`;
      return typeof s.minLength === 'number' && s.minLength > 0 ? 'a non-empty string' : 'a string';
    }
    if (t === 'integer' || t === 'number') {
      const min = s.minimum as number | undefined;
      const max = s.maximum as number | undefined;
      let d = ARTICLE[t];
      if (min !== undefined && max !== undefined) d += ` from ${min} to ${max}`;
      else if (min !== undefined) d += min === 0 ? ' of 0 or more' : ` of at least ${min}`;
      else if (max !== undefined) d += ` of at most ${max}`;
      if (s.multipleOf !== undefined) d += `, a multiple of ${String(s.multipleOf)}`;
      return d;
    }
    if (t === 'array') {
      const min = (s.minItems as number | undefined) ?? 0;
      let d = min === 0 ? 'a list' : min === 1 ? 'a non-empty list' : `a list of at least ${min} items`;
      if (s.items) {
        const item = this.deref(s.items as JsonSchema);
        const it = typeList(item);
        const simple = it.length === 1 && !item.enum && !item.pattern && !('const' in item) && !item.errorMessage;
        d += simple ? ` of ${PLURAL[it[0]]}` : ` (each item ${this.describe(item)})`;
      }
      return d;
    }
    return ARTICLE[t];
  }

  validate(value: unknown): SchemaIssue[] {
    const out: SchemaIssue[] = [];
    this.check(this.root, value, [], out);
    return out;
  }

  private wrong(s: JsonSchema, v: unknown, path: KeyPath, out: SchemaIssue[]): void {
    const expected = this.describe(s);
    out.push({ path, at: 'value', expected, message: `expected ${expected}, got ${showValue(v)}` });
  }

  private check(schema: JsonSchema, v: unknown, path: KeyPath, out: SchemaIssue[]): void {
    const s = this.deref(schema);
    if ('const' in s && !deepEqual(v, s.const)) return this.wrong(s, v, path, out);
    if (Array.isArray(s.enum) && !s.enum.some((e) => deepEqual(e, v))) return this.wrong(s, v, path, out);
    if (s.oneOf !== undefined || s.anyOf !== undefined) this.alternatives(s, v, path, out);
    const types = typeList(s);
    if (types.length && !types.some((t) => hasType(t, v))) return this.wrong(s, v, path, out);
    if (typeof v === 'string') {
      if (typeof s.minLength === 'number' && [...v].length < s.minLength) return this.wrong(s, v, path, out);
      if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(v)) return this.wrong(s, v, path, out);
    } else if (typeof v === 'number') {
      if (typeof s.minimum === 'number' && v < s.minimum) return this.wrong(s, v, path, out);
      if (typeof s.maximum === 'number' && v > s.maximum) return this.wrong(s, v, path, out);
      if (typeof s.multipleOf === 'number' && v % s.multipleOf !== 0) return this.wrong(s, v, path, out);
    } else if (Array.isArray(v)) {
      if (typeof s.minItems === 'number' && v.length < s.minItems) return this.wrong(s, v, path, out);
      if (s.items) v.forEach((item, i) => this.check(s.items as JsonSchema, item, [...path, i], out));
    } else if (isObject(v)) {
      this.checkObject(s, v, path, out);
    }
  }

  private checkObject(s: JsonSchema, v: Record<string, unknown>, path: KeyPath, out: SchemaIssue[]): void {
    const props = (s.properties ?? {}) as Record<string, JsonSchema>;
    for (const key of (s.required ?? []) as string[]) {
      if (v[key] === undefined) out.push({ path, at: 'mapping', expected: `key "${key}"`, message: `missing required key "${key}"` });
    }
    for (const [key, val] of Object.entries(v)) {
      if (key in props) this.check(props[key], val, [...path, key], out);
      else if (s.additionalProperties === false) {
        const names = Object.keys(props);
        const near = closest(key, names);
        const expected = `one of: ${names.join(', ')}`;
        out.push({ path: [...path, key], at: 'key', expected, message: `unknown key (expected ${expected}${near ? `; did you mean "${near}"?` : ''})` });
      } else if (isObject(s.additionalProperties)) this.check(s.additionalProperties, val, [...path, key], out);
    }
  }

  /** oneOf / anyOf: if no branch fits, report the issues of the branch the value was evidently aiming at, else one summary. */
  private alternatives(s: JsonSchema, v: unknown, path: KeyPath, out: SchemaIssue[]): void {
    const branches = ((s.oneOf ?? s.anyOf) as JsonSchema[]).map((b) => this.deref(b));
    const results = branches.map((b) => {
      const o: SchemaIssue[] = [];
      this.check(b, v, path, o);
      return o;
    });
    const passing = results.filter((r) => r.length === 0).length;
    if (passing === 1 || (passing > 1 && s.anyOf !== undefined)) return;
    if (passing > 1) {
      const expected = this.describe(s);
      out.push({ path, at: 'value', expected, message: `expected ${expected}, got a value that fits more than one of them` });
      return;
    }
    const best = this.aimedAt(branches, v);
    if (best >= 0) out.push(...results[best]);
    else this.wrong(s, v, path, out);
  }

  /** Index of the one branch the value evidently meant (its type, a matching `const` discriminator, most known keys), or -1. */
  private aimedAt(branches: JsonSchema[], v: unknown): number {
    const scores = branches.map((b) => {
      const types = typeList(b);
      if (types.length && !types.some((t) => hasType(t, v))) return -1;
      if (!isObject(v)) return 0;
      let score = 0;
      for (const [k, p] of Object.entries((b.properties ?? {}) as Record<string, JsonSchema>)) {
        if (!(k in v)) continue;
        const ps = this.deref(p);
        if ('const' in ps) score += deepEqual(ps.const, v[k]) ? 1000 : -1000;
        else score += 1;
      }
      return score;
    });
    const top = Math.max(...scores);
    if (top < 0) return -1;
    const at = scores.flatMap((sc, i) => (sc === top ? [i] : []));
    return at.length === 1 ? at[0] : -1;
  }

  /** A copy of `value` (already valid) with every absent property that has a `default` filled in, recursively. */
  withDefaults(value: unknown, schema: JsonSchema = this.root): unknown {
    const s = this.deref(schema);
    if (s.oneOf !== undefined || s.anyOf !== undefined) {
      const branch = ((s.oneOf ?? s.anyOf) as JsonSchema[]).find((b) => {
        const o: SchemaIssue[] = [];
        this.check(b, value, [], o);
        return o.length === 0;
      });
      return branch ? this.withDefaults(value, branch) : value;
    }
    if (Array.isArray(value)) return s.items ? value.map((item) => this.withDefaults(item, s.items as JsonSchema)) : value;
    if (!isObject(value)) return value;
    const props = (s.properties ?? {}) as Record<string, JsonSchema>;
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(value)) {
      const sub = k in props ? props[k] : isObject(s.additionalProperties) ? s.additionalProperties : undefined;
      out[k] = sub ? this.withDefaults(val, sub) : val;
    }
    for (const [k, p] of Object.entries(props)) {
      if (out[k] !== undefined) continue;
      const d = 'default' in p ? p.default : this.deref(p).default;
      if (d !== undefined) out[k] = this.withDefaults(structuredClone(d), p);
    }
    return out;
  }
}
