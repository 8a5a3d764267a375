/**
 * Console output sinks: the text report and progress line for a terminal,
 * or JSON on stdout with --json. Errors are printed with their code and the
 * process exits with the code's exit status.
 */
import { isCairnError } from '../../plugin-api/index.js';
import { AGENT_ERRORS } from '../../plugin-api/index.js';
import { CORE_ERRORS } from '../../core/index.js';
import { SD_ERRORS } from '../../sd/index.js';
import { CATALOG_ERRORS } from '../catalog/index.js';
import { DIRECTOR_ERRORS } from '../errors.js';
import { SCHEDULE_ERRORS } from '../schedule/index.js';
import { CONFIG_ERRORS } from '../../config/index.js';
import { NET_ERRORS } from '../../net/index.js';
import { formatReport, humanBytes, type JobReport } from '../jobs/job-report.js';

const CATALOGUES: Array<Record<string, { exitCode: number }>> = [AGENT_ERRORS, CORE_ERRORS, SD_ERRORS, CATALOG_ERRORS, DIRECTOR_ERRORS, SCHEDULE_ERRORS, CONFIG_ERRORS, NET_ERRORS];

export function exitCodeOf(code: string): number {
  for (const c of CATALOGUES) if (Object.hasOwn(c, code)) return c[code].exitCode;
  return 3;
}

/** One progress event of a long operation. */
export interface ProgressEvent {
  /** What progresses: a local backup or restore, or a Director's job being waited for. */
  op: 'backup' | 'restore' | 'job';
  jobId?: number;
  files?: number;
  bytes: number;
  /** Bytes a second since the operation started. */
  rate: number;
  /** Seconds left, when the size to expect is known (the last run's). */
  etaSeconds?: number;
}

export interface Output {
  json: boolean;
  /** True when progress is shown (a line on a terminal, or JSON events with --json): callers skip computing it otherwise. */
  live: boolean;
  report(r: JobReport): void;
  data(value: unknown, text: () => string): void;
  /**
   * Progress: on a terminal a line repainted at most 4 times a second; with --json one JSON line a second on
   * stderr, `{"event":"progress","op",…,"at"}` (stdout keeps only the result).
   */
  progress(p: ProgressEvent, line: () => string): void;
  endProgress(): void;
  fail(err: unknown): number;
}

/** Minimum time between progress repaints (ms): a terminal does not need more. */
const PROGRESS_INTERVAL_MS = 250;
/** Minimum time between JSON progress events (ms). */
const PROGRESS_EVENT_INTERVAL_MS = 1000;

export function makeOutput(json: boolean): Output {
  const tty = !json && process.stderr.isTTY === true;
  let last = 0;
  let shown = false;
  // A reader that goes away (`cairn jobs | head`) is not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  return {
    json,
    live: tty || json,
    report(r) {
      if (json) process.stdout.write(JSON.stringify(r) + '\n');
      else process.stdout.write(formatReport(r) + '\n');
    },
    data(value, text) {
      if (json) process.stdout.write(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
      else process.stdout.write(text() + '\n');
    },
    progress(p, line) {
      const now = Date.now();
      if (json) {
        if (now - last < PROGRESS_EVENT_INTERVAL_MS) return;
        last = now;
        process.stderr.write(`${JSON.stringify({ event: 'progress', ...p, rate: Math.round(p.rate), at: new Date(now).toISOString() })}\n`);
        return;
      }
      if (!tty || now - last < PROGRESS_INTERVAL_MS) return;
      last = now;
      shown = true;
      process.stderr.write(`\r\x1b[K${line().slice(0, (process.stderr.columns ?? 100) - 1)}`);
    },
    endProgress() {
      if (shown) process.stderr.write('\r\x1b[K');
      shown = false;
    },
    fail(err) {
      this.endProgress();
      if (isCairnError(err)) {
        const exit = exitCodeOf(err.code);
        if (json) process.stdout.write(JSON.stringify({ error: { code: err.code, message: err.message, ...err.fields } }) + '\n');
        else process.stderr.write(`cairn: ${err.message} [${err.code}]\n`);
        return exit;
      }
      const e = err as Error;
      if (json) process.stdout.write(JSON.stringify({ error: { code: 'CAIRN_E_INTERNAL', message: e?.message ?? String(err) } }) + '\n');
      else process.stderr.write(`cairn: internal error: ${e?.stack ?? String(err)}\n`);
      return 70;
    },
  };
}

export { humanBytes };
