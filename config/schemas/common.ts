/**
 * Schema pieces shared by the four configuration files: secrets, TLS,
 * listen addresses, address allow-lists (CIDR) and the "who may command me"
 * peer entries. Every property carries a title and description so that
 * editors (yaml-language-server) can complete and explain keys.
 */
import type { JsonSchema } from '../schema-validator.js';

/** Where the published schemas say they live. */
export const SCHEMA_BASE_URL = 'https://cairn-backup.org/schema/v1/';
export const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';

/** A property: title and description first, then the schema proper. */
export function prop(title: string, description: string, schema: JsonSchema): JsonSchema {
  return { title, description, ...schema };
}

/** A mapping that admits only the listed keys. */
export function mapping(properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema {
  return required.length
    ? { type: 'object', additionalProperties: false, required, properties }
    : { type: 'object', additionalProperties: false, properties };
}

export const ref = (def: string): JsonSchema => ({ $ref: `#/$defs/${def}` });
export const nonEmptyString: JsonSchema = { type: 'string', minLength: 1 };
export const stringList: JsonSchema = { type: 'array', items: { type: 'string', minLength: 1 } };
export const port: JsonSchema = { type: 'integer', minimum: 1, maximum: 65535 };

export const name = (what: string): JsonSchema =>
  prop('Name', `The name of this ${what}; other entries and files refer to it by this name.`, nonEmptyString);

export const maxConcurrentJobs = (dflt: number, what: string): JsonSchema =>
  prop('Maximum concurrent jobs', `How many jobs ${what} runs at once; more wait in the queue.`, { type: 'integer', minimum: 1, default: dflt });

export const heartbeatSeconds: JsonSchema = prop('Heartbeat interval (seconds)', 'How often an idle connection sends a keep-alive, so that firewalls and dead peers are noticed.', { type: 'integer', minimum: 1, default: 60 });

export const LOOPBACK_ALLOW = ['127.0.0.1/32', '::1/128'];

const IPV4 = '(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
/** IPv6 is checked loosely here (hex, colons, an optional dotted tail) and exactly by the loader with node:net. */
const IPV6 = '[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*';
export const CIDR_PATTERN = `^(?:${IPV4}(?:/(?:3[0-2]|[12]?[0-9]))?|${IPV6}(?:/(?:12[0-8]|1[01][0-9]|[1-9]?[0-9]))?)$`;

export const sharedDefs: Record<string, JsonSchema> = {
  secret: {
    title: 'Secret',
    description: 'A password or shared secret: the string itself, { file: PATH } (the file\'s content, trailing newline removed; relative to this file\'s folder) or { env: NAME } (an environment variable, which must be set and non-empty).',
    errorMessage: 'a secret: a non-empty string, { file: PATH } or { env: NAME }',
    oneOf: [
      { title: 'Inline secret', description: 'The secret itself. Keep the file mode 0600.', type: 'string', minLength: 1 },
      mapping({ file: prop('Secret file', 'A file holding the secret (trailing newline removed); relative paths are relative to the folder of this configuration file. Warned about if group- or world-readable.', nonEmptyString) }, ['file']),
      mapping({ env: prop('Secret environment variable', 'The name of an environment variable holding the secret; an unset or empty variable is an error.', nonEmptyString) }, ['env']),
    ],
  },
  cidr: {
    title: 'Address or network',
    description: 'An IPv4 or IPv6 address with an optional prefix length, e.g. 10.0.0.0/8, 192.168.1.5, ::1/128. A bare address means /32 (IPv4) or /128 (IPv6).',
    type: 'string',
    pattern: CIDR_PATTERN,
    patternErrorMessage: 'an IP address or network such as 10.0.0.0/8, 192.168.1.5 or ::1/128',
  },
  tls: {
    title: 'TLS',
    description: 'How connections are protected. auto (default): TLS with the shared password as pre-shared key for non-loopback addresses, plain on loopback; psk: always TLS-PSK; cert: TLS with certificates (cert and key required, ca to verify the peer); off: never.',
    errorMessage: 'a TLS mapping: { mode: auto|psk|off } or { mode: cert, cert: PATH, key: PATH, ca?: PATH }',
    oneOf: [
      mapping({
        mode: prop('TLS mode', 'auto: PSK for non-loopback addresses, off on loopback; psk: always TLS-PSK; off: never TLS; cert: certificates (then cert and key are required).', { enum: ['auto', 'psk', 'off'], default: 'auto' }),
      }),
      mapping({
        mode: prop('TLS mode', 'cert: TLS with X.509 certificates.', { const: 'cert' }),
        cert: prop('Certificate', 'PEM certificate chain presented to the peer; relative to this file\'s folder.', nonEmptyString),
        key: prop('Private key', 'PEM private key of the certificate; relative to this file\'s folder. Keep it mode 0600.', nonEmptyString),
        ca: prop('CA bundle', 'PEM certificates trusted to sign the peer\'s certificate; without it the system store is used.', nonEmptyString),
      }, ['mode', 'cert', 'key']),
    ],
  },
  listen: {
    title: 'Listen address',
    description: 'Where this daemon accepts connections.',
    ...mapping({
      address: prop('Address', 'The IP address or host name to bind; 0.0.0.0 or :: for every interface.', { ...nonEmptyString, default: '127.0.0.1' }),
      port: prop('Port', 'The TCP port to bind.', port),
    }, ['port']),
  },
  metrics: {
    title: 'Metrics',
    description: 'A Prometheus text-format endpoint, GET /metrics over plain HTTP (read-only: counters and gauges, no secrets), for monitoring (docs/metrics.md). Off unless given.',
    ...mapping({
      listen: prop('Listen', 'Where the endpoint listens; keep it on loopback or a management network.', ref('listen')),
      allow: prop('Allowed addresses', 'Addresses and networks that may scrape it; others get 403. Default: loopback only.', { type: 'array', minItems: 1, items: ref('cidr'), default: LOOPBACK_ALLOW }),
    }, ['listen']),
  },
  peer: {
    title: 'Director allowed to command this daemon',
    description: 'A Director that may connect, by name, with its password and the addresses it may connect from.',
    ...mapping({
      name: prop('Director name', 'The name the Director gives (its director.name).', nonEmptyString),
      password: prop('Password', 'The secret the Director presents; the same value as in the Director\'s entry for this daemon.', ref('secret')),
      allow: prop('Allowed addresses', 'Addresses and networks the Director may connect from. Default: loopback only.', { type: 'array', minItems: 1, items: ref('cidr'), default: LOOPBACK_ALLOW }),
    }, ['name', 'password']),
  },
};

export const metricsProp = (daemon: string): JsonSchema => prop('Metrics', `Prometheus metrics of ${daemon} at http://ADDRESS:PORT/metrics (docs/metrics.md). Off unless given.`, ref('metrics'));

export const tlsProp = (what: string): JsonSchema =>
  prop('TLS', `How ${what} is protected. Default { mode: auto }: TLS-PSK for non-loopback addresses, plain on loopback.`, { ...ref('tls'), default: { mode: 'auto' } });

/** A root schema with the common header. */
export function rootSchema(file: string, title: string, description: string, body: JsonSchema, defs: Record<string, JsonSchema>): JsonSchema {
  return { $schema: DRAFT_2020_12, $id: `${SCHEMA_BASE_URL}${file}.schema.json`, title, description, ...body, $defs: defs };
}
