/**
 * The pgsql agent object: the hooks of plugin API v1, each handed to the
 * backup (backup-session.ts) or to the restore target the options choose —
 * dump files under the restore folder (restore-to-file.ts) or a cluster
 * (restore-to-cluster.ts).
 */
import { CairnError, isSparseChunk, type Agent, type AgentContext, type FileEntry } from '../../plugin-api/index.js';
import { PgsqlBackup } from './backup-session.js';
import { pgsqlOptions } from './manifest.js';
import { DumpFileWriter } from './restore-to-file.js';
import { ClusterRestorer } from './restore-to-cluster.js';

type Restorer = Pick<DumpFileWriter, 'create' | 'write' | 'end' | 'close'>;

export function createPgsqlAgent(ctx: AgentContext): Agent {
  const backup = new PgsqlBackup(ctx);
  let restorer: Restorer | null = null;
  const restoring = (): Restorer => {
    if (!restorer) throw new CairnError('CAIRN_E_PGSQL_CALL_ORDER', 'pgsql: a restore hook ran before prepareRestore');
    return restorer;
  };
  return {
    prepareBackup: (job) => backup.prepare(job),
    nextFile: () => backup.next(),
    readData: (file, stream) => backup.read(file, stream),
    endBackup: () => backup.end(),
    // A job that failed elsewhere may leave a dump running that nobody reads: stop it.
    jobEnded: async () => backup.stopAll(),
    async prepareRestore(job) {
      const opts = pgsqlOptions(job.options);
      const target = opts.restoreTarget === 'auto' ? (job.where ? 'file' : 'cluster') : opts.restoreTarget;
      if (target === 'file') {
        if (!job.where) throw new CairnError('CAIRN_E_PGSQL_OPTIONS', 'pgsql: restoreTarget file needs a restore folder (where)', { key: 'restoreTarget' });
        restorer = new DumpFileWriter(ctx, job.where, job.replace);
      } else {
        restorer = new ClusterRestorer(ctx, job.jobId, opts, job.options, job.replace);
      }
      ctx.log.info('pgsql: restore target', { target, where: job.where });
    },
    createFile: (file: FileEntry) => restoring().create(file),
    async writeData(file, _stream, chunk) {
      if (isSparseChunk(chunk)) throw new CairnError('CAIRN_E_PGSQL_CALL_ORDER', 'pgsql: a dump stream is sequential; got a sparse chunk');
      await restoring().write(file, chunk);
    },
    endFile: (file, ok) => restoring().end(file, ok),
    endRestore: async () => {
      await restorer?.close();
    },
  };
}
