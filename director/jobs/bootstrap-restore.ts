/**
 * Restore from a bootstrap file (docs/bootstrap.md) with no help from the
 * catalog: the file names each session's volume ranges and file indexes, the
 * SD reads them, the FD restores what the records carry (attributes come
 * from the volumes). The catalog only gets the restore job's own row, so an
 * empty catalog serves. Files the bootstrap names that did not come back
 * whole are listed by job and file index (or by path when the FD saw their
 * attributes).
 */
import { resolve } from 'node:path';
import { CairnError, isCairnError, type ReplacePolicy } from '../../plugin-api/index.js';
import type { RestoreOutcome } from '../../core/index.js';
import type { FdRestoreOrder, JobPlumbing } from './job-plumbing.js';
import type { JobReport } from './job-report.js';
import type { BootstrapDocument } from './bootstrap-file.js';
import { finish, prepareTarget } from './restore-job.js';

export interface BootstrapRestoreRequest {
  bootstrap: BootstrapDocument;
  to: string;
  replace: ReplacePolicy;
  signal?: AbortSignal;
  onFile?: (path: string, bytes: number) => void;
  onJobId?: (jobId: number) => void;
}

export async function runBootstrapRestore(repo: JobPlumbing, req: BootstrapRestoreRequest): Promise<JobReport> {
  const started = new Date();
  const doc = req.bootstrap;
  if (doc.sessions.length === 0) throw new CairnError('CAIRN_E_BOOTSTRAP_SYNTAX', 'the bootstrap file names no session to read', {});
  repo.files.warmUp();
  const where = resolve(req.to);
  if (!repo.targetOnClient) prepareTarget(where);
  const name = doc.job?.name || doc.sessions[doc.sessions.length - 1].name || 'bootstrap';
  const jobId = await repo.catalog.createJob({ name, type: 'restore', level: null, client: repo.clientName, startedAt: started });
  req.onJobId?.(jobId);
  let outcome: RestoreOutcome;
  try {
    const sessions: FdRestoreOrder['sessions'] = [];
    for (const s of doc.sessions) sessions.push({ jobId: s.jobId, grant: await repo.director.openReadSession({ entries: s.entries }) });
    outcome = await repo.files.restore({ mode: 'restore', restoreJobId: jobId, where, replace: req.replace, sessions, signal: req.signal, onFile: req.onFile });
  } catch (err) {
    const error = isCairnError(err) ? err : new CairnError('CAIRN_E_JOB_FAILED', (err as Error).message, {}, { cause: err });
    outcome = { files: 0, bytes: 0, completed: new Set(), problems: [], messages: [], error };
  }
  // Every file index the bootstrap names is expected back; one that did not come back and that the FD did not
  // name (it never saw its attributes) is listed by job and index. Only those are held in memory.
  const names = new Map<string, string>();
  for (const s of doc.sessions) {
    for (const e of s.entries) {
      for (const [a, b] of e.fileIndexes ?? []) {
        for (let i = a; i <= b; i++) if (!outcome.completed.has(`${s.jobId}:${i}`)) names.set(`${s.jobId}:${i}`, `(job ${s.jobId}, file index ${i})`);
      }
    }
  }
  for (const p of outcome.problems) names.delete(`${p.jobId}:${p.fileIndex}`);
  const chain = doc.sessions.map((s) => s.jobId);
  return finish(repo, 'restore', jobId, { id: doc.job?.id ?? chain[chain.length - 1], name }, started, outcome, names, { where, chain });
}
