/**
 * The vocabulary of declarative scenario trees (STYLE.md §Formats and tests).
 *
 * Owns: the entry constructors (`file`, `dir`, `symlink`, `hardlink`, `fifo`,
 * `sparse`) and the encoding of raw, non-UTF-8 names as object keys
 * (`rawName`). A spec is a plain object: keys are names, values are entries
 * or nested plain objects (a directory with default attributes).
 *
 * Raw names: object keys are strings, so `rawName(bytes)` returns a marker
 * string (NUL + "raw:" + hex). NUL can never occur in a real file name, so the
 * marker cannot collide with a genuine name; `nameBytes(key)` turns any key
 * back into the bytes to create on disk.
 */

const ENTRY = Symbol.for('cairn.test.tree-entry');
const RAW_PREFIX = '\u0000raw:';

/** Attributes every entry kind may carry. `mtimeNs` is nanoseconds since the epoch. */
export interface NodeOptions {
  mtimeNs?: bigint;
  uid?: number;
  gid?: number;
}

export interface ModeOptions extends NodeOptions {
  /** Permission bits including setuid/setgid/sticky (e.g. 0o4755, 0o1777). */
  mode?: number;
}

export interface FileOptions extends ModeOptions {
  /** Other entries may `hardlink(group)` to this file. One file per group. */
  hardlinkGroup?: string;
}

export interface SparseOptions extends FileOptions {
  /** Seed of the bytes written in the data regions (default 1). */
  seed?: number;
}

export type DirOptions = ModeOptions;

interface Branded {
  readonly [ENTRY]: true;
}

export interface FileEntry extends Branded { kind: 'file'; seed: number; size: number; opts: FileOptions }
export interface SparseEntry extends Branded { kind: 'sparse'; regions: ReadonlyArray<readonly [number, number]>; size: number; opts: SparseOptions }
export interface DirEntry extends Branded { kind: 'dir'; children: TreeSpec; opts: DirOptions }
export interface SymlinkEntry extends Branded { kind: 'symlink'; target: string | Buffer; opts: NodeOptions }
export interface HardlinkEntry extends Branded { kind: 'hardlink'; group: string }
export interface FifoEntry extends Branded { kind: 'fifo'; opts: ModeOptions }

export type Entry = FileEntry | SparseEntry | DirEntry | SymlinkEntry | HardlinkEntry | FifoEntry;

/** A directory's contents: name (or `rawName(...)` key) → entry or nested spec. */
export interface TreeSpec {
  [name: string]: Entry | TreeSpec;
}

function brand<T extends object>(value: T): T & Branded {
  return Object.assign(value, { [ENTRY]: true as const });
}

/** True for values made by the constructors below; false for nested plain specs. */
export function isEntry(value: unknown): value is Entry {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[ENTRY] === true;
}

/** A regular file of `size` bytes of content stream `seed` (see content.ts). */
export function file(seed: number, size: number, opts: FileOptions = {}): FileEntry {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`file(): size must be a non-negative integer, got ${size}`);
  return brand({ kind: 'file' as const, seed, size, opts });
}

/**
 * A sparse file of apparent `size`: only `dataRegions` ([offset, length]
 * pairs) are written (with content stream `opts.seed` at those offsets);
 * everything else is a hole.
 */
export function sparse(dataRegions: ReadonlyArray<readonly [number, number]>, size: number, opts: SparseOptions = {}): SparseEntry {
  for (const [off, len] of dataRegions) {
    if (off < 0 || len < 0 || off + len > size) throw new RangeError(`sparse(): region [${off}, ${len}] lies outside size ${size}`);
  }
  return brand({ kind: 'sparse' as const, regions: dataRegions, size, opts });
}

/** True if every value is a number or bigint: then the object is options, not children. */
function looksLikeOptions(value: object): boolean {
  const values = Object.values(value);
  return values.length > 0 && !isEntry(value) && values.every((v) => typeof v === 'number' || typeof v === 'bigint');
}

/**
 * A directory with explicit attributes. Either `dir(children, opts)` or,
 * for an empty directory, `dir(opts)` (an object whose values are all
 * numbers/bigints is read as options).
 */
export function dir(children: TreeSpec | DirOptions = {}, opts: DirOptions = {}): DirEntry {
  if (looksLikeOptions(children)) return brand({ kind: 'dir' as const, children: {}, opts: children as DirOptions });
  return brand({ kind: 'dir' as const, children: children as TreeSpec, opts });
}

/** A symbolic link; `target` is stored verbatim (a Buffer for non-UTF-8 bytes). Dangling is fine. */
export function symlink(target: string | Buffer, opts: NodeOptions = {}): SymlinkEntry {
  return brand({ kind: 'symlink' as const, target, opts });
}

/** Another name for the file declared with `{ hardlinkGroup: group }` (anywhere in the tree). */
export function hardlink(group: string): HardlinkEntry {
  return brand({ kind: 'hardlink' as const, group });
}

/** A named pipe (created with mkfifo(1)). */
export function fifo(opts: ModeOptions = {}): FifoEntry {
  return brand({ kind: 'fifo' as const, opts });
}

/** A key standing for a name made of arbitrary bytes (e.g. Latin-1 or invalid UTF-8). */
export function rawName(bytes: Buffer | Uint8Array | readonly number[]): string {
  const buf = Buffer.from(bytes as Uint8Array);
  if (buf.length === 0 || buf.includes(0x2f) || buf.includes(0)) throw new RangeError('rawName(): a name must be non-empty and contain no "/" or NUL byte');
  return RAW_PREFIX + buf.toString('hex');
}

/** The on-disk bytes of a spec key (decodes `rawName` markers, UTF-8 otherwise). */
export function nameBytes(key: string): Buffer {
  if (key.startsWith(RAW_PREFIX)) return Buffer.from(key.slice(RAW_PREFIX.length), 'hex');
  if (key === '' || key === '.' || key === '..' || key.includes('/') || key.includes('\u0000')) {
    throw new RangeError(`tree spec: ${JSON.stringify(key)} is not a valid file name`);
  }
  return Buffer.from(key, 'utf8');
}

/** True if the key is a `rawName` marker whose bytes are not valid UTF-8 (cannot pass through argv). */
export function isRawKey(key: string): boolean {
  return key.startsWith(RAW_PREFIX);
}
