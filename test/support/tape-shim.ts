/**
 * The LD_PRELOAD tape shim for tests (tape-shim/tape-shim.c): builds it with
 * the system C compiler (once per source version, cached under the OS temp
 * dir) and gives the environment a child process needs so that
 * /dev/nst-cairn-NAME is a st tape drive holding the vtape file DIR/NAME.
 *
 * Owns: building the shim and the child-process environment. The shim can
 * only be preloaded into a new process, so tests drive NativeTapeDrive over
 * it in a child node (see runUnderShim).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findTool } from './temp.js';

/** Device paths the shim answers: SHIM_DEVICE_PREFIX + a vtape file name in the shim dir. */
export const SHIM_DEVICE_PREFIX = '/dev/nst-cairn-';

function packageRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'cairn') return dir;
    if (dirname(dir) === dir) throw new Error('cannot find the cairn package root');
  }
}

/** The shim's C source. */
export function shimSource(): string {
  return join(packageRoot(), 'test', 'support', 'tape-shim', 'tape-shim.c');
}

/** Builds the shim if needed and returns the .so path. Needs `cc` (the caller checks with requireTool). */
export function buildTapeShim(): string {
  const src = shimSource();
  const hash = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `cairn-tape-shim-${hash}`);
  const lib = join(dir, 'libcairn-tape-shim.so');
  if (existsSync(lib)) return lib;
  mkdirSync(dir, { recursive: true });
  const tmp = `${lib}.${process.pid}.tmp`;
  const cc = findTool('cc') ?? 'cc';
  execFileSync(cc, ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Werror', '-o', tmp, src, '-ldl', '-lpthread'], { stdio: ['ignore', 'pipe', 'pipe'] });
  renameSync(tmp, lib);
  return lib;
}

/** Environment for a child process whose /dev/nst-cairn-NAME drives hold the vtape files in `dir`. */
export function shimEnv(lib: string, dir: string): NodeJS.ProcessEnv {
  const preload = process.env.LD_PRELOAD;
  return { ...process.env, LD_PRELOAD: preload ? `${lib}:${preload}` : lib, CAIRN_TAPE_SHIM_DIR: dir };
}

/** True inside a process started with the shim preloaded. */
export function underShim(): boolean {
  return (process.env.LD_PRELOAD ?? '').includes('libcairn-tape-shim') && process.env.CAIRN_TAPE_SHIM_DIR !== undefined;
}

export interface ChildResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node args` with the shim preloaded; resolves with its exit code and output. */
export function runUnderShim(lib: string, dir: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const env = { ...shimEnv(lib, dir), ...extraEnv };
    delete env.NODE_TEST_CONTEXT; // else a `node --test` child reports in the runner's binary protocol, not TAP
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
