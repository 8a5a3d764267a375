/**
 * Compares two directory trees the way a restore must reproduce them.
 *
 * Owns: the list of differences between tree `a` (the original) and tree `b`
 * (e.g. a restore): presence, type, permission bits (setuid/setgid/sticky
 * included), owner (opt-in), size, mtime in nanoseconds for every kind
 * (atime opt-in), symlink targets as bytes, device numbers, hard-link
 * grouping in both directions, holes of sparse files, and file bytes.
 * Names are handled as raw bytes throughout, so non-UTF-8 names compare
 * exactly. File bytes are compared in CHUNK-sized reads, never whole files.
 *
 * Sparse check: Node cannot SEEK_HOLE, so a file of `a` with holes
 * (st_blocks*512 < size) must not occupy more than its allocation in `a`
 * plus `sparseSlackBytes` in `b`. That catches a restore that fills holes,
 * not one that moves them (the byte compare catches moved data).
 */
import { AssertionError } from 'node:assert';
import { closeSync, constants, lstatSync, openSync, readSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';

/** Read size for the byte compare: two buffers of this size are all the memory used. */
const CHUNK = 1024 * 1024;
/** Default allocation slack for sparse files: filesystem metadata and block rounding. */
const SPARSE_SLACK = 256 * 1024;

export interface CompareOptions {
  /** Compare uid/gid (default false: restores by non-root users cannot chown). */
  owner?: boolean;
  /** Compare mtimes (default true) and atimes (default false). */
  mtime?: boolean;
  atime?: boolean;
  /** Compare symlinks' own mtimes (default true; needs mtime). */
  symlinkMtime?: boolean;
  /** Compare the root directories' own mode, owner and times (default false). */
  root?: boolean;
  /** Compare file bytes (default true). */
  content?: boolean;
  /** Check that holes in `a` stay holes in `b` (default true). */
  sparse?: boolean;
  sparseSlackBytes?: number;
  /** Skip a path (relative, '/'-separated bytes; display form given too). */
  ignore?: (relPath: Buffer, display: string) => boolean;
}

export type DifferenceKind =
  | 'missing' | 'extra' | 'type' | 'mode' | 'uid' | 'gid' | 'size' | 'mtime' | 'atime'
  | 'symlink' | 'rdev' | 'hardlink' | 'sparse' | 'content';

export interface Difference {
  kind: DifferenceKind;
  /** Path relative to the tree roots, for display ('' is the root; invalid UTF-8 as \xNN). */
  path: string;
  pathBytes: Buffer;
  /** What `a` and `b` have, rendered for humans. */
  a?: string;
  b?: string;
}

interface Node {
  rel: Buffer;
  st: BigIntStats;
}

const TYPES: Array<[number, string]> = [
  [constants.S_IFREG, 'file'], [constants.S_IFDIR, 'dir'], [constants.S_IFLNK, 'symlink'],
  [constants.S_IFIFO, 'fifo'], [constants.S_IFSOCK, 'socket'], [constants.S_IFCHR, 'char-device'], [constants.S_IFBLK, 'block-device'],
];

function typeOf(st: BigIntStats): string {
  const fmt = Number(st.mode) & constants.S_IFMT;
  return TYPES.find(([bits]) => bits === fmt)?.[1] ?? `unknown(${fmt.toString(8)})`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes as text: UTF-8 when valid, otherwise bytes ≥ 0x80 as \xNN. */
export function displayBytes(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    let s = '';
    for (const byte of bytes) s += byte >= 0x80 ? `\\x${byte.toString(16).padStart(2, '0')}` : String.fromCharCode(byte);
    return s;
  }
}

function join(dir: Buffer, name: Buffer): Buffer {
  return dir.length === 0 ? name : Buffer.concat([dir, Buffer.from('/'), name]);
}

/** Every entry under root keyed by its relative path bytes (latin1 is a 1:1 byte mapping). */
function walk(root: Buffer, opts: CompareOptions): Map<string, Node> {
  const out = new Map<string, Node>();
  const visit = (rel: Buffer): void => {
    const abs = rel.length === 0 ? root : join(root, rel);
    const st = lstatSync(abs, { bigint: true });
    out.set(rel.toString('latin1'), { rel, st });
    if (!st.isDirectory()) return;
    for (const name of readdirSync(abs, { encoding: 'buffer' })) {
      const child = join(rel, name);
      if (opts.ignore?.(child, displayBytes(child))) continue;
      visit(child);
    }
  };
  visit(Buffer.alloc(0));
  return out;
}

function fmtNs(ns: bigint): string {
  return `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
}

/** Offset of the first differing byte, or -1 if the files' bytes are equal. `ba`/`bb` are CHUNK-sized scratch buffers. */
function firstDifference(pa: Buffer, pb: Buffer, ba: Buffer, bb: Buffer): number {
  const fa = openSync(pa, 'r');
  try {
    const fb = openSync(pb, 'r');
    try {
      let pos = 0;
      for (;;) {
        const na = readSync(fa, ba, 0, CHUNK, pos);
        let nb = 0;
        while (nb < na) {
          const r = readSync(fb, bb, nb, na - nb, pos + nb);
          if (r === 0) break;
          nb += r;
        }
        if (na === 0) return readSync(fb, bb, 0, 1, pos) === 0 ? -1 : pos;
        if (nb !== na || !ba.subarray(0, na).equals(bb.subarray(0, na))) {
          for (let i = 0; i < Math.min(na, nb); i++) if (ba[i] !== bb[i]) return pos + i;
          return pos + Math.min(na, nb);
        }
        pos += na;
      }
    } finally {
      closeSync(fb);
    }
  } finally {
    closeSync(fa);
  }
}

/** Groups of ≥2 non-directory paths sharing an inode. */
function linkGroups(tree: Map<string, Node>): string[][] {
  const byInode = new Map<string, string[]>();
  for (const [key, n] of tree) {
    if (n.st.isDirectory()) continue;
    const id = `${n.st.dev}:${n.st.ino}`;
    const list = byInode.get(id);
    if (list) list.push(key);
    else byInode.set(id, [key]);
  }
  return [...byInode.values()].filter((g) => g.length > 1);
}

function checkLinks(from: Map<string, Node>, to: Map<string, Node>, fromName: 'a' | 'b', out: Difference[]): void {
  for (const group of linkGroups(from)) {
    const present = group.filter((k) => to.has(k));
    const inodes = new Set(present.map((k) => { const st = to.get(k)!.st; return `${st.dev}:${st.ino}`; }));
    if (inodes.size <= 1) continue;
    const rel = from.get(group[0])!.rel;
    const names = group.map((k) => displayBytes(from.get(k)!.rel)).join(', ');
    const shared = `${names} share one inode`;
    const split = `${inodes.size} inodes`;
    out.push({ kind: 'hardlink', path: displayBytes(rel), pathBytes: rel, a: fromName === 'a' ? shared : split, b: fromName === 'a' ? split : shared });
  }
}

/** Differences between trees `a` and `b`, in path order; empty means equal. */
export function compareTrees(a: string | Buffer, b: string | Buffer, opts: CompareOptions = {}): Difference[] {
  const rootA = Buffer.from(a);
  const rootB = Buffer.from(b);
  const ta = walk(rootA, opts);
  const tb = walk(rootB, opts);
  const out: Difference[] = [];
  // latin1 keys map bytes 1:1 to UTF-16 code units < 256, so string order is byte order.
  const keys = [...new Set([...ta.keys(), ...tb.keys()])].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const compared = new Set<string>();
  // Allocated once: per-file allocation of 2 MiB made 100,000 small files GC-bound.
  const scratchA = Buffer.allocUnsafeSlow(CHUNK);
  const scratchB = Buffer.allocUnsafeSlow(CHUNK);

  for (const key of keys) {
    const na = ta.get(key);
    const nb = tb.get(key);
    const rel = (na ?? nb)!.rel;
    const path = displayBytes(rel);
    const diff = (kind: DifferenceKind, va?: string, vb?: string): void => {
      out.push({ kind, path, pathBytes: rel, a: va, b: vb });
    };
    if (!na || !nb) {
      diff(na ? 'missing' : 'extra', na ? typeOf(na.st) : undefined, nb ? typeOf(nb.st) : undefined);
      continue;
    }
    const sa = na.st;
    const sb = nb.st;
    const type = typeOf(sa);
    if (type !== typeOf(sb)) {
      diff('type', type, typeOf(sb));
      continue;
    }
    const isRoot = rel.length === 0;
    const attrs = !isRoot || opts.root === true;
    if (attrs && type !== 'symlink' && (sa.mode & 0o7777n) !== (sb.mode & 0o7777n)) {
      diff('mode', (sa.mode & 0o7777n).toString(8).padStart(4, '0'), (sb.mode & 0o7777n).toString(8).padStart(4, '0'));
    }
    if (attrs && opts.owner) {
      if (sa.uid !== sb.uid) diff('uid', String(sa.uid), String(sb.uid));
      if (sa.gid !== sb.gid) diff('gid', String(sa.gid), String(sb.gid));
    }
    const times = attrs && (type !== 'symlink' || opts.symlinkMtime !== false);
    if (times && opts.mtime !== false && sa.mtimeNs !== sb.mtimeNs) diff('mtime', fmtNs(sa.mtimeNs), fmtNs(sb.mtimeNs));
    if (times && opts.atime === true && sa.atimeNs !== sb.atimeNs) diff('atime', fmtNs(sa.atimeNs), fmtNs(sb.atimeNs));
    if (type === 'char-device' || type === 'block-device') {
      if (sa.rdev !== sb.rdev) diff('rdev', String(sa.rdev), String(sb.rdev));
    }
    if (type === 'symlink') {
      const la = readlinkSync(join(rootA, rel), { encoding: 'buffer' });
      const lb = readlinkSync(join(rootB, rel), { encoding: 'buffer' });
      if (!la.equals(lb)) diff('symlink', displayBytes(la), displayBytes(lb));
    }
    if (type !== 'file') continue;
    if (sa.size !== sb.size) {
      diff('size', String(sa.size), String(sb.size));
      continue;
    }
    const allocA = sa.blocks * 512n;
    const allocB = sb.blocks * 512n;
    const slack = BigInt(opts.sparseSlackBytes ?? SPARSE_SLACK);
    if (opts.sparse !== false && allocA < sa.size && allocB > allocA + slack) {
      diff('sparse', `${allocA} bytes allocated of ${sa.size}`, `${allocB} bytes allocated`);
    }
    const pair = `${sa.dev}:${sa.ino}/${sb.dev}:${sb.ino}`;
    if (opts.content !== false && !compared.has(pair)) {
      compared.add(pair);
      const at = firstDifference(join(rootA, rel), join(rootB, rel), scratchA, scratchB);
      if (at >= 0) diff('content', `bytes differ from offset ${at}`, undefined);
    }
  }
  checkLinks(ta, tb, 'a', out);
  checkLinks(tb, ta, 'b', out);
  return out;
}

/** One line per difference, e.g. "mtime  etc/a.conf: a=1600000000.000000001 b=1600000000.000000002". */
export function formatDifference(d: Difference): string {
  const sides = [d.a !== undefined ? `a=${d.a}` : '', d.b !== undefined ? `b=${d.b}` : ''].filter(Boolean).join(' ');
  return `${d.kind.padEnd(8)} ${d.path === '' ? '(root)' : d.path}${sides ? `: ${sides}` : ''}`;
}

/** Throws an AssertionError listing the first `limit` (20) differences, if any. */
export function assertTreesEqual(a: string, b: string, opts: CompareOptions & { limit?: number } = {}): void {
  const diffs = compareTrees(a, b, opts);
  if (diffs.length === 0) return;
  const limit = opts.limit ?? 20;
  const lines = diffs.slice(0, limit).map((d) => '  ' + formatDifference(d));
  if (diffs.length > limit) lines.push(`  … and ${diffs.length - limit} more`);
  throw new AssertionError({ message: `trees differ (${diffs.length} difference${diffs.length === 1 ? '' : 's'})\n  a: ${a}\n  b: ${b}\n${lines.join('\n')}` });
}
