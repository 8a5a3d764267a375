/**
 * pg_basebackup: finding the binary that can talk to the server, and running
 * it with its tar stream on stdout (argv only, never a shell). stderr is
 * handed line by line to the caller; a non-zero exit fails with the last lines.
 */
import { spawn, execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { CairnError } from '../../plugin-api/index.js';

const execFileP = promisify(execFile);

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The pg_basebackup to use: under `binDir` when given; else Debian's
 * /usr/lib/postgresql/<server major>/bin, then PATH. It must be of the
 * server's major version or newer.
 */
export async function findBaseBackup(binDir: string | undefined, serverMajor: number): Promise<{ path: string; version: string }> {
  const candidates = binDir ? [join(binDir, 'pg_basebackup')] : [join('/usr/lib/postgresql', String(serverMajor), 'bin', 'pg_basebackup'), ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, 'pg_basebackup'))];
  let path: string | undefined;
  for (const c of candidates) {
    if (await executable(c)) {
      path = c;
      break;
    }
  }
  if (!path) {
    throw new CairnError('CAIRN_E_PGLOG_TOOL_MISSING', `pg_basebackup not found (looked at ${candidates.slice(0, 4).join(', ')}${candidates.length > 4 ? ', …' : ''}); install PostgreSQL's client tools or set the option binDir`, { candidates: candidates.join(delimiter) });
  }
  const { stdout } = await execFileP(path, ['--version'], { env: { ...process.env, LC_ALL: 'C' } });
  const m = /(\d+)(?:\.(\d+))?/.exec(stdout);
  const major = m ? Number(m[1]) : 0;
  if (major < serverMajor) {
    throw new CairnError('CAIRN_E_PGLOG_TOOL_VERSION', `${path} is version ${stdout.trim()}, older than the server (major ${serverMajor}); use the server's version or newer (option binDir)`, { tool: path, toolVersion: stdout.trim(), serverMajor });
  }
  return { path, version: stdout.trim() };
}

export interface ToolRun {
  /** The tool's stdout, with back-pressure (the child waits while the consumer does). */
  stdout: AsyncIterable<Buffer>;
  /** Settles when the child exited: rejects with CAIRN_E_PGLOG_BASE_BACKUP unless it exited 0. */
  done: Promise<void>;
  kill(): void;
}

/** Runs `path args…`; stderr lines go to `onStderr`. Aborting `signal` kills the child. */
export function runTool(path: string, args: string[], signal: AbortSignal, onStderr: (line: string) => void): ToolRun {
  const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C', PGAPPNAME: 'cairn-pglog' } });
  const tail: string[] = [];
  let partial = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    const lines = (partial + s).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      if (!l) continue;
      tail.push(l);
      if (tail.length > 20) tail.shift();
      onStderr(l);
    }
  });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  signal.addEventListener('abort', kill, { once: true });
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => reject(new CairnError('CAIRN_E_PGLOG_BASE_BACKUP', `${path} could not be started: ${err.message}`, { tool: path }, { cause: err })));
    child.on('close', (code, sig) => {
      signal.removeEventListener('abort', kill);
      if (partial) tail.push(partial);
      if (code === 0) resolve();
      else reject(new CairnError('CAIRN_E_PGLOG_BASE_BACKUP', `${path} ${sig ? `was killed by ${sig}` : `exited with status ${code}`}: ${tail.slice(-5).join(' | ') || 'no message'}`, { tool: path, exitCode: code ?? undefined, signal: sig ?? undefined }));
    });
  });
  done.catch(() => undefined);
  return { stdout: child.stdout as AsyncIterable<Buffer>, done, kill };
}
