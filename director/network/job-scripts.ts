/**
 * A job's run scripts (config `runBefore` / `runAfter`): each an argv run on
 * the Director or on the client (where the FD's own config must allow the
 * program), with CAIRN_JOB_ID, CAIRN_JOB_NAME, CAIRN_JOB_LEVEL and, after,
 * CAIRN_JOB_STATUS in its environment. A non-zero exit fails the job
 * (`onFailure: fail`, the default) or becomes a warning (`warn`); the
 * command's output goes into the job log either way.
 */
import type { Logger } from 'pino';
import { CairnError } from '../../plugin-api/index.js';
import { runCommand, type CommandResult } from '../../core/index.js';
import type { JobEntry, RunScript } from '../../config/index.js';
import type { Catalog } from '../catalog/index.js';
import type { JobScripts } from '../jobs/backup-job.js';
import type { ReportProblem } from '../jobs/job-report.js';

export interface ScriptHost {
  catalog: Catalog;
  logger: Logger;
  runOnClient(argv: string[], env: Record<string, string>): Promise<CommandResult>;
}

export function jobScripts(job: JobEntry, level: string, host: ScriptHost): JobScripts | undefined {
  if (job.runBefore.length === 0 && job.runAfter.length === 0) return undefined;
  const runAll = async (when: 'before' | 'after', scripts: RunScript[], jobId: number, status?: string): Promise<ReportProblem[]> => {
    const warnings: ReportProblem[] = [];
    const env: Record<string, string> = { CAIRN_JOB_ID: String(jobId), CAIRN_JOB_NAME: job.name, CAIRN_JOB_LEVEL: level, ...(status ? { CAIRN_JOB_STATUS: status } : {}) };
    for (const s of scripts) {
      const where = s.on === 'client' ? `client ${job.client}` : 'the Director';
      const what = `run ${when} command "${s.command.join(' ')}" on ${where}`;
      const r = s.on === 'client' ? await host.runOnClient(s.command, env) : await runCommand(s.command, { env });
      for (const line of r.lines.slice(-50)) await host.catalog.addJobLog(jobId, { level: 'info', code: 'CAIRN_I_JOB_SCRIPT', text: `${what}: ${line}` });
      if (r.exitCode === 0) continue;
      const why = r.signal ? `was killed by ${r.signal}` : `exited ${r.exitCode}`;
      const last = r.lines.filter((l) => l.startsWith('err: ')).pop()?.slice(5);
      const text = `${what} ${why}${last ? `: ${last}` : ''}`;
      host.logger.warn({ jobId, command: s.command, exitCode: r.exitCode, on: s.on }, text);
      if (s.onFailure === 'fail') throw new CairnError('CAIRN_E_JOB_SCRIPT', text, { jobId, command: s.command, exitCode: r.exitCode, when });
      warnings.push({ code: 'CAIRN_W_JOB_SCRIPT', text });
    }
    return warnings;
  };
  return {
    before: (jobId) => runAll('before', job.runBefore, jobId),
    after: (jobId, status) => runAll('after', job.runAfter, jobId, status),
  };
}
