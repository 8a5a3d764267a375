/**
 * The typed configuration objects loadConfig returns: defaults applied,
 * secrets resolved to strings, paths absolute, allow-lists in CIDR form
 * (a bare address becomes /32 or /128).
 */
import type { ConfigKind } from './schemas/index.js';

export type TlsMode = 'auto' | 'psk' | 'cert' | 'off';

export interface TlsConfig {
  mode: TlsMode;
  /** Absolute paths; cert and key are set when mode is 'cert'. */
  cert?: string;
  key?: string;
  ca?: string;
}

export interface ListenConfig {
  address: string;
  port: number;
}

/** A Prometheus endpoint (docs/metrics.md): GET /metrics on `listen`, for the addresses `allow` grants (CIDR). */
export interface MetricsConfig {
  listen: ListenConfig;
  allow: string[];
}

/** A Director that may command an FD or SD. */
export interface PeerDirector {
  name: string;
  password: string;
  allow: string[];
}

// ---- cairn-dir.yaml ----------------------------------------------------

export type CatalogConfig =
  | { engine: 'sqlite'; /** Absolute. */ path: string }
  | { engine: 'postgres'; socketDir?: string; host?: string; port: number; database: string; user: string; password?: string; /** Absolute: pg_dump and pg_restore for catalog jobs and cold start. */ binDir?: string };

export interface DirectorSection {
  name: string;
  listen: ListenConfig;
  /** Absolute. */
  workingDirectory: string;
  catalog: CatalogConfig;
  maxConcurrentJobs: number;
  heartbeatSeconds: number;
  tls: TlsConfig;
  /** Absolute: where bootstrap files are written after each backup job. */
  bootstrapDirectory: string;
  metrics?: MetricsConfig;
}

export interface ConsoleEntry {
  name: string;
  password: string;
  allow: string[];
}

export interface ClientEntry {
  name: string;
  address: string;
  port: number;
  password: string;
  maxConcurrentJobs: number;
  tls: TlsConfig;
  jobRetention?: string;
  fileRetention?: string;
}

export interface StorageEntry {
  name: string;
  /** Where the SD listens; absent when it is reached by `command`. */
  address?: string;
  port?: number;
  /** The command carrying a stdio connection to the SD (e.g. ssh … cairn-sd --stdio); absent when reached by address. */
  command?: string[];
  password: string;
  device: string;
  mediaType: string;
  maxConcurrentJobs: number;
  tls: TlsConfig;
}

export interface PoolEntry {
  name: string;
  maxVolumeBytes?: number;
  maxVolumeJobs?: number;
  labelFormat?: string;
  mediaType?: string;
  volumeUseDuration?: string;
  recyclePool?: string;
  jobRetention?: string;
  fileRetention?: string;
  volumeRetention?: string;
  keep?: { last?: number; hourly?: number; daily?: number; weekly?: number; monthly?: number; yearly?: number; within?: string; withinHourly?: string; withinDaily?: string; withinWeekly?: string; withinMonthly?: string; withinYearly?: string };
  autoPrune: boolean;
  recycle: boolean;
}

/** The YAML shape of core/fileset.ts, defaults filled; pass it to filesetFromObject. */
export interface FilesetEntry {
  name: string;
  include: string[];
  exclude: string[];
  options: { compression: 'zstd' | 'none'; level: number };
  agents: Array<{ agent: string; include: string[]; exclude: string[]; options: Record<string, unknown> }>;
}

export interface ScheduleEntry {
  name: string;
  run: string[];
}

export interface RunScript {
  command: string[];
  on: 'director' | 'client';
  onFailure: 'fail' | 'warn';
}

export interface JobEntry {
  name: string;
  /** backup: the fileset of a client; catalog: the Director's catalog, config and bootstrap files (docs/cold-start.md). */
  type: 'backup' | 'catalog';
  client: string;
  /** Set on every backup job; absent on a catalog job. */
  fileset?: string;
  /** Catalog jobs: absolute; the staged files are also copied here. */
  copyTo?: string;
  storage: string;
  pool: string;
  level: 'full' | 'incremental' | 'differential';
  schedule?: string;
  maxRetries: number;
  retryDelaySeconds: number;
  runBefore: RunScript[];
  runAfter: RunScript[];
  /** Bytes a second at most from the FD to the SD. */
  maxBandwidth?: number;
  /** A device of the storage's SD that gets a mirrored copy of every backup, written at the same time. */
  mirrorDevice?: string;
  /** Per-agent option overrides for this job (agent name → options), over the fileset lines' options. */
  agentOptions: Record<string, Record<string, unknown>>;
}

/** A command the Director runs when a job of `types` ends with a status in `on`. */
export interface NotifyEntry {
  command: string[];
  on: Array<'ok' | 'warning' | 'error' | 'cancelled'>;
  types: Array<'backup' | 'restore' | 'verify'>;
}

export interface MessagesConfig {
  /** Absolute; default <workingDirectory>/cairn-dir.log. */
  logFile: string;
  jobLogDays?: number;
  notify: NotifyEntry[];
}

export interface DirConfig {
  director: DirectorSection;
  consoles: ConsoleEntry[];
  clients: ClientEntry[];
  storages: StorageEntry[];
  pools: PoolEntry[];
  filesets: FilesetEntry[];
  schedules: ScheduleEntry[];
  jobs: JobEntry[];
  messages: MessagesConfig;
}

// ---- cairn-fd.yaml -----------------------------------------------------

export interface FdConfig {
  fd: { name: string; listen: ListenConfig; workingDirectory: string; maxConcurrentJobs: number; heartbeatSeconds: number; tls: TlsConfig; metrics?: MetricsConfig };
  directors: PeerDirector[];
  /** directories are absolute. */
  plugins: { directories: string[]; allow: string[]; isolation: Record<string, 'inprocess' | 'process'> };
  agents: Record<string, Record<string, unknown>>;
  commands: { allow: string[] };
  /** Storage Daemons this FD reaches by a command of its own (stdio), by the Director's storage name. */
  storages: Array<{ name: string; command: string[] }>;
  /** Client-side encryption (docs/encryption.md); paths absolute. */
  encryption?: { keyFile: string; masterKeys: string[]; cipher: 'aes-256-gcm' | 'chacha20-poly1305' };
}

// ---- cairn-sd.yaml -----------------------------------------------------

export interface DeviceEntry {
  name: string;
  type: 'file' | 'vtape' | 'tape';
  mediaType: string;
  /** Absolute (a device path such as /dev/nst0 stays as given). */
  path: string;
  /** vtape: the path is a changer folder with this many slots. */
  slots?: number;
  /** vtape: capacity of blank vtapes created at first use. */
  capacity?: number;
  /** tape: the mtx autochanger. */
  changer?: { device: string; drive: number; program?: string };
  filemarkBytes?: number;
  maxMediaWaitSeconds?: number;
  /** Absolute path. */
  spool?: { path: string; maxJobBytes?: number };
  blockSize?: number;
  maxVolumeBytes?: number;
  maxVolumeJobs?: number;
  maxConcurrentJobs?: number;
}

export interface SdConfig {
  /** listen absent: the SD is reached only through `cairn-sd --stdio` (its Unix socket in the working directory). */
  sd: { name: string; listen?: ListenConfig; workingDirectory: string; maxConcurrentJobs: number; heartbeatSeconds: number; tls: TlsConfig; metrics?: MetricsConfig };
  directors: PeerDirector[];
  devices: DeviceEntry[];
}

// ---- console.yaml ------------------------------------------------------

export interface ConsoleConfig {
  console: { name: string };
  director: { name: string; address: string; port: number; password: string; tls: TlsConfig };
}

export interface ConfigByKind {
  dir: DirConfig;
  fd: FdConfig;
  sd: SdConfig;
  console: ConsoleConfig;
}

export interface LoadedConfig<K extends ConfigKind = ConfigKind> {
  kind: K;
  /** The file as given (or the source name for parseConfig). */
  file: string;
  config: ConfigByKind[K];
  /** Things worth telling the admin that do not stop the daemon (e.g. a secret file readable by others). */
  warnings: string[];
}
