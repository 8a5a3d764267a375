/**
 * Builds declarative scenario trees on disk (STYLE.md §Formats and tests).
 *
 * Owns: turning a TreeSpec (see tree-spec.ts) into files, directories,
 * symlinks, hard links, FIFOs and sparse files with exact modes, owners and
 * nanosecond mtimes. Order of work:
 *   1. create every entry (raw-byte names under an ASCII stand-in name, so
 *      touch(1) can still address them), contents streamed from the seed;
 *   2. FIFOs (mkfifo), then hard links (leader may be declared anywhere);
 *   3. owner, then mode (chown clears setuid), then times of non-directories;
 *   4. directories level by level, deepest first: rename raw-named children
 *      to their real bytes, chown/chmod, set times, so no later step touches
 *      a directory whose time is already set.
 *
 * Entry point for test authors: re-exports the constructors and the
 * small-files generator, so `import { buildTree, file, … } from './tree.js'`.
 */
import { execFile } from 'node:child_process';
import { chmodSync, closeSync, ftruncateSync, lchownSync, linkSync, mkdirSync, openSync, renameSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeContentFile, writeContentRange } from './content.js';
import { setTimesNs } from './file-times.js';
import { isEntry, isRawKey, nameBytes, type DirOptions, type Entry, type ModeOptions, type TreeSpec } from './tree-spec.js';

export * from './tree-spec.js';
export { generateSmallFiles, type SmallFilesOptions, type SmallFilesResult } from './small-files.js';
export { contentBytes, fillContent, writeContentFile } from './content.js';

const run = promisify(execFile);
/** Shared write buffer for file contents (1 MiB: few syscalls, trivial memory). */
const CHUNK = 1024 * 1024;

export interface BuildTreeOptions {
  /** mtime for every entry that does not set its own (default: leave creation time). */
  mtimeNs?: bigint;
  /** Attributes for the root directory itself (created if missing). */
  root?: DirOptions;
}

export interface BuildTreeResult {
  /** Regular files created (hard links not counted again). */
  files: number;
  dirs: number;
  /** Apparent bytes of regular files (sparse files count their size). */
  bytes: number;
  /** Every name created, root excluded. */
  entries: number;
}

interface DirNode {
  /** Path while building (ASCII stand-ins for raw names, its own and its ancestors'). */
  stage: string;
  opts: DirOptions;
  depth: number;
  /** Raw-named children (files and dirs), renamed to their bytes when this level finishes. */
  rawChildren: Array<{ stage: string; final: Buffer }>;
}

interface Pending {
  stage: string;
  opts: ModeOptions;
  isLink: boolean;
}

class Builder {
  readonly dirs: DirNode[] = [];
  readonly attrs: Pending[] = [];
  readonly leaders = new Map<string, string>();
  readonly links: Array<{ group: string; stage: string }> = [];
  readonly fifos: string[] = [];
  readonly result: BuildTreeResult = { files: 0, dirs: 0, bytes: 0, entries: 0 };
  private readonly chunk = Buffer.allocUnsafeSlow(CHUNK);
  private stand = 0;

  createChildren(parent: DirNode, spec: TreeSpec): void {
    for (const key of Object.keys(spec)) {
      const bytes = nameBytes(key);
      const raw = isRawKey(key);
      const stage = join(parent.stage, raw ? `.cairn-raw-${this.stand++}` : key);
      if (raw) parent.rawChildren.push({ stage, final: Buffer.concat([Buffer.from(parent.stage + '/'), bytes]) });
      this.result.entries++;
      const value = spec[key];
      if (!isEntry(value)) {
        this.createDir(stage, value, {}, parent.depth + 1);
      } else {
        this.createEntry(stage, value, parent.depth + 1);
      }
    }
  }

  createDir(stage: string, children: TreeSpec, opts: DirOptions, depth: number): void {
    mkdirSync(stage);
    const node: DirNode = { stage, opts, depth, rawChildren: [] };
    this.dirs.push(node);
    this.result.dirs++;
    this.createChildren(node, children);
  }

  createEntry(stage: string, entry: Entry, depth: number): void {
    switch (entry.kind) {
      case 'dir':
        this.createDir(stage, entry.children, entry.opts, depth);
        return;
      case 'file':
        writeContentFile(stage, entry.seed, entry.size, this.chunk);
        this.countFile(entry.size);
        if (entry.opts.hardlinkGroup !== undefined) this.lead(entry.opts.hardlinkGroup, stage);
        this.attrs.push({ stage, opts: entry.opts, isLink: false });
        return;
      case 'sparse': {
        const fd = openSync(stage, 'w');
        try {
          ftruncateSync(fd, entry.size);
          for (const [off, len] of entry.regions) writeContentRange(fd, entry.opts.seed ?? 1, off, len, this.chunk);
        } finally {
          closeSync(fd);
        }
        this.countFile(entry.size);
        if (entry.opts.hardlinkGroup !== undefined) this.lead(entry.opts.hardlinkGroup, stage);
        this.attrs.push({ stage, opts: entry.opts, isLink: false });
        return;
      }
      case 'symlink':
        symlinkSync(entry.target, stage);
        this.attrs.push({ stage, opts: entry.opts, isLink: true });
        return;
      case 'hardlink':
        this.links.push({ group: entry.group, stage });
        return;
      case 'fifo':
        this.fifos.push(stage);
        this.attrs.push({ stage, opts: entry.opts, isLink: false });
        return;
    }
  }

  private countFile(size: number): void {
    this.result.files++;
    this.result.bytes += size;
  }

  private lead(group: string, stage: string): void {
    if (this.leaders.has(group)) throw new Error(`tree spec: hard-link group "${group}" is declared by two files (${this.leaders.get(group)} and ${stage})`);
    this.leaders.set(group, stage);
  }
}

function applyOwnerAndMode(path: string, opts: ModeOptions, isLink: boolean): void {
  if (opts.uid !== undefined || opts.gid !== undefined) {
    try {
      lchownSync(path, opts.uid ?? -1, opts.gid ?? -1);
    } catch (err) {
      throw new Error(`tree spec asks for owner ${opts.uid ?? '-'}:${opts.gid ?? '-'} on ${path}, which needs root (${(err as Error).message})`, { cause: err });
    }
  }
  if (opts.mode !== undefined && !isLink) chmodSync(path, opts.mode);
}

/** Creates `spec` under `root` (which may exist; entries must not). */
export async function buildTree(root: string, spec: TreeSpec, opts: BuildTreeOptions = {}): Promise<BuildTreeResult> {
  mkdirSync(root, { recursive: true });
  const b = new Builder();
  const top: DirNode = { stage: root, opts: opts.root ?? {}, depth: 0, rawChildren: [] };
  b.dirs.push(top);
  b.createChildren(top, spec);

  if (b.fifos.length > 0) await run('mkfifo', ['--', ...b.fifos]);
  for (const { group, stage } of b.links) {
    const leader = b.leaders.get(group);
    if (leader === undefined) throw new Error(`tree spec: hardlink("${group}") at ${stage} but no file declares { hardlinkGroup: "${group}" }`);
    linkSync(leader, stage);
  }

  const times: Array<{ path: string; ns: bigint }> = [];
  for (const a of b.attrs) {
    applyOwnerAndMode(a.stage, a.opts, a.isLink);
    const ns = a.opts.mtimeNs ?? opts.mtimeNs;
    if (ns !== undefined) times.push({ path: a.stage, ns });
  }
  await setTimesNs(times);

  const maxDepth = Math.max(...b.dirs.map((d) => d.depth));
  for (let depth = maxDepth; depth >= 0; depth--) {
    const level = b.dirs.filter((d) => d.depth === depth);
    const levelTimes: Array<{ path: string; ns: bigint }> = [];
    for (const d of level) {
      // Children at depth+1 are finished (times set); renaming them changes only d's mtime.
      for (const c of d.rawChildren) renameSync(c.stage, c.final);
      applyOwnerAndMode(d.stage, d.opts, false);
      const ns = d.opts.mtimeNs ?? (d === top ? undefined : opts.mtimeNs);
      if (ns !== undefined) levelTimes.push({ path: d.stage, ns });
    }
    await setTimesNs(levelTimes);
  }
  return b.result;
}
