/**
 * Include roots: checks them before a backup walks anything. A missing root
 * fails the job (CAIRN_E_FS_ROOT_MISSING) instead of reporting everything
 * under it deleted; a root the last backup saw as a mount point that is no
 * longer one fails with CAIRN_E_FS_ROOT_NOT_MOUNTED (an unmounted disk would
 * otherwise look like an empty directory).
 */
import fs from 'node:fs';
import path from 'node:path';
import { CairnError, type AgentState, type EntryStat } from '../../plugin-api/index.js';
import { errnoCode, isAtOrUnder, lstat } from './fs-calls.js';
import { treeCompare } from './entry-selector.js';

export interface RootInfo {
  readonly text: string;
  readonly path: Buffer;
  readonly stat: EntryStat;
  readonly mountPoint: boolean;
}

/** What endBackup keeps per root in the agent state. */
export interface RootState {
  dev: string;
  wasMountPoint: boolean;
}

/** Mount points from /proc/self/mountinfo (field 5, octal escapes decoded); empty where unavailable. */
function mountPoints(): Set<string> {
  const out = new Set<string>();
  try {
    for (const line of fs.readFileSync('/proc/self/mountinfo', 'latin1').split('\n')) {
      const f = line.split(' ');
      if (f.length > 4) out.add(f[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
    }
  } catch {
    // not Linux: fall back to the st_dev comparison alone
  }
  return out;
}

function previousRoots(state: AgentState): Record<string, RootState> {
  if (state && typeof state === 'object' && !Array.isArray(state)) {
    const roots = (state as Record<string, AgentState>).roots;
    if (roots && typeof roots === 'object' && !Array.isArray(roots)) return roots as unknown as Record<string, RootState>;
  }
  return {};
}

/** Validates, stats and orders the include roots (nested roots are dropped: their parent covers them). */
export async function checkRoots(include: readonly string[], state: AgentState): Promise<RootInfo[]> {
  const before = previousRoots(state);
  const mounts = mountPoints();
  const roots: RootInfo[] = [];
  for (const raw of include) {
    if (!raw.startsWith('/')) throw new CairnError('CAIRN_E_FS_ROOT_INVALID', `include root "${raw}" is not an absolute path`, { root: raw });
    const text = path.posix.normalize(raw).replace(/(.)\/+$/, '$1');
    const bytes = Buffer.from(text, 'utf8');
    let stat: EntryStat;
    try {
      stat = await lstat(bytes);
    } catch (err) {
      throw new CairnError(
        'CAIRN_E_FS_ROOT_MISSING',
        `include root ${text} does not exist (${errnoCode(err) ?? String(err)}); the backup stops here instead of recording its files as deleted`,
        { root: text, errno: errnoCode(err) },
        { cause: err, retryable: true },
      );
    }
    let mountPoint = text === '/' || mounts.has(text);
    if (!mountPoint) {
      try {
        mountPoint = (await lstat(Buffer.from(path.posix.dirname(text)))).dev !== stat.dev;
      } catch {
        mountPoint = false;
      }
    }
    if (before[text]?.wasMountPoint === true && !mountPoint) {
      throw new CairnError(
        'CAIRN_E_FS_ROOT_NOT_MOUNTED',
        `include root ${text} was a mount point at the last backup and is not one now; mount it (or change the fileset) and run the job again`,
        { root: text, previousDev: before[text].dev, dev: String(stat.dev) },
        { retryable: true },
      );
    }
    roots.push({ text, path: bytes, stat, mountPoint });
  }
  roots.sort((a, b) => treeCompare(a.path, b.path));
  return roots.filter((r, i) => !roots.some((o, j) => j !== i && isAtOrUnder(r.path, o.path) && (o.path.length < r.path.length || j < i)));
}

export function rootsState(roots: readonly RootInfo[]): Record<string, RootState> {
  const out: Record<string, RootState> = {};
  for (const r of roots) out[r.text] = { dev: String(r.stat.dev), wasMountPoint: r.mountPoint };
  return out;
}
