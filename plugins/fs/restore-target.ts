/**
 * Where a restored entry goes, without ever writing outside the target:
 * `..` components are refused, a leading `/` is placed under `where`, and
 * every parent component is lstat'ed (once, then remembered) and must be a
 * real directory — a symlink on the way, whether the backup planted it or it
 * was already in the target tree, is refused, never followed. Missing
 * parents are created (0700; their own entries, if restored, set the mode).
 *
 * Limitation: checks are lstat-then-use, not openat(2) chains; a concurrent
 * local attacker who can write inside the target tree could still race them.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { CairnError } from '../../plugin-api/index.js';
import { errnoCode, joinPath } from './fs-calls.js';

export interface Target {
  /** Absolute target path (bytes). */
  readonly path: Buffer;
  readonly parent: Buffer;
  readonly name: Buffer;
}

/** How a regular file's temporary name is created: new, never through a symlink. */
export const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** Longest name that still leaves room for the temporary-name decoration within NAME_MAX (255). */
const MAX_DECORATED_NAME = 200;

const S_ISGID = 0o2000;

function unsafe(message: string, entryPath: Uint8Array): CairnError {
  return new CairnError('CAIRN_E_FS_RESTORE_UNSAFE_PATH', message, { path: Buffer.from(entryPath).toString('utf8') });
}

export class RestoreTarget {
  /** The base all entries are placed under ("where", or `/` in place). */
  readonly base: Buffer;
  private readonly realDirs = new Set<string>();
  /** Directories this restore created → the gid a new file in them gets. */
  private readonly fresh = new Map<string, number>();
  /** Random per restore; a counter makes each temporary name unique (O_EXCL refuses a clash anyway). */
  private readonly tmpTag = randomBytes(6).toString('hex');
  private tmpCount = 0;

  constructor(where: string | undefined) {
    this.base = Buffer.from(where === undefined ? '/' : path.resolve(where), 'utf8');
  }

  async init(): Promise<void> {
    await fs.mkdir(this.base, { recursive: true });
    this.realDirs.add(this.base.toString('latin1'));
  }

  /** Maps an entry path to its target; throws CAIRN_E_FS_RESTORE_UNSAFE_PATH for `..` or NUL bytes. */
  resolve(entryPath: Uint8Array): Target {
    const bytes = Buffer.from(entryPath);
    if (bytes.includes(0)) throw unsafe('path contains a NUL byte', bytes);
    const parts: Buffer[] = [];
    let start = 0;
    for (let i = 0; i <= bytes.length; i++) {
      if (i === bytes.length || bytes[i] === 0x2f) {
        const comp = bytes.subarray(start, i);
        start = i + 1;
        if (comp.length === 0 || (comp.length === 1 && comp[0] === 0x2e)) continue;
        if (comp.length === 2 && comp[0] === 0x2e && comp[1] === 0x2e) throw unsafe('path has a ".." component; refusing to restore outside the target', bytes);
        parts.push(comp);
      }
    }
    let parent = this.base;
    for (let i = 0; i < parts.length - 1; i++) parent = joinPath(parent, parts[i]);
    if (parts.length === 0) return { path: this.base, parent: this.base, name: Buffer.alloc(0) };
    const name = parts[parts.length - 1];
    return { path: joinPath(parent, name), parent, name };
  }

  /** Ensures every directory from the base down to `dir` is a real directory (creating missing ones). */
  async ensureDir(dir: Buffer, entryPath: Uint8Array): Promise<void> {
    if (this.realDirs.has(dir.toString('latin1'))) return;
    if (dir.length <= this.base.length) throw unsafe('path leads outside the target', entryPath);
    const slash = dir.lastIndexOf(0x2f);
    const up = slash <= 0 ? Buffer.from('/') : dir.subarray(0, slash);
    await this.ensureDir(up, entryPath);
    let st;
    try {
      st = await fs.lstat(dir);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      let made = true;
      try {
        await fs.mkdir(dir, 0o700);
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') throw e;
        made = false;
      }
      st = await fs.lstat(dir);
      if (made && st.isDirectory()) this.markFresh(dir, st);
    }
    if (st.isSymbolicLink()) throw unsafe(`${dir.toString('utf8')} is a symlink; refusing to follow it during restore`, entryPath);
    if (!st.isDirectory()) throw unsafe(`${dir.toString('utf8')} is not a directory`, entryPath);
    this.realDirs.add(dir.toString('latin1'));
  }

  /**
   * Records a directory this restore's own mkdir (0700) just created, with
   * its lstat: nothing in it predates the restore and only this user can add
   * to it, so an entry's path in it exists only if this restore made it.
   */
  markFresh(dir: Buffer, st: { mode: number; gid: number }): void {
    this.fresh.set(dir.toString('latin1'), st.mode & S_ISGID ? st.gid : (process.getegid?.() ?? -1));
  }

  /** The gid a new file in `dir` gets when this restore created `dir`, else undefined (not fresh). */
  freshGid(dir: Buffer): number | undefined {
    return this.fresh.get(dir.toString('latin1'));
  }

  /** A new temporary name beside the target: `.<name>.cairn-tmp-<tag><n>` (or `.cairn-tmp-<tag><n>` for long names). */
  tempPath(t: Target): Buffer {
    const suffix = `.cairn-tmp-${this.tmpTag}${(this.tmpCount++).toString(36)}`;
    const name = t.name.length <= MAX_DECORATED_NAME ? Buffer.concat([Buffer.from('.'), t.name, Buffer.from(suffix)]) : Buffer.from(suffix);
    return joinPath(t.parent, name);
  }

  /** Records a directory this restore made or checked itself. */
  markDir(dir: Buffer): void {
    this.realDirs.add(dir.toString('latin1'));
  }

  /** Forgets a path (it was replaced by something that is not a directory). */
  forget(p: Buffer): void {
    this.realDirs.delete(p.toString('latin1'));
    this.fresh.delete(p.toString('latin1'));
  }
}
