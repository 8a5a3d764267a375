/**
 * The fs agent object: the API hooks, delegating to one backup or restore
 * session at a time.
 */
import { CairnError, type Agent, type AgentContext, type BackupJob, type CreateResult, type DataChunk, type EndBackupResult, type FileEntry, type JobStatus, type RestoreJob, type StreamDesc } from '../../plugin-api/index.js';
import { BackupSession } from './backup-session.js';
import { RestoreSession } from './restore-session.js';

function noSession(hook: string): CairnError {
  return new CairnError('CAIRN_E_FS_CALL_ORDER', `${hook} was called before prepareBackup/prepareRestore`, { hook });
}

export function createFsAgent(ctx: AgentContext): Agent {
  let backup: BackupSession | null = null;
  let restore: RestoreSession | null = null;
  return {
    async prepareBackup(job: BackupJob): Promise<void> {
      backup = new BackupSession(ctx, job);
      await backup.prepare();
    },
    async nextFile(): Promise<FileEntry | null> {
      if (!backup) throw noSession('nextFile');
      return backup.nextFile();
    },
    readData(file: FileEntry, stream: StreamDesc): AsyncIterable<DataChunk> | Iterable<DataChunk> {
      if (!backup) throw noSession('readData');
      return backup.readData(file, stream);
    },
    async endBackup(): Promise<EndBackupResult> {
      if (!backup) throw noSession('endBackup');
      return backup.end();
    },
    async jobEnded(_status: JobStatus): Promise<void> {
      // The fs agent keeps nothing outside its state between jobs.
      backup = null;
    },
    async prepareRestore(job: RestoreJob): Promise<void> {
      restore = new RestoreSession(ctx, job);
      await restore.prepare();
    },
    async createFile(file: FileEntry): Promise<CreateResult> {
      if (!restore) throw noSession('createFile');
      return restore.createFile(file);
    },
    async writeData(file: FileEntry, stream: StreamDesc, chunk: DataChunk): Promise<void> {
      if (!restore) throw noSession('writeData');
      return restore.writeData(file, stream, chunk);
    },
    async endFile(file: FileEntry, ok: boolean): Promise<void> {
      if (!restore) throw noSession('endFile');
      return restore.endFile(file, ok);
    },
    async endRestore(): Promise<void> {
      if (!restore) throw noSession('endRestore');
      await restore.end();
      restore = null;
    },
  };
}
