// Runs one child process and measures it: wall time (process.hrtime around
// the child's whole life) and peak resident set size. Peak RSS comes from
// GNU time (`/usr/bin/time -f %M`, exact, includes the child's own children)
// when installed, else from polling /proc/PID/status VmHWM (may miss a late
// peak shorter than the poll interval; reported as "polled").
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GNU_TIME = '/usr/bin/time';
/** VmHWM poll interval when GNU time is missing: frequent enough for multi-second runs. */
const POLL_MS = 20;
/** Keep at most this much of a child's stderr for error messages. */
const STDERR_KEEP = 64 * 1024;

export function haveGnuTime() {
  try {
    accessSync(GNU_TIME, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function readHwmKiB(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Runs `cmd args` and resolves { seconds, peakRssKiB, rssMethod, code, stdout, stderr }.
 * stdout is captured only with `capture: true` (else discarded).
 */
export function runMeasured(cmd, args, { cwd, capture = false, env = process.env } = {}) {
  const useTime = haveGnuTime();
  const tmp = useTime ? mkdtempSync(join(tmpdir(), 'cairn-bench-')) : undefined;
  const timeFile = tmp ? join(tmp, 'rss') : undefined;
  const argv = useTime ? ['-f', '%M', '-o', timeFile, cmd, ...args] : args;
  const file = useTime ? GNU_TIME : cmd;
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(file, argv, { cwd, env, stdio: ['ignore', capture ? 'pipe' : 'ignore', 'pipe'] });
    const out = [];
    let err = '';
    let hwm = 0;
    child.stdout?.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => {
      err += b.toString();
      if (err.length > STDERR_KEEP) err = err.slice(-STDERR_KEEP);
    });
    const poll = useTime ? undefined : setInterval(() => { hwm = Math.max(hwm, readHwmKiB(child.pid)); }, POLL_MS);
    child.on('error', (e) => {
      if (poll) clearInterval(poll);
      reject(new Error(`could not start ${cmd}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (poll) clearInterval(poll);
      let peakRssKiB = hwm;
      if (timeFile) {
        try {
          // GNU time writes "Command exited with non-zero status N" before %M on failure.
          const lines = readFileSync(timeFile, 'utf8').trim().split('\n');
          peakRssKiB = Number(lines[lines.length - 1]) || 0;
        } catch {
          peakRssKiB = 0;
        }
        rmSync(tmp, { recursive: true, force: true });
      }
      resolve({
        seconds,
        peakRssKiB,
        rssMethod: useTime ? 'gnu-time' : 'polled',
        code: code ?? (signal ? 128 : 1),
        signal,
        stdout: Buffer.concat(out).toString(),
        stderr: err,
      });
    });
  });
}

/** A shell pipeline (`sh -c`), measured the same way; RSS is the largest process in it. */
export function runShell(script, opts = {}) {
  return runMeasured('sh', ['-c', script], opts);
}

/** Single-quotes a path for sh. */
export function shq(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}
