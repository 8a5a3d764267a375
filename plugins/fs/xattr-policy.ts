/**
 * Which extended attributes the fs agent backs up and restores, and how it
 * reports what it cannot do: `user.*` always; `security.*`, `trusted.*` and
 * the POSIX ACLs (`system.posix_acl_access`, `system.posix_acl_default`,
 * their raw kernel xattr values) only when running as root. A filesystem
 * without xattr support, or a host without them (no native addon, plugin API
 * before 1.4), is reported ONCE per job as a warning; other failures once
 * per file.
 */
import type { AgentContext, PlatformFileServices, Xattr, XattrSelection } from '../../plugin-api/index.js';

/** Backed up by everyone. */
export const USER_XATTRS: XattrSelection = ['user.'];
/** Backed up when running as root. */
export const ROOT_XATTRS: XattrSelection = ['user.', 'security.', 'trusted.', 'system.posix_acl_access', 'system.posix_acl_default'];

export const isRoot = (): boolean => process.geteuid?.() === 0;

/** The attribute names this process backs up. */
export function xattrSelection(root: boolean = isRoot()): XattrSelection {
  return root ? ROOT_XATTRS : USER_XATTRS;
}

/** errno names meaning "this filesystem does not do extended attributes" (ENOTSUP and EOPNOTSUPP are one number on Linux). */
export function isUnsupported(errno: string | undefined): boolean {
  return errno === 'EOPNOTSUPP' || errno === 'ENOTSUP';
}

const USER_PREFIX = Buffer.from('user.');

/** Whether a non-root restore may set the attribute: user.* and ACLs (an owner may set ACLs on its files); not security.* or trusted.*. */
export function settableWithoutRoot(name: Uint8Array): boolean {
  const n = Buffer.from(name.buffer, name.byteOffset, name.byteLength);
  if (n.subarray(0, USER_PREFIX.length).equals(USER_PREFIX)) return true;
  const text = n.toString('latin1');
  return text === 'system.posix_acl_access' || text === 'system.posix_acl_default';
}

/** Why this host cannot read or set extended attributes for the agent, or null when it can. */
export function xattrsUnavailable(ctx: AgentContext): string | null {
  const api = ctx.api;
  if (api.major === 1 && api.minor < 4) return `this host speaks plugin API ${api.major}.${api.minor}, which cannot store extended attributes (1.4 can)`;
  const p: PlatformFileServices = ctx.platform;
  if (p.available.xattrs !== true || p.readXattrs === undefined || p.lsetxattr === undefined) return 'xattrs not supported without the native addon';
  return null;
}

/** The once-per-job messages of one backup or restore. */
export class XattrReporter {
  private unsupportedSaid = false;
  private hostSaid = false;
  private rootSaid = false;
  /** Files whose attributes a filesystem without support lost. */
  unsupported = 0;

  constructor(
    private readonly ctx: AgentContext,
    private readonly doing: 'backed up' | 'restored',
    private readonly onWarning: () => void = () => undefined,
  ) {}

  /** The host cannot do xattrs at all: one warning for the job. */
  hostCannot(reason: string, path?: Uint8Array): void {
    if (this.hostSaid) return;
    this.hostSaid = true;
    this.onWarning();
    this.ctx.jobMessage('warning', `extended attributes and ACLs are not ${this.doing} in this job: ${reason}`, { code: 'CAIRN_E_FS_XATTRS_UNSUPPORTED', ...(path ? { path } : {}) });
  }

  /** A filesystem without xattr support: one warning for the job, naming the first path. */
  filesystemCannot(path: Uint8Array, errno: string): void {
    this.unsupported++;
    if (this.unsupportedSaid) return;
    this.unsupportedSaid = true;
    this.onWarning();
    this.ctx.jobMessage('warning', `filesystem without xattr support (${errno}): extended attributes and ACLs there are not ${this.doing} (said once per job)`, { path, code: 'CAIRN_E_FS_XATTRS_UNSUPPORTED' });
  }

  /** One file's attribute could not be read or set. */
  fileFailed(path: Uint8Array, errno: string, what: string): void {
    this.onWarning();
    this.ctx.jobMessage('warning', `${what} (${errno})`, { path, code: 'CAIRN_E_FS_XATTR_FAILED' });
  }

  /** A non-root restore skipped security.* / trusted.* attributes: one info message for the job. */
  needsRoot(path: Uint8Array, skipped: readonly Xattr[]): void {
    if (this.rootSaid) return;
    this.rootSaid = true;
    const names = skipped.map((x) => Buffer.from(x.name).toString('latin1')).join(', ');
    this.ctx.jobMessage('info', `security.* and trusted.* attributes are restored only when running as root (first skipped: ${names})`, { path, code: 'CAIRN_E_FS_XATTRS_UNSUPPORTED' });
  }
}
