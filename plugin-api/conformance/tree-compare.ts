/**
 * Compares what an agent backed up from a source with what it backs up from
 * the restored copy: same paths (the restore prefix stripped), and per path
 * kind, permission bits, size, mtime, link targets and stream digests (and
 * owner when the kit runs as root). ctime, atime, inode and directory sizes
 * cannot survive a restore and are not compared.
 */
import { Buffer } from 'node:buffer';
import { displayPath } from '../paths.js';
import type { BackedUpFile } from './mock-host.js';

export interface CompareOptions {
  /** Prefix the restored paths carry (the restore's "where", without a trailing slash). */
  readonly prefix: string;
  /** Largest mtime difference tolerated: 0 with nanosecond utimes, ~1 µs with the degraded fs.utimes. */
  readonly mtimeToleranceNs: bigint;
  readonly compareOwner: boolean;
  /** Display paths (as backed up) the agent said, in a job message, it would not restore (sockets…). */
  readonly explained?: ReadonlySet<string>;
}

function strip(p: Uint8Array, prefix: Buffer): Buffer | null {
  const b = Buffer.from(p);
  if (b.length <= prefix.length || !b.subarray(0, prefix.length).equals(prefix) || b[prefix.length] !== 0x2f) return null;
  return b.subarray(prefix.length);
}

/** Differences as human-readable lines (empty when the trees agree). */
export function compareBackups(original: readonly BackedUpFile[], restored: readonly BackedUpFile[], opts: CompareOptions): string[] {
  const prefix = Buffer.from(opts.prefix.replace(/\/+$/, ''));
  const out: string[] = [];
  const want = new Map<string, BackedUpFile>();
  for (const f of original) if (f.entry.kind !== 'deleted') want.set(Buffer.from(f.entry.path).toString('latin1'), f);
  const seen = new Set<string>();
  for (const r of restored) {
    const p = strip(r.entry.path, prefix);
    if (!p) continue;
    const key = p.toString('latin1');
    const o = want.get(key);
    const name = displayPath(p);
    if (!o) {
      out.push(`${name}: restored but not in the backup`);
      continue;
    }
    seen.add(key);
    const a = o.entry;
    const b = r.entry;
    if (a.kind !== b.kind) {
      out.push(`${name}: kind ${a.kind} restored as ${b.kind}`);
      continue;
    }
    if ((a.stat.mode & 0o7777) !== (b.stat.mode & 0o7777) && a.kind !== 'symlink') out.push(`${name}: mode ${(a.stat.mode & 0o7777).toString(8)} restored as ${(b.stat.mode & 0o7777).toString(8)}`);
    if (a.kind !== 'dir' && a.kind !== 'hardlink' && a.stat.size !== b.stat.size) out.push(`${name}: size ${a.stat.size} restored as ${b.stat.size}`);
    const dt = a.stat.mtimeNs > b.stat.mtimeNs ? a.stat.mtimeNs - b.stat.mtimeNs : b.stat.mtimeNs - a.stat.mtimeNs;
    if (a.kind !== 'hardlink' && dt > opts.mtimeToleranceNs) out.push(`${name}: mtime ${a.stat.mtimeNs} restored as ${b.stat.mtimeNs}`);
    if (opts.compareOwner && (a.stat.uid !== b.stat.uid || a.stat.gid !== b.stat.gid)) out.push(`${name}: owner ${a.stat.uid}:${a.stat.gid} restored as ${b.stat.uid}:${b.stat.gid}`);
    if (a.kind === 'symlink' && !Buffer.from(a.linkTarget ?? []).equals(Buffer.from(b.linkTarget ?? []))) out.push(`${name}: link target ${displayPath(a.linkTarget ?? new Uint8Array())} restored as ${displayPath(b.linkTarget ?? new Uint8Array())}`);
    if (a.kind === 'hardlink') {
      const bt = b.hardlinkTarget ? strip(b.hardlinkTarget, prefix) : null;
      if (!bt || !bt.equals(Buffer.from(a.hardlinkTarget ?? []))) out.push(`${name}: hard link to ${displayPath(a.hardlinkTarget ?? new Uint8Array())} restored as a link to ${bt ? displayPath(bt) : 'nothing'}`);
    }
    if (a.kind === 'chardev' || a.kind === 'blockdev') if (a.stat.rdev !== b.stat.rdev) out.push(`${name}: device ${a.stat.rdev} restored as ${b.stat.rdev}`);
    if (o.streams.length !== r.streams.length) out.push(`${name}: ${o.streams.length} streams restored as ${r.streams.length}`);
    else
      for (let i = 0; i < o.streams.length; i++) {
        if (o.streams[i].digest !== r.streams[i].digest) out.push(`${name}: stream ${i} content differs (${o.streams[i].logicalSize} bytes backed up, ${r.streams[i].logicalSize} restored)`);
      }
  }
  for (const [key, f] of want) if (!seen.has(key) && !opts.explained?.has(displayPath(f.entry.path))) out.push(`${displayPath(f.entry.path)}: in the backup but not restored`);
  return out;
}
