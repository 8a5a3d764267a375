/**
 * Error catalogue of the fs agent. Codes thrown (job fails) and codes used as
 * `code` in per-file job messages (the job goes on, "OK with warnings").
 */
import type { ErrorSpec } from '../../plugin-api/index.js';

export const FS_ERRORS = {
  CAIRN_E_FS_ROOT_MISSING: { exitCode: 2, retryable: true, summary: 'An include root does not exist; the job fails rather than record everything as deleted.' },
  CAIRN_E_FS_ROOT_NOT_MOUNTED: { exitCode: 2, retryable: true, summary: 'An include root that was a mount point at the last backup is no longer one (filesystem not mounted).' },
  CAIRN_E_FS_ROOT_INVALID: { exitCode: 2, retryable: false, summary: 'An include root is not an absolute path.' },
  CAIRN_E_FS_CALL_ORDER: { exitCode: 3, retryable: false, summary: 'The host called the fs agent out of the documented order (e.g. readData for a file that is not the current one).' },
  CAIRN_E_FS_VANISHED: { exitCode: 1, retryable: false, summary: 'A file disappeared between listing and reading (warning).' },
  CAIRN_E_FS_UNREADABLE: { exitCode: 1, retryable: false, summary: 'A file or directory could not be read (EACCES, EIO…) and was skipped (warning).' },
  CAIRN_E_FS_FILE_CHANGED: { exitCode: 1, retryable: false, summary: 'A file changed while it was being read (warning).' },
  CAIRN_E_FS_RESTORE_UNSAFE_PATH: { exitCode: 1, retryable: false, summary: 'A restore path has `..` components or leads through a symlink; it was not restored.' },
  CAIRN_E_FS_RESTORE_FAILED: { exitCode: 1, retryable: false, summary: 'A file could not be restored (creating, writing or setting attributes failed).' },
  CAIRN_E_FS_RESTORE_EXISTS: { exitCode: 0, retryable: false, summary: 'The target exists and the replace policy kept it (info).' },
  CAIRN_E_FS_HARDLINK_TARGET_MISSING: { exitCode: 1, retryable: false, summary: "A hard link's first member was not restored in this run, so the link could not be made." },
  CAIRN_E_FS_NOT_RESTORED: { exitCode: 0, retryable: false, summary: 'An entry of a kind the agent records but does not recreate (socket, device when not root).' },
  CAIRN_E_FS_XATTRS_UNSUPPORTED: {
    exitCode: 1,
    retryable: false,
    summary: 'Extended attributes/ACLs could not be backed up or restored in this job: a filesystem without xattr support, no native addon, or a host before plugin API 1.4 (warning, once per job).',
  },
  CAIRN_E_FS_XATTR_FAILED: { exitCode: 1, retryable: false, summary: "A file's extended attributes could not be read or set (EACCES, ENOSPC, EPERM…); the file itself was handled (warning)." },
} as const satisfies Record<string, ErrorSpec>;

export type FsErrorCode = keyof typeof FS_ERRORS;
