/**
 * File device: a directory of volume files, one file per volume, named as the
 * volume. Writes are positional (fs write on a file descriptor), sync is
 * fsync; a new volume's directory entry is fsynced on its first sync.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { CairnError } from '../../plugin-api/index.js';
import { deviceError, type RandomAccessDevice, type VolumeHandle } from './device.js';

export interface FileDeviceConfig {
  type: 'file';
  /** Directory holding the volume files (created if missing). */
  dir: string;
  mediaType?: string;
}

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export function checkVolumeName(volume: string): void {
  if (!NAME_RE.test(volume)) {
    throw new CairnError('CAIRN_E_VOLUME_NAME', `Volume name "${volume}" is not allowed: use letters, digits, '.', '_' and '-', not starting with '.' or '-'.`, { volume });
  }
}

export class FileDevice implements RandomAccessDevice {
  readonly type = 'file';
  readonly access = 'random' as const;
  readonly mediaType: string;
  readonly dir: string;
  private dirReady: Promise<void> | null = null;

  constructor(cfg: FileDeviceConfig) {
    this.dir = path.resolve(cfg.dir);
    this.mediaType = cfg.mediaType ?? 'File';
  }

  get stateDir(): string {
    return this.dir;
  }

  private ensureDir(): Promise<void> {
    this.dirReady ??= fs.mkdir(this.dir, { recursive: true }).then(() => undefined);
    return this.dirReady;
  }

  async list(): Promise<string[]> {
    await this.ensureDir();
    const names = await fs.readdir(this.dir);
    return names.filter((n) => NAME_RE.test(n)).sort();
  }

  async create(volume: string): Promise<VolumeHandle> {
    checkVolumeName(volume);
    await this.ensureDir();
    const file = path.join(this.dir, volume);
    try {
      const fh = await fs.open(file, 'wx+');
      return new FileVolumeHandle(volume, fh, this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new CairnError('CAIRN_E_VOLUME_EXISTS', `Volume ${volume} already exists in ${this.dir}.`, { volume, path: file });
      }
      throw deviceError(err, volume, 'create');
    }
  }

  async open(volume: string, mode: 'read' | 'append'): Promise<VolumeHandle> {
    checkVolumeName(volume);
    const file = path.join(this.dir, volume);
    try {
      const fh = await fs.open(file, mode === 'read' ? 'r' : 'r+');
      return new FileVolumeHandle(volume, fh, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new CairnError('CAIRN_E_VOLUME_NOT_FOUND', `Volume ${volume} is not in ${this.dir}.`, { volume, path: file });
      }
      throw deviceError(err, volume, 'open');
    }
  }
}

class FileVolumeHandle implements VolumeHandle {
  readonly access = 'random' as const;
  constructor(
    readonly volume: string,
    private readonly fh: fs.FileHandle,
    /** Directory to fsync on the first sync (set for newly created volumes). */
    private dirToSync: string | null,
  ) {}

  async size(): Promise<number> {
    return (await this.fh.stat()).size;
  }

  async read(buf: Buffer, position: number): Promise<number> {
    let got = 0;
    try {
      while (got < buf.length) {
        const { bytesRead } = await this.fh.read(buf, got, buf.length - got, position + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
    } catch (err) {
      throw deviceError(err, this.volume, 'read');
    }
    return got;
  }

  async writev(blocks: Buffer[], position: number): Promise<void> {
    try {
      let pos = position;
      let rest = blocks;
      let want = rest.reduce((n, b) => n + b.length, 0);
      while (want > 0) {
        const { bytesWritten } = await this.fh.writev(rest, pos);
        want -= bytesWritten;
        pos += bytesWritten;
        if (want > 0) rest = skipBytes(rest, bytesWritten);
      }
    } catch (err) {
      throw deviceError(err, this.volume, 'write');
    }
  }

  async truncate(size: number): Promise<void> {
    try {
      await this.fh.truncate(size);
    } catch (err) {
      throw deviceError(err, this.volume, 'truncate');
    }
  }

  async sync(): Promise<void> {
    try {
      await this.fh.sync();
      if (this.dirToSync) {
        await syncDirectory(this.dirToSync);
        this.dirToSync = null;
      }
    } catch (err) {
      throw deviceError(err, this.volume, 'sync');
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

function skipBytes(bufs: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  let skip = n;
  for (const b of bufs) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}

/** fsync of a directory (makes a new entry durable). Platforms that cannot open a directory skip it. */
export async function syncDirectory(dir: string): Promise<void> {
  let dh: fs.FileHandle | null = null;
  try {
    dh = await fs.open(dir, 'r');
    await dh.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw err;
  } finally {
    await dh?.close();
  }
}
