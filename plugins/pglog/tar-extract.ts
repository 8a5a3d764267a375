/**
 * Writes a base backup's tar stream into a data directory as it arrives:
 * directories and regular files only (a link, device or name that would
 * leave the directory is refused), each file created new (O_EXCL, never
 * through a symlink), with the tar's mode and mtime and — when running as
 * root — its owner. Files are not fsynced one by one: PostgreSQL syncs the
 * whole data directory when it starts from a backup.
 */
import { constants } from 'node:fs';
import { chmod, chown, lchown, mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { CairnError } from '../../plugin-api/index.js';
import { TarStream, type TarHeader } from './tar-stream.js';

export class TarExtractor {
  private readonly tar = new TarStream();
  private file: { fh: FileHandle; header: TarHeader; path: string } | null = null;
  /** uid/gid of backup_label: the server's owner, for the folders the tar does not list. */
  owner: { uid: number; gid: number } | null = null;
  files = 0;

  constructor(
    private readonly root: string,
    private readonly asRoot: boolean,
  ) {}

  /** A member name as a path under root, or a refusal. */
  private target(h: TarHeader): string {
    const name = h.name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
    const parts = name.split('/');
    if (name === '' || name === '.') return this.root;
    if (name.startsWith('/') || parts.some((p) => p === '..' || p === '')) {
      throw new CairnError('CAIRN_E_PGLOG_RESTORE_UNSAFE', `the base backup has a member named "${h.name}", which would leave the data directory; nothing more is written`, { member: h.name });
    }
    return join(this.root, name);
  }

  async write(chunk: Uint8Array): Promise<void> {
    let events;
    try {
      events = this.tar.push(chunk);
    } catch (err) {
      throw new CairnError('CAIRN_E_PGLOG_RESTORE_WRITE', `the base backup is not a valid tar: ${(err as Error).message}`, {}, { cause: err });
    }
    for (const ev of events) {
      if (ev.kind === 'entry') await this.begin(ev.header);
      else if (ev.kind === 'data') await this.data(ev.data);
      else if (ev.kind === 'entry-end') await this.endMember();
    }
  }

  private async begin(h: TarHeader): Promise<void> {
    const path = this.target(h);
    if (h.type === 'dir') {
      await mkdir(path, { recursive: true, mode: (h.mode & 0o7777) | 0o700 });
      if (this.asRoot) await lchown(path, h.uid, h.gid);
      return;
    }
    if (h.type !== 'file') {
      throw new CairnError(
        'CAIRN_E_PGLOG_RESTORE_UNSAFE',
        `the base backup has ${h.type === 'symlink' ? `a symbolic link "${h.name}" → "${h.linkname}"` : `a member "${h.name}" of type '${h.typeflag}'`}; the pglog agent restores single-location clusters (no tablespaces) and writes only folders and regular files`,
        { member: h.name, type: h.typeflag },
      );
    }
    if (h.name.replace(/^(\.\/)+/, '') === 'backup_label') this.owner = { uid: h.uid, gid: h.gid };
    const slash = path.lastIndexOf('/');
    await mkdir(path.slice(0, slash), { recursive: true, mode: 0o700 });
    const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, h.mode & 0o7777);
    this.file = { fh, header: h, path };
  }

  private async data(bytes: Uint8Array): Promise<void> {
    const f = this.file;
    if (!f) return;
    for (let off = 0; off < bytes.byteLength; ) {
      const { bytesWritten } = await f.fh.write(bytes, off, bytes.byteLength - off);
      off += bytesWritten;
    }
  }

  private async endMember(): Promise<void> {
    const f = this.file;
    if (!f) return;
    this.file = null;
    try {
      if (this.asRoot) await f.fh.chown(f.header.uid, f.header.gid);
      await f.fh.utimes(f.header.mtime, f.header.mtime);
    } finally {
      await f.fh.close();
    }
    this.files++;
  }

  /** The stream is over: true when the tar ended properly. Closes what is open either way. */
  async finish(): Promise<boolean> {
    const f = this.file;
    this.file = null;
    if (f) await f.fh.close().catch(() => undefined);
    return this.tar.done;
  }

  /** Gives the data directory itself the server's owner and mode 0700 (PostgreSQL insists). */
  async finishRoot(): Promise<void> {
    await chmod(this.root, 0o700);
    if (this.asRoot && this.owner) await chown(this.root, this.owner.uid, this.owner.gid);
  }
}
