/**
 * Every error catalogue of every part, in one list: the console maps codes
 * to exit statuses with it, docs/errors.md is generated from it, and a test
 * checks both agree and that no code is used without being catalogued.
 */
import { AGENT_ERRORS, type ErrorSpec } from '../plugin-api/index.js';
import { CORE_ERRORS } from '../core/index.js';
import { SD_ERRORS } from '../sd/index.js';
import { NATIVE_ERRORS } from '../native/index.js';
import { FS_ERRORS } from '../plugins/fs/index.js';
import { PGSQL_ERRORS } from '../plugins/pgsql/index.js';
import { PGLOG_ERRORS } from '../plugins/pglog/index.js';
import { PIPE_ERRORS } from '../plugins/pipe/index.js';
import { DIRECTOR_ERRORS, SCHEDULE_ERRORS, catalog } from '../director/index.js';
import { CONFIG_ERRORS } from '../config/index.js';
import { NET_ERRORS } from '../net/index.js';

export const CATALOGUES: Array<{ part: string; source: string; errors: Record<string, ErrorSpec> }> = [
  { part: 'plugin API (agents and their host)', source: 'plugin-api/errors.ts', errors: AGENT_ERRORS },
  { part: 'File Daemon', source: 'core/errors.ts', errors: CORE_ERRORS },
  { part: 'fs agent', source: 'plugins/fs/errors.ts', errors: FS_ERRORS },
  { part: 'pgsql agent', source: 'plugins/pgsql/errors.ts', errors: PGSQL_ERRORS },
  { part: 'pglog agent (PostgreSQL base backup + WAL)', source: 'plugins/pglog/errors.ts', errors: PGLOG_ERRORS },
  { part: 'pipe agent', source: 'plugins/pipe/errors.ts', errors: PIPE_ERRORS },
  { part: 'Storage Daemon', source: 'sd/errors.ts', errors: SD_ERRORS },
  { part: 'native addon', source: 'native/errors.ts', errors: NATIVE_ERRORS as unknown as Record<string, ErrorSpec> },
  { part: 'catalog', source: 'director/catalog/errors.ts', errors: catalog.CATALOG_ERRORS as unknown as Record<string, ErrorSpec> },
  { part: 'Director and console', source: 'director/errors.ts', errors: DIRECTOR_ERRORS },
  { part: 'schedules', source: 'director/schedule/errors.ts', errors: SCHEDULE_ERRORS },
  { part: 'configuration files', source: 'config/errors.ts', errors: CONFIG_ERRORS },
  { part: 'transport and authentication', source: 'net/errors.ts', errors: NET_ERRORS },
];
