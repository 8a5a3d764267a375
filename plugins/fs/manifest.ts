/**
 * The fs agent's manifest: identity, API range, stored format and options.
 */
import type { AgentManifest } from '../../plugin-api/index.js';

export const manifest: AgentManifest = {
  name: 'fs',
  version: '1.0.0',
  api: '>=1.1 <2',
  formatMajor: 1,
  restoreKind: 'files',
  description: 'Filesystem agent: backs up and restores files, directories, links, fifos and devices.',
  options: {
    type: 'object',
    properties: {
      oneFileSystem: { type: 'boolean', default: true, description: 'Do not descend into directories on another filesystem than their include root.' },
      sparse: { type: 'boolean', default: true, description: 'Store files with holes as sparse streams (data regions only).' },
      restoreOwnership: { type: 'boolean', default: true, description: 'When running as root, restore uid/gid.' },
      xattrs: {
        type: 'boolean',
        default: true,
        description:
          'Back up and restore extended attributes: user.* always; security.*, trusted.* and POSIX ACLs (system.posix_acl_access/default) when running as root. Needs the native addon and a host speaking plugin API 1.4.',
      },
      syncIo: {
        type: 'boolean',
        default: true,
        description:
          'Without the native batched platform services (scanDirectory/readFiles, used whenever the host offers them): lstat and read small files with synchronous calls in bounded batches (fast on local disks). In restore: the existence check behind the replace policy is a synchronous lstat. false for slow or network filesystems, where blocking the event loop costs more.',
      },
    },
    additionalProperties: false,
  },
};

/** Options after defaults. */
export interface FsOptions {
  oneFileSystem: boolean;
  sparse: boolean;
  restoreOwnership: boolean;
  syncIo: boolean;
  xattrs: boolean;
}

export function fsOptions(raw: Record<string, unknown>): FsOptions {
  return {
    oneFileSystem: raw.oneFileSystem !== false,
    sparse: raw.sparse !== false,
    restoreOwnership: raw.restoreOwnership !== false,
    syncIo: raw.syncIo !== false,
    xattrs: raw.xattrs !== false,
  };
}
