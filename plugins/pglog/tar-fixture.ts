/**
 * Test helper: a minimal ustar writer (regular files, folders, symlinks) so
 * the tar reader and the restore are tested on archives built byte by byte,
 * including ones no honest writer makes (`..` names, bad checksums).
 * Not a test file itself.
 */
import { Buffer } from 'node:buffer';

export interface FixtureMember {
  name: string;
  type?: 'file' | 'dir' | 'symlink';
  data?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  /** Write the size field in GNU base-256 instead of octal. */
  base256Size?: boolean;
}

function octal(n: number, len: number): string {
  return n.toString(8).padStart(len - 1, '0') + '\0';
}

export function ustarHeader(m: FixtureMember, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(m.name, 0, 100, 'utf8');
  h.write(octal(m.mode ?? (m.type === 'dir' ? 0o700 : 0o600), 8), 100, 'ascii');
  h.write(octal(m.uid ?? 1000, 8), 108, 'ascii');
  h.write(octal(m.gid ?? 1000, 8), 116, 'ascii');
  if (m.base256Size) {
    h[124] = 0x80;
    h.writeUIntBE(size, 124 + 12 - 6, 6);
  } else {
    h.write(octal(size, 12), 124, 'ascii');
  }
  h.write(octal(m.mtime ?? 1_700_000_000, 12), 136, 'ascii');
  h.write(m.type === 'dir' ? '5' : m.type === 'symlink' ? '2' : '0', 156, 'ascii');
  if (m.linkname) h.write(m.linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

export function makeTar(members: FixtureMember[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    const data = m.type === 'file' || m.type === undefined ? Buffer.from(m.data ?? '') : Buffer.alloc(0);
    parts.push(ustarHeader(m, data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
