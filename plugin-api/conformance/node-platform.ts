/**
 * A pure-Node PlatformFileServices: the degraded services a host without the
 * native addon offers, and what the conformance kit uses by default (the kit
 * cannot import native/). Times are set with microseconds (fs.utimes /
 * fs.lutimes), fifos through the `mkfifo` command when it is installed, device
 * nodes not at all, one data region per file, directory fsync by open+fsync.
 */
import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';
import { Buffer } from 'node:buffer';
import { CairnError } from '../errors.js';
import type { PlatformFileServices } from '../platform.js';

function seconds(ns: bigint): number {
  return Number(ns / 1_000_000_000n) + Number(ns % 1_000_000_000n) / 1e9;
}

function asFsPath(p: string | Uint8Array): string | Buffer {
  return typeof p === 'string' ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}

function unsupported(what: string, path: string | Uint8Array, cause?: unknown): CairnError {
  return new CairnError('CAIRN_E_PLATFORM_UNSUPPORTED', `${what} is not available without the native addon`, { service: what, path: typeof path === 'string' ? path : Buffer.from(path).toString('utf8') }, { cause });
}

export function nodePlatformFileServices(): PlatformFileServices {
  return {
    available: { utimensat: false, mknod: false, seekData: false, fsyncDir: true },

    async setTimes(path, atimeNs, mtimeNs, followSymlinks) {
      const target = asFsPath(path);
      if (followSymlinks) await fsp.utimes(target, seconds(atimeNs), seconds(mtimeNs));
      else await fsp.lutimes(target, seconds(atimeNs), seconds(mtimeNs));
    },

    async mkfifo(path, mode) {
      const text = typeof path === 'string' ? path : Buffer.from(path).toString('utf8');
      if (typeof path !== 'string' && !Buffer.from(text, 'utf8').equals(Buffer.from(path))) throw unsupported('mkfifo of a non-UTF-8 path', path);
      await new Promise<void>((resolve, reject) =>
        execFile('mkfifo', ['-m', (mode & 0o7777).toString(8), '--', text], (err) => (err ? reject(unsupported('mkfifo', path, err)) : resolve())),
      );
    },

    async mknod(path) {
      throw unsupported('mknod', path);
    },

    async dataRegions(_fd, size) {
      return size > 0 ? [[0, size]] : [];
    },

    async fsyncDir(path) {
      const fh = await fsp.open(asFsPath(path), 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    },
  };
}
