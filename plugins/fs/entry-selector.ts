/**
 * Turns the walk into the entries a backup reports: classifies each path
 * (file, dir, link, hard link…), and for Incremental/Differential merges the
 * walk against the base tree (both in tree order, streamed, bounded memory):
 * unchanged paths are dropped, new or changed ones kept, and base paths under
 * the current include roots that the walk no longer finds become `deleted`
 * entries. Paths the walk did not look at (pruned: excluded, unreadable,
 * another filesystem) and paths outside the roots are never "deleted".
 * Extended attributes the walk read go on the entry (`xattrs`), except on a
 * hard link's later members (they share the first member's inode); a change
 * to them changes the ctime, so the comparison sees it.
 */
import type { BaseFile, EntryStat, FileEntry, StreamDesc } from '../../plugin-api/index.js';
import { ZERO_STAT, isAtOrUnder, kindOfMode, toFileStat } from './fs-calls.js';
import type { WalkItem } from './tree-walker.js';

/** One entry to report, with the lstat it came from (absent for deletions). */
export interface Candidate {
  readonly entry: FileEntry;
  readonly stat?: EntryStat;
}

export interface SelectOptions {
  readonly roots: readonly Buffer[];
  readonly base?: AsyncIterable<BaseFile>;
  readonly sparse: boolean;
  /** Called for a reported entry whose extended attributes could not be read (errno name). */
  readonly xattrProblem?: (path: Buffer, errno: string) => void;
}

/** Tree order on bytes without allocating: `/` sorts as 0x00. */
export function treeCompare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] === 0x2f ? 0 : a[i];
    const y = b[i] === 0x2f ? 0 : b[i];
    if (x !== y) return x - y;
  }
  return a.length - b.length;
}

function toBuffer(p: Uint8Array): Buffer {
  return Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}

/** Tracks hard-link groups: only inodes with nlink > 1, forgotten once all their links were seen. */
export class HardlinkTable {
  private readonly firsts = new Map<string, { path: Buffer; remaining: number }>();

  /** The first member's path if this inode was seen before, else null (and remembers it). */
  firstOf(path: Buffer, st: EntryStat): Buffer | null {
    const key = `${st.dev}:${st.ino}`;
    const seen = this.firsts.get(key);
    if (!seen) {
      this.firsts.set(key, { path, remaining: st.nlink - 1 });
      return null;
    }
    if (--seen.remaining <= 0) this.firsts.delete(key);
    return seen.path;
  }
}

export function entryOf(path: Buffer, st: EntryStat, links: HardlinkTable | null, sparse: boolean): FileEntry {
  let kind = kindOfMode(st.mode);
  const entry: FileEntry = { path, kind, stat: toFileStat(st), streams: [] };
  if (kind === 'file' && st.nlink > 1 && links) {
    const first = links.firstOf(path, st);
    if (first) {
      kind = 'hardlink';
      entry.kind = kind;
      entry.hardlinkTarget = first;
    }
  }
  if (kind === 'file') {
    const size = st.size;
    const holes = sparse && size > 0 && st.blocks * 512 < size;
    const stream: StreamDesc = { index: 0, name: 'data', layout: holes ? 'sparse' : 'sequential', size };
    entry.streams = [stream];
  }
  return entry;
}

function deletedEntry(b: BaseFile): Candidate {
  return { entry: { path: toBuffer(b.path), kind: 'deleted', stat: { ...ZERO_STAT }, streams: [] } };
}

function changed(b: BaseFile, e: FileEntry): boolean {
  return b.kind !== e.kind || b.size !== e.stat.size || b.mtimeNs !== e.stat.mtimeNs || b.ctimeNs !== e.stat.ctimeNs || b.ino !== e.stat.ino;
}

/** Reads a symlink's target bytes; null when it vanished or cannot be read (the reader warns). */
export type LinkReader = (path: Buffer) => Promise<Buffer | null>;

export async function* selectEntries(walk: AsyncIterable<WalkItem>, opts: SelectOptions, readLink: LinkReader): AsyncGenerator<Candidate> {
  const links = new HardlinkTable();
  const underRoots = (p: Buffer): boolean => opts.roots.some((r) => isAtOrUnder(p, r));
  let prune: { path: Buffer; self: boolean } | null = null;
  const swallowed = (p: Buffer): boolean => prune !== null && isAtOrUnder(p, prune.path) && (prune.self || p.length !== prune.path.length);

  const baseIt = opts.base?.[Symbol.asyncIterator]();
  let b: BaseFile | undefined = baseIt ? (await baseIt.next()).value ?? undefined : undefined;
  const advance = async (): Promise<void> => {
    const r = await baseIt!.next();
    b = r.done ? undefined : r.value;
  };

  const finish = async (path: Buffer, st: EntryStat): Promise<FileEntry | null> => {
    const e = entryOf(path, st, links, opts.sparse);
    if (e.kind === 'symlink') {
      const target = await readLink(path);
      if (target === null) return null;
      e.linkTarget = target;
    }
    return e;
  };

  for await (const w of walk) {
    while (b !== undefined && treeCompare(b.path, w.path) < 0) {
      const p = toBuffer(b.path);
      if (!swallowed(p) && underRoots(p)) yield deletedEntry(b);
      await advance();
    }
    const same = b !== undefined && treeCompare(b.path, w.path) === 0;
    if (w.type === 'prune') {
      prune = { path: w.path, self: true };
      if (same) await advance();
      continue;
    }
    const entry = await finish(w.path, w.stat);
    if (entry !== null && (!same || changed(b!, entry))) {
      if (entry.kind !== 'hardlink') {
        if (w.xattrs !== undefined && w.xattrs.length > 0) entry.xattrs = w.xattrs;
        else if (w.xattrErrno !== undefined) opts.xattrProblem?.(w.path, w.xattrErrno);
      }
      yield { entry, stat: w.stat };
    }
    if (same) await advance();
    if (w.pruneChildren) prune = { path: w.path, self: false };
  }
  while (b !== undefined) {
    const p = toBuffer(b.path);
    if (!swallowed(p) && underRoots(p)) yield deletedEntry(b);
    await advance();
  }
}
