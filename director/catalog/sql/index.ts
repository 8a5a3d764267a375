/**
 * The catalog's SQL toolkit: dialects, conditions, the query builder and
 * DDL rendering. Re-exported from the catalog entry as `sql`.
 */
export * from './dialect.js';
export * from './conditions.js';
export * from './query-builder.js';
export * from './ddl.js';
