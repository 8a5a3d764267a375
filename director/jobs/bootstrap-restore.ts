/**
 * Restore from a bootstrap file (docs/bootstrap.md) with no help from the
 * catalog: the file names each session's volume ranges and file indexes, the
 * SD reads them, the FD restores what the records carry (attributes come
 * from the volumes). The catalog only gets the restore job's own row, so an
 * empty catalog serves. Files the bootstrap names that did not come back
 * whole are listed by job and file index (or by path when the FD saw their
 * attributes).
 * Encrypted sessions: with the volumes at hand (`scan`), each session's
 * encryption header is read from its start label and its signed manifest from
 * its MANIFEST records (volume-session-crypto.ts); the data key is unwrapped
 * with the keys given (or a keyring file's later wraps) — every session's,
 * before any is read, so a wrong key is named before anything is written.
 */
import { resolve } from 'node:path';
import { CairnError, isCairnError, type ReplacePolicy } from '../../plugin-api/index.js';
import type { CairnKey, KeyWrap, RestoreOutcome } from '../../core/index.js';
import type { FdRestoreOrder, JobPlumbing } from './job-plumbing.js';
import type { JobReport } from './job-report.js';
import type { BootstrapDocument } from './bootstrap-file.js';
import { finish, prepareTarget } from './restore-job.js';
import { sessionCryptoFromVolumes, type VolumeScanner } from './volume-session-crypto.js';

export interface BootstrapRestoreRequest {
  bootstrap: BootstrapDocument;
  to: string;
  replace: ReplacePolicy;
  signal?: AbortSignal;
  onFile?: (path: string, bytes: number) => void;
  onJobId?: (jobId: number) => void;
  /** Private keys for encrypted sessions (`--key FILE`); none: the FD's own. */
  keys?: CairnKey[];
  /** Later wraps of the jobs' data keys (a keyring file from `cairn key rotate` / `export-keyring`). */
  wraps?: Array<{ jobId: number; wrap: KeyWrap }>;
  /** Reads the volumes directly: each session's start label and manifest are read with it. Absent: sessions are read as unencrypted. */
  scan?: VolumeScanner;
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
  const unsigned: number[] = [];
  try {
    const sessions: FdRestoreOrder['sessions'] = [];
    for (const s of doc.sessions) {
      const crypto = req.scan ? await sessionCryptoFromVolumes(s.jobId, s.entries, req.scan, req.wraps, s.tail) : null;
      if (crypto && !crypto.manifest) unsigned.push(s.jobId);
      sessions.push({ jobId: s.jobId, grant: await repo.director.openReadSession({ entries: s.entries }), ...(crypto ? { crypto } : {}) });
    }
    outcome = await repo.files.restore({ mode: 'restore', restoreJobId: jobId, where, replace: req.replace, sessions, signal: req.signal, onFile: req.onFile, ...(req.keys?.length ? { keys: req.keys } : {}) });
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
  for (const j of unsigned) {
    outcome.messages.push({ level: 'warning', agent: 'cairn', code: 'CAIRN_W_MANIFEST', text: `job ${j}: no whole signed manifest on the volumes read; its sealed records were authenticated, its plain attributes could not be checked against the manifest` });
  }
  const chain = doc.sessions.map((s) => s.jobId);
  return finish(repo, 'restore', jobId, { id: doc.job?.id ?? chain[chain.length - 1], name }, started, outcome, names, { where, chain });
}
