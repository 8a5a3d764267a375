/**
 * Depth-first traversal of the include roots in TREE ORDER (plugin-api
 * paths.ts): a directory's entries sorted by their name bytes, each
 * directory's contents right after it. Names are raw bytes. A directory is
 * listed and its entries lstat'ed before the walk goes on: with the
 * platform's batched scanDirectory (one thread-pool job per directory, off
 * the event loop) when it has one, else with node:fs — synchronously in
 * batches (syncIo) or concurrently (bounded) — so the walk waits on one
 * batch per directory rather than one syscall per file.
 *
 * With `xattrs`, each entry also carries its extended attributes (or the
 * errno of reading them): from the batched scan itself when there is one,
 * else from one readXattrs call per path (roots, node:fs walks).
 *
 * The walk yields entries and "prunes": a prune says "this path (and what is
 * under it) was not looked at" — excluded, unreadable, or on another
 * filesystem — so the incremental merge does not take it for deleted.
 */
import fs from 'node:fs';
import type { EntryStat, GlobSet, ScannedEntry, Xattr } from '../../plugin-api/index.js';
import { errnoCode, isDirMode, joinPath, lstat, lstatSync } from './fs-calls.js';

export interface WalkEntry {
  readonly type: 'entry';
  readonly path: Buffer;
  readonly stat: EntryStat;
  /** The directory's contents were not walked (other filesystem, unreadable). */
  readonly pruneChildren: boolean;
  /** With WalkOptions.xattrs: the entry's selected extended attributes (absent: none). */
  readonly xattrs?: Xattr[];
  /** With WalkOptions.xattrs: why they could not be read (errno name). */
  readonly xattrErrno?: string;
}

/** An entry's extended attributes as the walk got them. */
export interface XattrRead {
  readonly xattrs?: Xattr[];
  readonly xattrErrno?: string;
}

export interface WalkPrune {
  readonly type: 'prune';
  /** The path and its subtree were not walked (excluded or could not be lstat'ed). */
  readonly path: Buffer;
}

export type WalkItem = WalkEntry | WalkPrune;

export interface WalkRoot {
  readonly path: Buffer;
  readonly stat: EntryStat;
}

export interface WalkOptions {
  /** Roots in tree order, none under another. */
  readonly roots: readonly WalkRoot[];
  readonly exclude: GlobSet;
  readonly oneFileSystem: boolean;
  readonly signal: AbortSignal;
  /** Per-path problems the walk skips over (vanished, unreadable). */
  warn(text: string, path: Buffer, code: string): void;
  /** How many lstat calls of one directory run at once (async mode). */
  readonly statConcurrency?: number;
  /**
   * List and lstat with synchronous calls, yielding to the event loop every
   * SYNC_BATCH entries: several times faster on local disks (no thread-pool
   * round trip, see docs), at the cost of blocking the loop for one batch.
   */
  readonly syncIo?: boolean;
  /**
   * The platform's batched scanDirectory (sorted entries with their lstat,
   * one call per directory); when given, statConcurrency and syncIo do not apply.
   */
  readonly scanDirectory?: (dir: Buffer) => Promise<ScannedEntry[]>;
  /**
   * Read extended attributes: `scanned` says scanDirectory returns them
   * (ScanOptions.xattrs was passed); `read` gets them for one path (roots,
   * and every entry when the walk does not use scanDirectory).
   */
  readonly xattrs?: { readonly scanned: boolean; read(path: Buffer): Promise<XattrRead> };
}

/** An entry without attributes (shared, never modified). */
const NO_XATTRS: XattrRead = Object.freeze({});

/** Entries lstat'ed synchronously between two yields to the event loop. */
export const SYNC_BATCH = 256;

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** lstat calls in flight per directory: enough to keep libuv's pool busy, few enough to bound memory. */
const DEFAULT_STAT_CONCURRENCY = 64;

interface Child {
  path: Buffer;
  /** null when lstat failed; `problem` then says why (the errno name). */
  stat: EntryStat | null;
  problem?: string;
  /** The attributes from the scan (scanned: true), else read at visit time. */
  xattr?: XattrRead;
}

const failedChild = (path: Buffer, error: unknown): Child => ({ path, stat: null, problem: errnoCode(error) ?? String(error) });

interface Frame {
  children: Child[];
  next: number;
  rootDev: bigint;
}

function readdirBytes(dir: Buffer): Promise<Buffer[]> {
  return new Promise((resolve, reject) => fs.readdir(dir, { encoding: 'buffer' }, (err, names) => (err ? reject(err) : resolve(names))));
}

/** Runs fn over items with at most `limit` in flight; results keep input order. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export async function* walkTree(opts: WalkOptions): AsyncGenerator<WalkItem> {
  const concurrency = opts.statConcurrency ?? DEFAULT_STAT_CONCURRENCY;

  /** Lists and lstat's a directory's children in name-byte order, or null when it cannot be read. */
  const list = async (dir: Buffer): Promise<Child[] | null> => {
    let names: Buffer[];
    let scanned: ScannedEntry[] | undefined;
    try {
      if (opts.scanDirectory) scanned = await opts.scanDirectory(dir);
      names = scanned ? [] : opts.syncIo ? fs.readdirSync(dir, { encoding: 'buffer' }) : await readdirBytes(dir);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') opts.warn(`directory vanished before it could be listed (${code})`, dir, 'CAIRN_E_FS_VANISHED');
      else opts.warn(`directory could not be listed (${code ?? String(err)}); its contents are skipped`, dir, 'CAIRN_E_FS_UNREADABLE');
      return null;
    }
    if (scanned) {
      // Already in name-byte order, each with its lstat (or the errno of a failed one).
      const out: Child[] = new Array(scanned.length);
      for (let i = 0; i < scanned.length; i++) {
        const e = scanned[i];
        out[i] = { path: joinPath(dir, e.name), stat: e.stat, problem: e.stat === null ? (e.errno ?? 'unknown error') : undefined };
        if (opts.xattrs?.scanned) out[i].xattr = e.xattrs !== undefined || e.xattrErrno !== undefined ? { xattrs: e.xattrs, xattrErrno: e.xattrErrno } : NO_XATTRS;
      }
      return out;
    }
    names.sort(Buffer.compare);
    if (opts.syncIo) {
      const out: Child[] = new Array(names.length);
      for (let i = 0; i < names.length; i++) {
        if (i > 0 && i % SYNC_BATCH === 0) await yieldToLoop();
        const path = joinPath(dir, names[i]);
        try {
          out[i] = { path, stat: lstatSync(path) };
        } catch (error) {
          out[i] = failedChild(path, error);
        }
      }
      await yieldToLoop();
      return out;
    }
    return mapBounded(names, concurrency, async (name): Promise<Child> => {
      const path = joinPath(dir, name);
      try {
        return { path, stat: await lstat(path) };
      } catch (error) {
        return failedChild(path, error);
      }
    });
  };

  /** What to do with one lstat'ed path: the item to yield and the frame to descend into. */
  const visit = async (path: Buffer, stat: EntryStat, rootDev: bigint, scannedXattrs?: XattrRead): Promise<{ item: WalkItem; frame?: Frame }> => {
    const x = opts.xattrs ? (scannedXattrs ?? (await opts.xattrs.read(path))) : NO_XATTRS;
    const entry = (pruneChildren: boolean): WalkEntry =>
      x === NO_XATTRS ? { type: 'entry', path, stat, pruneChildren } : { type: 'entry', path, stat, pruneChildren, xattrs: x.xattrs, xattrErrno: x.xattrErrno };
    if (!isDirMode(stat.mode)) return { item: entry(false) };
    if (opts.oneFileSystem && stat.dev !== rootDev) return { item: entry(true) };
    const children = await list(path);
    if (children === null) return { item: entry(true) };
    return { item: entry(false), frame: { children, next: 0, rootDev } };
  };

  for (const root of opts.roots) {
    if (opts.exclude.matches(root.path)) {
      yield { type: 'prune', path: root.path };
      continue;
    }
    const first = await visit(root.path, root.stat, root.stat.dev);
    yield first.item;
    const stack: Frame[] = first.frame ? [first.frame] : [];
    while (stack.length > 0) {
      if (opts.signal.aborted) return;
      const top = stack[stack.length - 1];
      if (top.next >= top.children.length) {
        stack.pop();
        continue;
      }
      const child = top.children[top.next];
      top.children[top.next++] = undefined as unknown as Child; // let the listing shrink as we go
      if (opts.exclude.matches(child.path)) {
        yield { type: 'prune', path: child.path };
        continue;
      }
      if (child.stat === null) {
        if (child.problem === 'ENOENT') {
          opts.warn('file vanished before it could be backed up', child.path, 'CAIRN_E_FS_VANISHED');
        } else {
          opts.warn(`file could not be examined (${child.problem})`, child.path, 'CAIRN_E_FS_UNREADABLE');
          yield { type: 'prune', path: child.path };
        }
        continue;
      }
      const { item, frame } = await visit(child.path, child.stat, top.rootDev, child.xattr);
      yield item;
      if (frame) stack.push(frame);
    }
  }
}
