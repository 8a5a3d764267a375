/**
 * Finding PostgreSQL's client programs and checking their versions against
 * the server (backup) or the archive (restore). pg_dump refuses a server
 * newer than itself, and pg_restore cannot read an archive written by a
 * newer pg_dump: both are caught here, before any data moves, with a message
 * naming every binary found and its version.
 *
 * Where tools come from: `binDir` (the FD's own agent defaults — a folder of
 * programs to run as the FD's user is not a Director's to choose), else PATH
 * and then Debian's /usr/lib/postgresql/<major>/bin, newest first. Debian's
 * pg_wrapper in PATH is skipped: it picks a version by its own rules at run
 * time, so the version checked would not be the one run.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, realpathSync } from 'node:fs';
import { basename, delimiter, join } from 'node:path';
import { CairnError } from '../../plugin-api/index.js';

export type ToolName = 'pg_dump' | 'pg_dumpall' | 'pg_restore' | 'psql';

export interface ToolVersion {
  path: string;
  /** Like server_version_num: 15.14 → 150014, 9.6.24 → 90624. */
  num: number;
  /** The program's --version line. */
  text: string;
}

export interface ToolSet {
  dir: string;
  paths: Record<ToolName, string>;
  /** Version of the program the check was about. */
  checked: ToolVersion;
}

const DEBIAN_BASE = '/usr/lib/postgresql';
const VERSION_TIMEOUT_MS = 10_000;

/** "pg_dump (PostgreSQL) 15.14 (Debian …)" → 150014; "9.6.24" → 90624; "17beta1" → 170000. Null when there is no version. */
export function versionNum(text: string): number | null {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text) ?? /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text.trim());
  if (!m) return null;
  const a = Number(m[1]);
  const b = Number(m[2] ?? 0);
  const c = Number(m[3] ?? 0);
  return a >= 10 ? a * 10000 + b : a * 10000 + b * 100 + c;
}

/** The major release a version number belongs to: 150014 → "15", 90624 → "9.6". */
export function majorLabel(num: number): string {
  return num >= 100000 ? String(Math.floor(num / 10000)) : `${Math.floor(num / 10000)}.${Math.floor(num / 100) % 100}`;
}

/** Comparable key of the major release. */
export function majorKey(num: number): number {
  return num >= 100000 ? Math.floor(num / 10000) * 100 : Math.floor(num / 100);
}

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function toolVersion(path: string, signal?: AbortSignal): Promise<ToolVersion> {
  return new Promise((resolve, reject) => {
    execFile(path, ['--version'], { timeout: VERSION_TIMEOUT_MS, signal, encoding: 'utf8' }, (err, stdout, stderr) => {
      const line = (stdout || '').split('\n')[0].trim();
      const num = versionNum(line);
      if (err || num === null) {
        reject(new CairnError('CAIRN_E_PGSQL_TOOL_MISSING', `${path} --version did not report a PostgreSQL version: ${err ? err.message : line || stderr.trim() || 'no output'}`, { tool: path }, { cause: err ?? undefined }));
        return;
      }
      resolve({ path, num, text: line });
    });
  });
}

/** Candidate folders, in order of preference. */
export function candidateDirs(binDir: string | undefined, tool: ToolName): string[] {
  if (binDir) return [binDir];
  const out: string[] = [];
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    if (!d) continue;
    const p = join(d, tool);
    if (!existsSync(p)) continue;
    try {
      if (basename(realpathSync(p)) === 'pg_wrapper') continue;
    } catch {
      continue;
    }
    if (!out.includes(d)) out.push(d);
  }
  if (existsSync(DEBIAN_BASE)) {
    const versions = readdirSync(DEBIAN_BASE)
      .filter((v) => /^\d+(\.\d+)?$/.test(v) && existsSync(join(DEBIAN_BASE, v, 'bin', tool)))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) out.push(join(DEBIAN_BASE, v, 'bin'));
  }
  return out;
}

/**
 * The first folder holding every tool of `need` whose `check` program is at
 * least `minNum`'s major release. `why` says what the minimum is for
 * ("the server 16.2 at /run/postgresql:5432").
 */
export async function findTools(args: { binDir?: string; need: ToolName[]; check: ToolName; minNum: number; why: string; signal?: AbortSignal }): Promise<ToolSet> {
  const dirs = candidateDirs(args.binDir, args.check);
  const found: ToolVersion[] = [];
  const missing: string[] = [];
  for (const dir of dirs) {
    const paths = {} as Record<ToolName, string>;
    const absent = args.need.filter((t) => !executable((paths[t] = join(dir, t))));
    if (absent.length) {
      missing.push(`${dir} lacks ${absent.join(', ')}`);
      continue;
    }
    let v: ToolVersion;
    try {
      v = await toolVersion(paths[args.check], args.signal);
    } catch (err) {
      missing.push((err as Error).message);
      continue;
    }
    found.push(v);
    if (majorKey(v.num) >= majorKey(args.minNum)) return { dir, paths, checked: v };
  }
  const where = args.binDir ? `binDir ${args.binDir}` : `PATH and ${DEBIAN_BASE}/*/bin`;
  if (found.length === 0) {
    throw new CairnError(
      'CAIRN_E_PGSQL_TOOL_MISSING',
      `no usable ${args.need.join(', ')} in ${where}${missing.length ? ` (${missing.join('; ')})` : ''}; install PostgreSQL's client programs (Debian: postgresql-client-${majorLabel(args.minNum)}) or set binDir in the FD's agent defaults`,
      { tools: args.need, binDir: args.binDir, searched: dirs },
    );
  }
  throw new CairnError(
    'CAIRN_E_PGSQL_VERSION_MISMATCH',
    `${args.check} must be PostgreSQL ${majorLabel(args.minNum)} or newer for ${args.why}, but ${where} offers only ${found.map((f) => `${f.path} (${f.text})`).join(', ')}; install postgresql-client-${majorLabel(args.minNum)} or newer, or point binDir (FD agent defaults) at it`,
    { tool: args.check, needed: majorLabel(args.minNum), found: found.map((f) => ({ path: f.path, version: f.text })), binDir: args.binDir },
  );
}
