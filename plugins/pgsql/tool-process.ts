/**
 * Running one PostgreSQL client program: argv only (never a shell), the
 * connection in options and the password in PGPASSWORD (never on a command
 * line), stderr split into lines as they come, the exit awaited, and the
 * process killed when the job is aborted or its reader is dropped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Connection } from './manifest.js';

export interface ToolExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the program could not be started at all. */
  error?: Error;
}

export interface ToolRun {
  readonly child: ChildProcess;
  readonly stdout: Readable | null;
  readonly stdin: Writable | null;
  /** Settles once the process exited and its stderr was read to the end. */
  readonly exited: Promise<ToolExit>;
  /** The last lines of stderr (for the failure message). */
  readonly tail: string[];
  kill(): void;
}

/** Lines of stderr kept for a failure message. */
const TAIL_LINES = 12;

/** libpq connection options as long options (a value can never be taken for another option). */
export function connectionArgs(c: Connection): string[] {
  const out: string[] = [];
  if (c.host) out.push(`--host=${c.host}`);
  out.push(`--port=${c.port}`);
  if (c.user) out.push(`--username=${c.user}`);
  out.push('--no-password'); // never wait for a password prompt: fail instead
  return out;
}

/**
 * A connection string naming one database. A bare database name with `=` in
 * it, or starting with postgresql://, would itself be read as a connection
 * string by the tools: quoting it as dbname='…' rules that out.
 */
export function dbnameArg(name: string): string {
  return `dbname='${name.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export function toolEnv(c: Connection): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v; // PGDATABASE, PGOPTIONS… of the FD must not leak in
  for (const k of ['PGPASSFILE', 'PGSSLMODE', 'PGSSLROOTCERT', 'PGSSLCERT', 'PGSSLKEY', 'PGSERVICEFILE', 'PGSYSCONFDIR']) if (process.env[k] !== undefined) env[k] = process.env[k];
  if (c.password !== undefined) env.PGPASSWORD = c.password;
  env.PGAPPNAME = 'cairn-pgsql';
  env.LC_MESSAGES = 'C'; // stderr is classified by its English words (warning:, ERROR:)
  return env;
}

export function startTool(path: string, args: string[], o: { connection: Connection; stdin?: boolean; stdout?: boolean; onLine: (line: string) => void; signal?: AbortSignal }): ToolRun {
  const child = spawn(path, args, {
    env: toolEnv(o.connection),
    stdio: [o.stdin ? 'pipe' : 'ignore', o.stdout ? 'pipe' : 'ignore', 'pipe'],
    shell: false,
    windowsHide: true,
  });
  const tail: string[] = [];
  let spawnError: Error | undefined;
  child.on('error', (err) => {
    spawnError ??= err;
  });
  // A reader that stops early, or a program that exits before reading all its input, must not crash the FD.
  child.stdin?.on('error', () => undefined);
  child.stdout?.on('error', () => undefined);
  const stderrDone = new Promise<void>((resolve) => {
    if (!child.stderr) return resolve();
    const rl = createInterface({ input: child.stderr, crlfDelay: Infinity });
    rl.on('line', (line) => {
      if (!line.trim()) return;
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      o.onLine(line);
    });
    rl.on('close', () => resolve());
  });
  const exited = new Promise<ToolExit>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
    child.once('error', (err) => {
      if (child.pid === undefined) resolve({ code: null, signal: null, error: err });
    });
  }).then(async (x) => {
    await stderrDone;
    return spawnError && x.error === undefined && x.code === null && x.signal === null ? { ...x, error: spawnError } : x;
  });
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  if (o.signal) {
    if (o.signal.aborted) kill();
    else {
      o.signal.addEventListener('abort', kill, { once: true });
      exited.then(() => o.signal!.removeEventListener('abort', kill));
    }
  }
  return { child, stdout: child.stdout, stdin: child.stdin, exited, tail, kill };
}

/** "pg_dump exited with status 1: <last lines of stderr>". */
export function exitText(tool: string, x: ToolExit, tail: readonly string[]): string {
  const how = x.error ? `could not run: ${x.error.message}` : x.signal ? `was killed by ${x.signal}` : `exited with status ${x.code}`;
  return `${tool} ${how}${tail.length ? `: ${tail.join(' | ')}` : ''}`;
}

export function exitOk(x: ToolExit): boolean {
  return x.error === undefined && x.code === 0;
}
