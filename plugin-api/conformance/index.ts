/**
 * The plugin API's conformance kit: runConformance() drives an agent module
 * through a mock host and reports named checks; nodePlatformFileServices()
 * is the pure-Node (degraded) PlatformFileServices the kit and hosts without
 * the native addon use.
 */
export { runConformance, wrappingCheck, CONFORMANCE_CHECKS } from './run-conformance.js';
export type { ConformanceOptions, ConformanceReport, ConformanceCheck, ConformanceCheckName } from './run-conformance.js';
export { nodePlatformFileServices } from './node-platform.js';
export { KitCatalog, Spool, kitContext } from './mock-host.js';
export type { BackedUpFile, SpooledStream, SpooledChunk, KitJob, KitContext, KitMessage } from './mock-host.js';
export { compareBackups, type CompareOptions } from './tree-compare.js';
