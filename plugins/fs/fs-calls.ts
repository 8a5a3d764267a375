/**
 * Thin promise wrappers over node:fs callback calls the hot paths use
 * (cheaper than FileHandle objects for 100k small files), and the stat
 * shapes: the agent works on plugin-api's EntryStat (what the batched
 * platform calls return); node:fs bigint stats are converted at the source.
 */
import fs from 'node:fs';
import type { BigIntStats } from 'node:fs';
import type { EntryStat, FileKind, FileStat } from '../../plugin-api/index.js';

export type FsPath = string | Buffer;

/**
 * A node:fs bigint stat as the EntryStat the batched platform calls give
 * (dev and ino unsigned, as the native calls report them; node:fs fills
 * them from signed 64-bit slots).
 */
export function toEntryStat(st: BigIntStats): EntryStat {
  return {
    mode: Number(st.mode),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: Number(st.size),
    mtimeNs: st.mtimeNs,
    atimeNs: st.atimeNs,
    ctimeNs: st.ctimeNs,
    dev: BigInt.asUintN(64, st.dev),
    ino: BigInt.asUintN(64, st.ino),
    nlink: Number(st.nlink),
    rdev: Number(st.rdev),
    blocks: Number(st.blocks),
  };
}

export function lstat(p: FsPath): Promise<EntryStat> {
  return new Promise((resolve, reject) => fs.lstat(p, { bigint: true }, (err, st) => (err ? reject(err) : resolve(toEntryStat(st)))));
}

export function lstatSync(p: FsPath): EntryStat {
  return toEntryStat(fs.lstatSync(p, { bigint: true }));
}

export function fstat(fd: number): Promise<EntryStat> {
  return new Promise((resolve, reject) => fs.fstat(fd, { bigint: true }, (err, st) => (err ? reject(err) : resolve(toEntryStat(st)))));
}

export function open(p: FsPath, flags: number, mode = 0o600): Promise<number> {
  return new Promise((resolve, reject) => fs.open(p, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd))));
}

export function close(fd: number): Promise<void> {
  return new Promise((resolve) => fs.close(fd, () => resolve()));
}

export function read(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))));
}

/** Writes all of `data` at `position` (loops on short writes). */
export async function writeAll(fd: number, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.byteLength) {
    const n = await new Promise<number>((resolve, reject) =>
      fs.write(fd, data, done, data.byteLength - done, position + done, (err, written) => (err ? reject(err) : resolve(written))),
    );
    done += n;
  }
}

export function errnoCode(err: unknown): string | undefined {
  const c = (err as { code?: unknown })?.code;
  return typeof c === 'string' ? c : undefined;
}

const S_IFMT = 0o170000;

export function kindOfMode(mode: number): FileKind {
  switch (mode & S_IFMT) {
    case 0o040000: return 'dir';
    case 0o120000: return 'symlink';
    case 0o010000: return 'fifo';
    case 0o020000: return 'chardev';
    case 0o060000: return 'blockdev';
    case 0o140000: return 'socket';
    default: return 'file';
  }
}

export function isDirMode(mode: number): boolean {
  return (mode & S_IFMT) === 0o040000;
}

/** The API's FileStat (without `blocks`) of an EntryStat. */
export function toFileStat(st: EntryStat): FileStat {
  return {
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    mtimeNs: st.mtimeNs,
    atimeNs: st.atimeNs,
    ctimeNs: st.ctimeNs,
    dev: st.dev,
    ino: st.ino,
    nlink: st.nlink,
    rdev: st.rdev,
  };
}

export const ZERO_STAT: FileStat = { mode: 0, uid: 0, gid: 0, size: 0, mtimeNs: 0n, atimeNs: 0n, ctimeNs: 0n, dev: 0n, ino: 0n, nlink: 0, rdev: 0 };

/** `child` equals `parent` or lies under it (byte paths, `/` separated). */
export function isAtOrUnder(child: Buffer, parent: Buffer): boolean {
  if (parent.length === 1 && parent[0] === 0x2f) return child.length > 0 && child[0] === 0x2f;
  if (child.length < parent.length) return false;
  if (child.compare(parent, 0, parent.length, 0, parent.length) !== 0) return false;
  return child.length === parent.length || child[parent.length] === 0x2f;
}

/** `dir/name` as bytes. */
export function joinPath(dir: Buffer, name: Buffer): Buffer {
  if (dir.length === 1 && dir[0] === 0x2f) return Buffer.concat([dir, name]);
  const out = Buffer.allocUnsafe(dir.length + 1 + name.length);
  dir.copy(out, 0);
  out[dir.length] = 0x2f;
  name.copy(out, dir.length + 1);
  return out;
}
