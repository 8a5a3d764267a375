/**
 * Error catalogue of config/: reading, validating and generating the daemons'
 * YAML configuration files.
 */
import type { ErrorSpec } from '../plugin-api/index.js';

export const CONFIG_ERRORS = {
  CAIRN_E_CONFIG_READ: { exitCode: 2, retryable: false, summary: 'The configuration file cannot be read (missing, a directory, no permission); the path and errno are named.' },
  CAIRN_E_CONFIG_INVALID: { exitCode: 2, retryable: false, summary: 'The configuration file is not valid YAML or does not match its schema; each problem is named as file:line:column, key path and what was expected.' },
  CAIRN_E_CONFIG_SECRET: { exitCode: 2, retryable: false, summary: 'A password or secret given as { env } or { file } cannot be resolved (variable unset or empty, file unreadable or empty).' },
  CAIRN_E_CONFIG_EXISTS: { exitCode: 2, retryable: false, summary: 'The quickstart generator refuses to overwrite an existing configuration file; the file is named.' },
  CAIRN_E_CONFIG_SCHEMA: { exitCode: 70, retryable: false, summary: 'A bug: a built-in configuration schema uses a keyword the validator does not implement.' },
} as const satisfies Record<string, ErrorSpec>;

export type ConfigErrorCode = keyof typeof CONFIG_ERRORS;
