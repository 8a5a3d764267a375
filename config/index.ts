/**
 * cairn/config — the daemons' configuration files.
 *
 * Owns: the four YAML file kinds (cairn-dir.yaml, cairn-fd.yaml,
 * cairn-sd.yaml, console.yaml), their published JSON Schemas
 * (docs/schema/*.schema.json, the same objects as SCHEMAS here), the
 * validator for the JSON Schema subset they use, loading with
 * file:line:column errors, name cross-checks, secrets from { file } and
 * { env }, and the quickstart generator. Reference: docs/config.md.
 *
 * Does not promise: that the network, catalog, schedule strings, run-script
 * programs, agent options or SD devices named in a file work — each daemon
 * checks what it uses when it starts (schedule rules: director/schedule;
 * filesets: core's filesetFromObject). Loading is synchronous and reads
 * only the file and its secret files.
 */
export { loadConfig, parseConfig, validatorFor, type ParseOptions } from './loader.js';
export type {
  ConfigByKind, LoadedConfig, TlsMode, TlsConfig, ListenConfig, MetricsConfig, PeerDirector,
  DirConfig, DirectorSection, CatalogConfig, ConsoleEntry, ClientEntry, StorageEntry, PoolEntry, FilesetEntry, ScheduleEntry, RunScript, JobEntry, MessagesConfig, NotifyEntry,
  FdConfig, SdConfig, DeviceEntry, ConsoleConfig,
} from './config-types.js';
export { SCHEMAS, SCHEMA_FILES, CONFIG_KINDS, type ConfigKind } from './schemas/index.js';
export { SCHEMA_BASE_URL } from './schemas/common.js';
export { SchemaValidator, assertSupportedSchema, type JsonSchema, type SchemaIssue, type KeyPath } from './schema-validator.js';
export { type ConfigProblem, MAX_PROBLEMS } from './config-problem.js';
export { formatKeyPath } from './yaml-locator.js';
export { normaliseCidr } from './cross-reference.js';
export { effectiveTlsMode, isLoopbackAddress } from './tls-mode.js';
export { writeQuickstart, type QuickstartOptions, type QuickstartResult, type QuickstartPorts } from './quickstart.js';
export { freeLoopbackPorts } from './free-ports.js';
export { schemaText, writeSchemas } from './write-schemas.js';
export { CONFIG_ERRORS, type ConfigErrorCode } from './errors.js';
