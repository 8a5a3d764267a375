/**
 * The pglog agent object: the API hooks, delegating to one backup or restore
 * session at a time.
 */
import { CairnError, type Agent, type AgentContext, type BackupJob, type CreateResult, type DataChunk, type EndBackupResult, type FileEntry, type JobStatus, type RestoreJob, type StreamDesc } from '../../plugin-api/index.js';
import { PglogBackup } from './backup-session.js';
import { PglogRestore } from './restore-session.js';

function noSession(hook: string): CairnError {
  return new CairnError('CAIRN_E_PGLOG_CALL_ORDER', `${hook} was called before prepareBackup/prepareRestore`, { hook });
}

export function createPglogAgent(ctx: AgentContext): Agent {
  let backup: PglogBackup | null = null;
  let restore: PglogRestore | null = null;
  return {
    async prepareBackup(job: BackupJob): Promise<void> {
      backup = new PglogBackup(ctx, job);
      await backup.prepare();
    },
    async nextFile(): Promise<FileEntry | null> {
      if (!backup) throw noSession('nextFile');
      return backup.nextFile();
    },
    readData(file: FileEntry, stream: StreamDesc): AsyncIterable<DataChunk> {
      if (!backup) throw noSession('readData');
      return backup.readData(file, stream);
    },
    async endBackup(): Promise<EndBackupResult> {
      if (!backup) throw noSession('endBackup');
      return backup.end();
    },
    async jobEnded(status: JobStatus): Promise<void> {
      const b = backup;
      backup = null;
      await b?.jobEnded(status);
    },
    async prepareRestore(job: RestoreJob): Promise<void> {
      restore = new PglogRestore(ctx, job);
      await restore.prepare();
    },
    async createFile(file: FileEntry): Promise<CreateResult> {
      if (!restore) throw noSession('createFile');
      return restore.createFile(file);
    },
    async writeData(_file: FileEntry, _stream: StreamDesc, chunk: DataChunk): Promise<void> {
      if (!restore) throw noSession('writeData');
      return restore.writeData(chunk);
    },
    async endFile(_file: FileEntry, ok: boolean): Promise<void> {
      if (!restore) throw noSession('endFile');
      return restore.endFile(ok);
    },
    async endRestore(): Promise<void> {
      if (!restore) throw noSession('endRestore');
      const r = restore;
      restore = null;
      await r.end();
    },
  };
}
