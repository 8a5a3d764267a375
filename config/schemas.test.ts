import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CONFIG_KINDS, SCHEMAS, SCHEMA_FILES, SchemaValidator, assertSupportedSchema, effectiveTlsMode, schemaText, type JsonSchema } from './index.js';

const docs = new URL('../../docs/schema/', import.meta.url);

test('docs/schema/*.json are exactly the TypeScript schemas (regenerate: node dist/config/write-schemas.js)', () => {
  for (const kind of CONFIG_KINDS) {
    const published = readFileSync(new URL(SCHEMA_FILES[kind], docs), 'utf8');
    assert.equal(published, schemaText(kind), `docs/schema/${SCHEMA_FILES[kind]} drifted from config/schemas`);
    assert.deepEqual(JSON.parse(published), SCHEMAS[kind]);
  }
});

test('every schema has $id, title and description, and every property a title and description', () => {
  const walk = (s: JsonSchema, where: string): void => {
    for (const [k, p] of Object.entries((s.properties ?? {}) as Record<string, JsonSchema>)) {
      assert.equal(typeof p.title, 'string', `${where}.${k} has no title`);
      assert.equal(typeof p.description, 'string', `${where}.${k} has no description`);
      walk(p, `${where}.${k}`);
    }
    for (const key of ['items', 'additionalProperties']) if (typeof s[key] === 'object') walk(s[key] as JsonSchema, `${where}.${key}`);
    for (const key of ['oneOf', 'anyOf']) ((s[key] ?? []) as JsonSchema[]).forEach((b, i) => walk(b, `${where}.${key}[${i}]`));
    for (const [k, d] of Object.entries((s.$defs ?? {}) as Record<string, JsonSchema>)) walk(d, `${where}.$defs.${k}`);
  };
  for (const kind of CONFIG_KINDS) {
    const s = SCHEMAS[kind];
    assert.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.match(String(s.$id), new RegExp(`${SCHEMA_FILES[kind].replace(/\./g, '\\.')}$`));
    assert.ok(s.title && s.description);
    walk(s, kind);
    assertSupportedSchema(s);
  }
});

test('an unsupported keyword in a schema is a programming error', () => {
  assert.throws(() => new SchemaValidator({ type: 'object', properties: { a: { type: 'string', format: 'email' } } }), { code: 'CAIRN_E_CONFIG_SCHEMA' });
  assert.throws(() => new SchemaValidator({ $ref: '#/$defs/missing' }), { code: 'CAIRN_E_CONFIG_SCHEMA' });
  assert.throws(() => new SchemaValidator({ type: 'text' }), { code: 'CAIRN_E_CONFIG_SCHEMA' });
});

test('the validator: type unions, enum, const, anyOf, minLength, pattern, items', () => {
  const v = new SchemaValidator({
    type: 'object',
    additionalProperties: false,
    properties: {
      n: { type: ['integer', 'string'] },
      e: { enum: ['a', 'b'] },
      c: { const: 7 },
      any: { anyOf: [{ type: 'string' }, { type: 'integer', minimum: 10 }] },
      s: { type: 'string', minLength: 3, pattern: '^x' },
      l: { type: 'array', minItems: 2, items: { type: 'number', maximum: 1 } },
    },
  });
  assert.deepEqual(v.validate({ n: 1, e: 'a', c: 7, any: 12, s: 'xyz', l: [0.5, 1] }), []);
  assert.deepEqual(v.validate({ n: 'one', any: 'str' }), []);
  const msgs = v.validate({ n: true, e: 'z', c: 8, any: 3, s: 'xy', l: [0.5, 2] }).map((i) => `${i.path.join('.')}: ${i.message}`);
  assert.deepEqual(msgs, [
    'n: expected an integer or a string, got true',
    'e: expected one of: a, b, got "z"',
    'c: expected 7, got 8',
    'any: expected an integer of at least 10, got 3',
    's: expected a string matching /^x/, got "xy"',
    'l.1: expected a number of at most 1, got 2',
  ]);
  assert.equal(v.validate({ any: false })[0].message, 'expected a string or an integer of at least 10, got false');
  assert.match(v.validate({ l: [1] })[0].message, /expected a list of at least 2 items of numbers, got a list/);
});

test('auto TLS is off on loopback and PSK elsewhere', () => {
  assert.equal(effectiveTlsMode({ mode: 'auto' }, '127.0.0.1'), 'off');
  assert.equal(effectiveTlsMode({ mode: 'auto' }, '::1'), 'off');
  assert.equal(effectiveTlsMode(undefined, 'backup.example.org'), 'psk');
  assert.equal(effectiveTlsMode({ mode: 'cert', cert: '/c', key: '/k' }, '127.0.0.1'), 'cert');
});
