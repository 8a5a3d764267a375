/**
 * Drives the `cairn` console as a child process for the acceptance tests,
 * the way a user runs it: `node bin/cairn.js --repo R <command> … --json`
 * from the project root, stdout parsed as JSON.
 *
 * Owns: locating the project root and bin/cairn.js from the compiled test,
 * running the console synchronously (`cairn`) or as a live child
 * (`startCairn`, for concurrency tests), and parsing its JSON line.
 * Not a test file itself (no `.test.` in its name).
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The project root: dist/test/e2e/ → three levels up. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CAIRN_BIN = join(PROJECT_ROOT, 'bin', 'cairn.js');

export interface CairnRun {
  /** Exit status (null if killed by a signal). */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON, when it is JSON. */
  json: any;
  /** The command, status, stdout and stderr tails: for assertion messages. */
  describe: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** Kill the child after this many ms (a safety net against hangs; default 10 minutes). */
  timeoutMs?: number;
}

/** Parses the last non-empty stdout line as JSON (the report or `{ error }`), else undefined. */
export function lastJson(stdout: string): unknown {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      return JSON.parse(lines[i]);
    } catch {
      // not JSON; look further up
    }
  }
  return undefined;
}

function describe(args: readonly string[], r: Omit<CairnRun, 'json' | 'describe'>): string {
  return `cairn ${args.join(' ')} → status ${r.status}${r.signal ? ` signal ${r.signal}` : ''}\n--- stdout ---\n${r.stdout.slice(-4000)}\n--- stderr ---\n${r.stderr.slice(-4000)}`;
}

/** Runs `cairn --repo REPO ARGS…` to completion. Add '--json' yourself where wanted. */
export function cairn(repo: string | null, args: readonly string[], opts: RunOptions = {}): CairnRun {
  const argv = [CAIRN_BIN, ...(repo === null ? [] : ['--repo', repo]), ...args];
  const r = spawnSync(process.execPath, argv, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
    timeout: opts.timeoutMs ?? 10 * 60_000,
    // SIGKILL: a cairn that outlived its job may not answer SIGTERM (its cancel handler is still installed).
    killSignal: 'SIGKILL',
  });
  const base = { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  return { ...base, json: lastJson(base.stdout), describe: describe(args, base) };
}

/** Like `cairn` but also fails the test (throws) unless the exit status is `expect`. */
export function cairnOk(repo: string | null, args: readonly string[], expect = 0, opts: RunOptions = {}): CairnRun {
  const r = cairn(repo, args, opts);
  if (r.status !== expect) throw new Error(`expected exit ${expect}: ${r.describe}`);
  return r;
}

/** A running child `cairn`; `done` resolves when it exits. */
export interface LiveCairn {
  pid: number;
  done: Promise<CairnRun>;
}

/** Starts `cairn --repo REPO ARGS…` without waiting (spawn, not spawnSync). */
export function startCairn(repo: string, args: readonly string[], opts: RunOptions = {}): LiveCairn {
  const child = spawn(process.execPath, [CAIRN_BIN, '--repo', repo, ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const killer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 10 * 60_000);
  const done = new Promise<CairnRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(killer);
      const base = { status, signal, stdout, stderr };
      resolve({ ...base, json: lastJson(stdout), describe: describe(args, base) });
    });
  });
  return { pid: child.pid ?? -1, done };
}
