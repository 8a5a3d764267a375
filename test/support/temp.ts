/**
 * Temporary directories and environment checks for tests.
 *
 * Owns: creating temp dirs that are always removed (even ones a test made
 * read-only), knowing whether we run in CI, and the rule for missing
 * external tools (STYLE.md anti-pattern "tests that pass by not running"):
 * in CI a missing tool fails the test; on a workstation it skips loudly.
 */
import { accessSync, chmodSync, constants, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import type { TestContext } from 'node:test';

/** A fresh directory under the OS temp dir; the caller removes it (see removeTree). */
export function makeTempDir(prefix = 'cairn-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Makes every directory under `path` owner-writable so a non-root rm can descend. */
function unlockDirs(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isDirectory()) return;
  try {
    chmodSync(path, (st.mode & 0o7777) | 0o700);
  } catch {
    return;
  }
  for (const name of readdirSync(path)) unlockDirs(join(path, name));
}

/** Removes a tree; retries after restoring write permission if a test locked directories. */
export function removeTree(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EACCES' && (err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    unlockDirs(path);
    rmSync(path, { recursive: true, force: true });
  }
}

/** A temp dir removed when test `t` finishes (pass or fail). */
export function tempDir(t: TestContext, prefix?: string): string {
  const dir = makeTempDir(prefix);
  t.after(() => removeTree(dir));
  return dir;
}

/** Runs `fn` with a temp dir that is removed afterwards, whatever happens. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T> | T, prefix?: string): Promise<T> {
  const dir = makeTempDir(prefix);
  try {
    return await fn(dir);
  } finally {
    removeTree(dir);
  }
}

/** True when running under CI (CI set to anything but '', '0' or 'false'). */
export function isCI(): boolean {
  const v = process.env.CI;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** True if running as root (owner tests need it). */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Absolute path of an executable (a bare name searched in PATH), or undefined. */
export function findTool(name: string): string | undefined {
  const candidates = isAbsolute(name) ? [name] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      if (lstatSync(c).isDirectory()) continue;
      return c;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

function missingMessage(name: string): string {
  return `required tool "${name}" is not installed (not found in PATH)`;
}

/**
 * Ensures tool `name` exists. Returns true if it does. If it does not: under
 * CI throws (the test fails); otherwise prints a warning banner, marks `t`
 * skipped (if given) and returns false — the caller must then `return`.
 */
export function requireTool(name: string, t?: TestContext): boolean {
  if (findTool(name) !== undefined) return true;
  if (isCI()) throw new Error(`${missingMessage(name)}; CI must provide it (tests may not pass by not running)`);
  const line = '!'.repeat(72);
  console.warn(`${line}\n!! SKIPPED: ${missingMessage(name)}\n!! ${t ? `test "${t.name}"` : 'a test'} did not run. Install it, or CI will fail.\n${line}`);
  t?.skip(missingMessage(name));
  return false;
}

/**
 * For `test(name, { skip: skipUnlessTool('zstd') }, fn)`: false if present,
 * the reason if missing outside CI; throws in CI.
 */
export function skipUnlessTool(name: string): false | string {
  return requireTool(name) ? false : missingMessage(name);
}
