/**
 * Plugin API v1: the types an agent author works with.
 * docs/plugin-api.md is the normative text; this file must agree with it.
 */
import type { ApiVersion } from './version.js';
import type { PlatformFileServices } from './platform.js';

/** Backup levels, as in Bacula: Full, Incremental (since the last good backup of any level), Differential (since the last good Full). */
export type Level = 'full' | 'incremental' | 'differential';

/** What an entry is. `deleted` marks a path present in the base job and gone now. */
export type FileKind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'fifo' | 'chardev' | 'blockdev' | 'socket' | 'deleted';

/** lstat-like attributes. Times are nanoseconds since the epoch. */
export interface FileStat {
  /** Full st_mode: type bits and permission bits including setuid/setgid/sticky. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeNs: bigint;
  atimeNs: bigint;
  ctimeNs: bigint;
  dev: bigint;
  ino: bigint;
  nlink: number;
  /** Device number for char/block devices, else 0. */
  rdev: number;
}

/** How a stream's bytes are laid out. `sparse` streams yield chunks with offsets. */
export type StreamLayout = 'sequential' | 'sparse';

export interface StreamDesc {
  /** Index of the stream within the file (0, 1, …); records carry it. */
  readonly index: number;
  /** A short name the agent picks ("data", "xattrs", "dump"); restore hands it back. */
  readonly name: string;
  readonly layout: StreamLayout;
  /** Logical size in bytes when known in advance (for progress and for sparse truncation). */
  readonly size?: number;
}

/**
 * One extended attribute: its full name with the namespace prefix
 * (`user.mime_type`, `security.selinux`, `system.posix_acl_access`) and its
 * value, both raw bytes. POSIX ACLs travel as the kernel's binary xattr
 * value of `system.posix_acl_access` / `system.posix_acl_default`.
 */
export interface Xattr {
  readonly name: Uint8Array;
  readonly value: Uint8Array;
}

/** One entry an agent reports in nextFile(). */
export interface FileEntry {
  /** Path as raw bytes (never assumed UTF-8). Absolute for fs; a virtual path for others. */
  path: Uint8Array;
  kind: FileKind;
  stat: FileStat;
  /** Symlink target bytes (kind 'symlink'). */
  linkTarget?: Uint8Array;
  /** Path of the first member of a hard-link group whose data is stored once (kind 'hardlink'). */
  hardlinkTarget?: Uint8Array;
  /** Streams to read with readData, in order. Empty for dirs, links, fifos, deletions. */
  streams: StreamDesc[];
  /** Small JSON-able facts the agent wants back at restore (e.g. database name). */
  meta?: Record<string, unknown>;
  /**
   * Extended attributes and ACLs of the entry (API 1.4). The host stores them
   * as XATTRS records right after the attributes (docs/volume-format.md
   * §5.3.4) and, at restore, hands them back on this field of the entry it
   * passes to createFile, writeData and endFile. Hosts before 1.4 ignore it.
   */
  xattrs?: Xattr[];
}

/** A chunk of a sparse stream: bytes to place at `offset`. Sequential streams yield plain Uint8Array. */
export interface SparseChunk {
  offset: number;
  data: Uint8Array;
}

export type DataChunk = Uint8Array | SparseChunk;

export function isSparseChunk(c: DataChunk): c is SparseChunk {
  return !(c instanceof Uint8Array);
}

/** JSON value an agent keeps between its backups (durable agent state). */
export type AgentState = null | boolean | number | string | AgentState[] | { [k: string]: AgentState };

/** One file of the base job, as the catalog knows it, handed to agents in tree order. */
export interface BaseFile {
  path: Uint8Array;
  kind: FileKind;
  size: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint;
  dev: bigint;
  mode: number;
}

/** The base job an Incremental or Differential compares against. */
export interface BaseJob {
  readonly jobId: number;
  readonly level: Level;
  /** When the base job started (the Director's clock; agents should prefer their own state). */
  readonly startedAt: Date;
  /**
   * The base tree for this agent, in tree order (see comparePathsTreeOrder):
   * the state as at the base job, deletions applied. Streamed from the
   * catalog: iterate once, in bounded memory.
   */
  files(): AsyncIterable<BaseFile>;
}

export interface BackupJob {
  readonly jobId: number;
  readonly jobName: string;
  readonly level: Level;
  /** Present for Incremental/Differential when a base job exists; absent for Full. */
  readonly base?: BaseJob;
  /** The agent's state from its base job (see docs/plugin-api.md §State), or null. */
  readonly state: AgentState;
  /** Agent options from the fileset line, validated against the manifest's schema. */
  readonly options: Record<string, unknown>;
  /** Include roots from the fileset (agents that walk paths use these). */
  readonly include: readonly string[];
  /** Exclude globs from the fileset. */
  readonly exclude: readonly string[];
}

/** How restore treats an existing file at the target. */
export type ReplacePolicy = 'always' | 'never' | 'ifnewer' | 'ifolder';

export interface RestoreJob {
  readonly jobId: number;
  /** Directory to restore under ("where"); absent to restore in place. */
  readonly where?: string;
  readonly replace: ReplacePolicy;
  readonly options: Record<string, unknown>;
  /**
   * Since API 1.3, log-type agents only (manifest `restoreKind: 'log'`): the
   * time the restore was asked "as at". The Director then handed the chain
   * through the first backup that ended after it; the agent recovers up to
   * this time (e.g. PostgreSQL's recovery_target_time). Absent: recover to
   * the latest point the chain holds. Never set for `files` agents.
   */
  readonly recoveryTarget?: Date;
}

/** What createFile decided. */
export type CreateResult =
  /** The host will call writeData for each stream then endFile. */
  | 'extract'
  /** Nothing to write (replace policy, excluded…); the host skips the file's data. */
  | 'skip'
  /** The agent made the file completely (dirs, links, fifos); endFile still follows. */
  | 'created';

export type JobStatus = 'ok' | 'warning' | 'error' | 'cancelled';

export interface EndBackupResult {
  /** New durable state; saved only if the job ends ok/warning. */
  state: AgentState;
  /** Paths deleted since the base that were not reported through nextFile. */
  deletions?: Uint8Array[];
}

/** Logger stamped with the agent's name and the job id. */
export interface AgentLogger {
  debug(msg: string, facts?: Record<string, unknown>): void;
  info(msg: string, facts?: Record<string, unknown>): void;
  warn(msg: string, facts?: Record<string, unknown>): void;
  error(msg: string, facts?: Record<string, unknown>): void;
}

export type JobMessageLevel = 'info' | 'warning' | 'error';

export interface Progress {
  /** Reports bytes processed by the agent (added to the job's counters). */
  bytes(n: number): void;
  /** Reports that the agent moved on to a file. */
  file(path: Uint8Array): void;
}

/** What the host gives each agent. Never host objects: only these. */
export interface AgentContext {
  readonly agent: { readonly name: string; readonly version: string };
  /** The negotiated plugin API version. */
  readonly api: ApiVersion;
  /** The host's name and version ("cairn-fd 0.1.0"). */
  readonly host: { readonly name: string; readonly version: string };
  readonly log: AgentLogger;
  /**
   * A message that goes into the job report. `warning` for a file marks the
   * job "OK with warnings" and lists the file (vanished, unreadable…).
   */
  jobMessage(level: JobMessageLevel, text: string, facts?: { path?: Uint8Array; code?: string }): void;
  readonly progress: Progress;
  /** Fires when the job is cancelled or a hook timed out. Pass it to I/O. */
  readonly signal: AbortSignal;
  /** True when the fileset's include/exclude rules select this path (bytes or string). */
  isIncluded(path: Uint8Array | string): boolean;
  /** Platform file services Node lacks (nanosecond utimes, mkfifo, SEEK_DATA…). */
  readonly platform: PlatformFileServices;
  /**
   * Since API 1.2: a buffer of `size` bytes to read data into and then yield
   * from readData. The host takes it back once it has compressed and hashed
   * the chunk and hands the same memory out again, so a backup does not pay
   * for fresh memory per chunk (page faults and garbage collection cost more
   * than reading the data on some machines). Rules: yield the buffer, or one
   * subarray of it, at most once and whole (not split into several chunks or
   * sparse pieces); after yielding it, neither read nor write it. A buffer
   * that is never yielded is simply dropped. Its bytes are not zeroed.
   */
  chunkBuffer(size: number): Buffer;
  /**
   * Since API 1.5: runs programs the host's own configuration allows
   * (cairn-fd.yaml `commands.allow`, or the repository's settings in local
   * mode), whatever the agent's options say. See CommandService.
   */
  readonly commands: CommandService;
}

/** How CommandService.spawn starts a program. */
export interface CommandOptions {
  /** Extra environment variables; the host's environment is inherited. */
  readonly env?: Readonly<Record<string, string>>;
  /** Working directory; default the host's. */
  readonly cwd?: string;
  /** `pipe`: the agent writes the program's stdin with write()/end(). Default `ignore` (/dev/null). */
  readonly stdin?: 'pipe' | 'ignore';
  /** `pipe`: the agent reads the program's stdout from `stdout`. Default `ignore`. */
  readonly stdout?: 'pipe' | 'ignore';
  /** Name of the program in the job log's stderr lines; default argv[0]'s base name. */
  readonly label?: string;
}

/** How a program ended. */
export interface CommandExit {
  /** The exit status, or null when a signal ended it. */
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** Its last stderr lines (at most 20), for the agent's error message; every line is in the job log already. */
  readonly stderrTail: readonly string[];
}

/** A program started by CommandService.spawn. */
export interface RunningCommand {
  /** argv[0] as started. */
  readonly program: string;
  /**
   * Its stdout in chunks (stdout 'pipe'), iterated once; the program is held
   * (pipe back-pressure) while the agent does not read. Empty with stdout 'ignore'.
   */
  readonly stdout: AsyncIterable<Uint8Array>;
  /** Writes one chunk to its stdin (stdin 'pipe'); resolves once the pipe took it (back-pressure). Rejects if the program is gone. */
  write(chunk: Uint8Array): Promise<void>;
  /** Closes its stdin. */
  end(): Promise<void>;
  /** Resolves once it exited and its stderr was read (never rejects for a non-zero exit: check exitCode). */
  wait(): Promise<CommandExit>;
  /** Ends it (SIGTERM, then SIGKILL after 2 s). The host also does this when the job's signal aborts. */
  kill(): void;
}

/**
 * Since API 1.5: the host's command service. Only programs whose argv[0] is
 * on the host's allow-list start (exact string match, so list absolute
 * paths); anything else throws CAIRN_E_COMMAND_NOT_ALLOWED naming the
 * program. Arguments are an argv list: no shell runs unless argv[0] is one.
 * Every line a program writes to stderr goes into the job log as an `info`
 * job message (`label: line`).
 */
export interface CommandService {
  /** The programs this host allows (argv[0] values); empty when it allows none. */
  readonly allowed: readonly string[];
  /** Starts a program, or throws CAIRN_E_COMMAND_NOT_ALLOWED / CAIRN_E_COMMAND_INVALID / CAIRN_E_COMMAND_FAILED. */
  spawn(argv: readonly string[], options?: CommandOptions): RunningCommand;
}

/** The hooks an agent implements. All async; required ones are not optional. */
export interface Agent {
  // backup
  prepareBackup(job: BackupJob): Promise<void>;
  /** Next entry, or null at the end. */
  nextFile(): Promise<FileEntry | null>;
  /**
   * The stream's chunks. An AsyncIterable in general; since API 1.1 also a
   * synchronous Iterable (an array) when the bytes are already in memory —
   * the host then takes them all at once, with no per-chunk timeout.
   */
  readData(file: FileEntry, stream: StreamDesc): AsyncIterable<DataChunk> | Iterable<DataChunk>;
  endBackup(): Promise<EndBackupResult>;
  /** Final outcome after the SD's close reply and the catalog commit. */
  jobEnded?(status: JobStatus): Promise<void>;
  // restore
  prepareRestore(job: RestoreJob): Promise<void>;
  createFile(file: FileEntry): Promise<CreateResult>;
  writeData(file: FileEntry, stream: StreamDesc, chunk: DataChunk): Promise<void>;
  /** Set attributes, close handles, rename into place. `ok` false when a stream failed. */
  endFile(file: FileEntry, ok: boolean): Promise<void>;
  endRestore(): Promise<void>;
  // optional
  /** Estimated totals without reading data. */
  estimate?(job: BackupJob): Promise<{ files: number; bytes: number }>;
  /** Accurate mode: true when the file, as the catalog knows it, is unchanged. */
  checkFile?(file: BaseFile): Promise<boolean>;
}

/** JSON Schema (draft 2020-12 subset) for an agent's options. */
export interface OptionSchema {
  type: 'object';
  properties?: Record<string, Record<string, unknown>>;
  required?: string[];
  additionalProperties?: boolean;
}

/** How an agent's backups are restored (AgentManifest.restoreKind). */
export type RestoreKind = 'files' | 'log';

export interface AgentManifest {
  /** Unique agent name, lowercase: `fs`, `pgsql`, `acme-mail`. */
  readonly name: string;
  /** The agent's own version (semver). */
  readonly version: string;
  /** Plugin API range the agent speaks, e.g. `>=1 <2`. */
  readonly api: string;
  /** Major version of the agent's stored format; restore routes by name + formatMajor. */
  readonly formatMajor: number;
  readonly description?: string;
  readonly options?: OptionSchema;
  /**
   * `files` (default: restores file by file, a time picks the last backup
   * that ended at or before it) or `log` (since API 1.3: a base plus a chain
   * of transaction logs; a restore as at time T reads the chain through the
   * first backup that ended after T and hands T to the agent as
   * RestoreJob.recoveryTarget). An agent negotiated below 1.3 is restored as
   * `files` whatever it declares. docs/plugin-api.md §Log-type restores.
   */
  readonly restoreKind?: RestoreKind;
}

/** What an agent module exports (named exports `manifest` and `createAgent`, or a default of this shape). */
export interface AgentModule {
  readonly manifest: AgentManifest;
  createAgent(ctx: AgentContext): Agent | Promise<Agent>;
}

export type { ApiVersion };
