/**
 * Notifications (cairn-dir.yaml `messages.notify`): when a job ends, each
 * entry whose statuses and job types match runs its command on the
 * Director's host — the job report as JSON on stdin, a one-line summary and
 * the job's facts in CAIRN_JOB_* variables — like Bacula's mail and operator
 * messages, through whatever the admin's command does (sendmail, a webhook).
 * They run after the job has ended and cannot change it: a failing command is
 * a warning in the Director's log. The Director waits for them at shutdown.
 */
import type { Logger } from 'pino';
import { runCommand } from '../../core/index.js';
import type { NotifyEntry } from '../../config/index.js';
import type { JobReport } from '../jobs/job-report.js';

/** A notification command gets this long before it is killed. */
const NOTIFY_TIMEOUT_MS = 5 * 60_000;

export function jobSummary(type: string, report: JobReport, facts: { client: string; level?: string }): string {
  const what = `${type}${facts.level ? ` ${facts.level}` : ''}`;
  const err = report.error ? ` — ${report.error.code}: ${report.error.message}` : '';
  return `Cairn job ${report.jobId} ${report.name} (${what}, client ${facts.client}): ${report.status}${err}; ${report.files} files, ${report.bytes} bytes in ${(report.durationMs / 1000).toFixed(1)} s`;
}

export class JobNotifier {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly entries: readonly NotifyEntry[],
    private readonly logger: Logger,
  ) {}

  /** Starts the commands this job's end calls for; returns at once. */
  jobEnded(type: 'backup' | 'restore' | 'verify', report: JobReport, facts: { client: string; level?: string }): void {
    for (const e of this.entries) {
      if (!e.on.includes(report.status as NotifyEntry['on'][number]) || !e.types.includes(type)) continue;
      const p: Promise<void> = this.run(e, type, report, facts).finally(() => this.pending.delete(p));
      this.pending.add(p);
    }
  }

  /** Waits for the commands still running. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  private async run(e: NotifyEntry, type: string, report: JobReport, facts: { client: string; level?: string }): Promise<void> {
    const summary = jobSummary(type, report, facts);
    const env = {
      CAIRN_JOB_ID: String(report.jobId),
      CAIRN_JOB_NAME: report.name,
      CAIRN_JOB_TYPE: type,
      CAIRN_JOB_STATUS: report.status,
      CAIRN_JOB_LEVEL: facts.level ?? '',
      CAIRN_JOB_CLIENT: facts.client,
      CAIRN_JOB_SUMMARY: summary,
    };
    const log = { jobId: report.jobId, status: report.status, command: e.command };
    try {
      const r = await runCommand(e.command, { env, input: JSON.stringify(report) + '\n', timeoutMs: NOTIFY_TIMEOUT_MS });
      if (r.exitCode === 0) {
        this.logger.info(log, 'notification sent');
        return;
      }
      const last = r.lines.filter((l) => l.startsWith('err: ')).pop()?.slice(5);
      this.logger.warn({ ...log, exitCode: r.exitCode, signal: r.signal }, `notification command ${r.signal ? `was killed by ${r.signal}` : `exited ${r.exitCode}`}${last ? `: ${last}` : ''}`);
    } catch (err) {
      this.logger.warn({ ...log, err: (err as Error).message }, 'notification command could not run');
    }
  }
}
