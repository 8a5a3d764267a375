/**
 * What the three daemons share: their command line (--config, --foreground,
 * --test-config; cairn-sd also --stdio), the lock on the working directory
 * (one copy per directory), the pino log, starting in the background, and a
 * clean shutdown on SIGTERM/SIGINT. Each daemon's own file says what it
 * serves.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';
import { CairnError, isCairnError } from '../plugin-api/index.js';
import { RepoLock } from '../director/index.js';

export type DaemonKind = 'dir' | 'fd' | 'sd';

export const DAEMON_NAMES: Record<DaemonKind, string> = { dir: 'cairn-dir', fd: 'cairn-fd', sd: 'cairn-sd' };

export interface DaemonArgs {
  config: string;
  foreground: boolean;
  testConfig: boolean;
  stdio: boolean;
}

const USAGE: Record<DaemonKind, string> = {
  dir: 'usage: cairn-dir --config FILE [--foreground] [--test-config]',
  fd: 'usage: cairn-fd --config FILE [--foreground] [--test-config]',
  sd: 'usage: cairn-sd --config FILE [--foreground] [--test-config] [--stdio]',
};

export function parseDaemonArgs(kind: DaemonKind, argv: string[]): DaemonArgs | 'help' {
  let v;
  try {
    v = parseArgs({
      args: argv,
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        foreground: { type: 'boolean', short: 'f' },
        'test-config': { type: 'boolean', short: 't' },
        stdio: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    throw new CairnError('CAIRN_E_USAGE', `${(err as Error).message}\n${USAGE[kind]}`, {});
  }
  if (v.help) return 'help';
  if (!v.config) throw new CairnError('CAIRN_E_USAGE', `--config FILE is required\n${USAGE[kind]}`, {});
  if (v.stdio && kind !== 'sd') throw new CairnError('CAIRN_E_USAGE', `--stdio is for cairn-sd only\n${USAGE[kind]}`, {});
  return { config: resolve(v.config), foreground: v.foreground === true || v.stdio === true, testConfig: v['test-config'] === true, stdio: v.stdio === true };
}

/** JSON logs: to stdout in the foreground (stderr with --stdio, whose stdout is the protocol), else to `file`. */
export function daemonLogger(kind: DaemonKind, a: DaemonArgs, file: string): Logger {
  const level = process.env.CAIRN_LOG_LEVEL ?? 'info';
  const base = { name: DAEMON_NAMES[kind] };
  if (a.stdio) return pino({ level, base }, pino.destination({ fd: 2, sync: true }));
  if (a.foreground && process.env.CAIRN_LOG_TO_FILE !== '1') return pino({ level, base }, pino.destination({ fd: 1, sync: true }));
  return pino({ level, base }, pino.destination({ dest: file, sync: true, mkdir: true }));
}

/**
 * Without --foreground: starts this same program again with --foreground, detached, its output to the log file,
 * and returns its pid; the caller prints it and exits.
 */
export function startInBackground(kind: DaemonKind, a: DaemonArgs, logFile: string): number {
  mkdirSync(join(logFile, '..'), { recursive: true });
  const out = openSync(logFile, 'a');
  const child = spawn(process.execPath, [process.argv[1], '--config', a.config, '--foreground'], {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, CAIRN_LOG_TO_FILE: '1' },
  });
  child.unref();
  return child.pid ?? 0;
}

/** One daemon per working directory: the lock names the holder when a second copy starts. */
export async function lockWorkingDirectory(kind: DaemonKind, dir: string): Promise<RepoLock> {
  mkdirSync(dir, { recursive: true });
  try {
    return await RepoLock.acquire(dir, DAEMON_NAMES[kind]);
  } catch (err) {
    if (isCairnError(err) && err.code === 'CAIRN_E_REPO_LOCKED') {
      const h = err.fields as { pid?: number; host?: string; since?: string };
      throw new CairnError('CAIRN_E_DAEMON_RUNNING', `another ${DAEMON_NAMES[kind]} (pid ${h.pid} on ${h.host}, since ${h.since}) already runs on the working directory ${dir}; stop it first (kill -TERM ${h.pid})`, { ...err.fields, workingDirectory: dir }, { cause: err });
    }
    throw err;
  }
}

/** Runs `stop` once on SIGTERM or SIGINT, then exits 0 (or 1 if stopping failed). */
export function onShutdownSignal(log: Logger, stop: (signal: string) => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    stop(signal).then(
      () => {
        log.info('stopped');
        log.flush();
        process.exit(0);
      },
      (err) => {
        log.error({ err }, 'shutdown failed');
        log.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

/** The main of each daemon: parse, run, and on a start-up error print one actionable line and exit 2. */
export async function daemonMain(kind: DaemonKind, run: (a: DaemonArgs) => Promise<void>): Promise<void> {
  let a: DaemonArgs | 'help';
  try {
    a = parseDaemonArgs(kind, process.argv.slice(2));
    if (a === 'help') {
      process.stdout.write(`${USAGE[kind]}\n`);
      return;
    }
    await run(a);
  } catch (err) {
    const code = isCairnError(err) ? err.code : 'CAIRN_E_DAEMON_START';
    process.stderr.write(`${DAEMON_NAMES[kind]}: ${(err as Error).message} [${code}]\n`);
    process.exit(2);
  }
}

/**
 * The start every daemon shares, after its config loaded: with --test-config, print the warnings and "valid"
 * and stop (null); without --foreground, start in the background and stop (null); else the log (the
 * config's warnings written to it) and the working directory's lock.
 */
export async function startDaemon(
  kind: DaemonKind,
  a: DaemonArgs,
  loaded: { warnings: string[]; logFile: string; workingDirectory: string },
): Promise<{ log: Logger; lock: RepoLock } | null> {
  const name = DAEMON_NAMES[kind];
  if (a.testConfig) {
    for (const w of loaded.warnings) process.stderr.write(`${name}: warning: ${w}\n`);
    process.stdout.write(`${name}: ${a.config} is valid\n`);
    return null;
  }
  if (!a.foreground) {
    process.stdout.write(`${name} started, pid ${startInBackground(kind, a, loaded.logFile)}, log ${loaded.logFile}\n`);
    return null;
  }
  const log = daemonLogger(kind, a, loaded.logFile);
  for (const w of loaded.warnings) log.warn(w);
  return { log, lock: await lockWorkingDirectory(kind, loaded.workingDirectory) };
}
