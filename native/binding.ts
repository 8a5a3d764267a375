/**
 * native/binding.ts — finds and loads the compiled addon
 * (native/build/Release/cairn_native.node) and types its raw surface.
 *
 * Loading never throws: the result says what was loaded or, in one
 * actionable sentence, why not (not built, built for another Node or
 * platform, stale). The repo root is found by walking up from this compiled
 * file to the package.json named "cairn", so it works from dist/native/ and
 * from native/ alike.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RawBatchBinding } from './batch-services.js';
import type { RawTapeBinding } from './tape.js';
import type { RawXattrBinding } from './xattr-services.js';

/** The abiVersion this wrapper expects from src/addon.cc. */
export const EXPECTED_ABI_VERSION = 5;

/** What each abiVersion added, so a stale binary's message says what is missing. */
const ABI_ADDED: Record<number, string> = { 2: 'batched scans/reads', 3: 'batched writes', 4: 'tape drives', 5: 'extended attributes' };

/** The functions src/file-services.cc, src/batch-services.cc, src/tape-device.cc and src/xattr-services.cc register. Paths are raw bytes. */
export interface RawBinding extends RawBatchBinding, RawTapeBinding, RawXattrBinding {
  readonly abiVersion: number;
  readonly features: { readonly seekData: boolean };
  setTimes(path: Uint8Array, atimeSec: number, atimeNsec: number, mtimeSec: number, mtimeNsec: number, follow: boolean): Promise<void>;
  mkfifo(path: Uint8Array, mode: number): Promise<void>;
  mknod(path: Uint8Array, mode: number, rdev: number): Promise<void>;
  dataRegions(fd: number, size: number): Promise<Array<[number, number]>>;
  fsyncDir(path: Uint8Array): Promise<void>;
}

export interface BindingLoad {
  readonly binding?: RawBinding;
  /** Where the binary is (or was looked for). */
  readonly binaryPath: string;
  /** Why it did not load, for a sysadmin; absent when loaded. */
  readonly reason?: string;
  readonly cause?: unknown;
}

/** The directory holding Cairn's package.json, or undefined. */
export function findPackageRoot(start: string = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'cairn') return dir;
      } catch {
        // an unreadable package.json is not ours; keep walking
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0];
}

/** The default binary location, or undefined when the package root cannot be found. */
export function defaultBinaryPath(): string | undefined {
  const root = findPackageRoot();
  return root === undefined ? undefined : join(root, 'native', 'build', 'Release', 'cairn_native.node');
}

/**
 * Loads the addon (from `binaryPath`, default native/build/Release under the
 * package root); a fresh attempt per call, so callers cache (index.ts does).
 */
export function loadBinding(binaryPath: string | undefined = defaultBinaryPath()): BindingLoad {
  if (binaryPath === undefined) {
    return { binaryPath: 'native/build/Release/cairn_native.node', reason: 'cannot find the cairn package root (no package.json named "cairn" above the native module)' };
  }
  if (!existsSync(binaryPath)) {
    return { binaryPath, reason: `the addon is not built (${binaryPath} does not exist)` };
  }
  let binding: RawBinding;
  try {
    binding = createRequire(import.meta.url)(binaryPath) as RawBinding;
  } catch (cause) {
    const line = firstLine(cause);
    const foreign = /NODE_MODULE_VERSION|\bELF\b|wrong architecture|incompatible|undefined symbol|did not self-register/.test(line);
    const reason = foreign
      ? `the addon was built for another Node version or platform and cannot be loaded by Node ${process.version} on ${process.platform}-${process.arch} (${line})`
      : `the addon binary ${binaryPath} cannot be loaded (${line})`;
    return { binaryPath, reason, cause };
  }
  if (binding.abiVersion !== EXPECTED_ABI_VERSION) {
    const missing = Object.entries(ABI_ADDED)
      .filter(([v]) => Number(v) > Number(binding.abiVersion) && Number(v) <= EXPECTED_ABI_VERSION)
      .map(([, what]) => what);
    const lacks = missing.length > 0 ? `; it lacks ${missing.join(', ')}` : '';
    return { binaryPath, reason: `the addon binary is stale (abiVersion ${String(binding.abiVersion)}, this Cairn expects ${EXPECTED_ABI_VERSION}${lacks}); rebuild it with \`npm run build:native\`` };
  }
  return { binding, binaryPath };
}
