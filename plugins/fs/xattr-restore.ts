/**
 * Restores an entry's extended attributes (FileEntry.xattrs, API 1.4) with
 * the platform's lsetxattr, on the path itself (never through a symlink).
 * The restore session calls it after the file's data, owner and mode and
 * before its times (setting an attribute changes only the ctime; setting an
 * ACL after chmod keeps the mode, whose group bits are the ACL mask). A
 * directory's attributes — its default ACL among them — are set with its
 * times at the end, after everything inside it was created, so restored
 * files never inherit a default ACL they did not have.
 * Failures never fail the file: a filesystem without xattr support is one
 * warning per job; any other failure one warning per file.
 */
import type { AgentContext, FileEntry, Xattr } from '../../plugin-api/index.js';
import { errnoCode } from './fs-calls.js';
import { XattrReporter, isRoot, isUnsupported, settableWithoutRoot, xattrsUnavailable } from './xattr-policy.js';

export class XattrRestorer {
  private readonly report: XattrReporter;
  private readonly unavailable: string | null;

  constructor(
    private readonly ctx: AgentContext,
    private readonly enabled: boolean,
    /** Running as root (tests pass false to see the non-root rules as root). */
    private readonly root: boolean = isRoot(),
  ) {
    this.report = new XattrReporter(ctx, 'restored');
    this.unavailable = xattrsUnavailable(ctx);
  }

  /** Whether the entry has attributes this restore will try to set (the small-file path writes those one by one). */
  wants(entry: FileEntry): boolean {
    return this.enabled && entry.xattrs !== undefined && entry.xattrs.length > 0;
  }

  /** Sets the entry's attributes on `path` (the temp name of a file, or the final path). Never throws. */
  async apply(path: Buffer, entry: FileEntry): Promise<void> {
    if (!this.wants(entry)) return;
    if (this.unavailable !== null) {
      this.report.hostCannot(this.unavailable, entry.path);
      return;
    }
    let list: readonly Xattr[] = entry.xattrs!;
    if (!this.root) {
      const skipped = list.filter((x) => !settableWithoutRoot(x.name));
      if (skipped.length > 0) {
        this.report.needsRoot(entry.path, skipped);
        list = list.filter((x) => settableWithoutRoot(x.name));
      }
    }
    const set = this.ctx.platform.lsetxattr!;
    const failed: string[] = [];
    let errno = '';
    for (const x of list) {
      try {
        await set(path, x.name, x.value);
      } catch (err) {
        const code = errnoCode(err) ?? String(err);
        if (isUnsupported(code)) {
          this.report.filesystemCannot(entry.path, code);
          return;
        }
        failed.push(Buffer.from(x.name).toString('latin1'));
        errno = code;
      }
    }
    if (failed.length > 0) this.report.fileFailed(entry.path, errno, `extended attributes not restored: ${failed.join(', ')}`);
  }
}
