/**
 * Paths are bytes. These helpers convert and order them without assuming UTF-8.
 */
import { Buffer } from 'node:buffer';

/** Bytes of a path given as a string (UTF-8) or bytes. */
export function pathBytes(p: string | Uint8Array): Buffer {
  return typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}

/** A display form: UTF-8 where valid, `\xNN` escapes for bytes that are not. */
export function displayPath(p: Uint8Array | string): string {
  if (typeof p === 'string') return p;
  const b = pathBytes(p);
  const s = b.toString('utf8');
  if (Buffer.from(s, 'utf8').equals(b) && !s.includes('\uFFFD')) return s;
  let out = '';
  for (const byte of b) out += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  return out;
}

/**
 * Tree order: compare component by component, each component by its bytes.
 * `a/b` sorts before `a-b` (the directory `a` and everything under it come
 * before the sibling `a-b`), which is the order a depth-first walk with
 * byte-sorted directory entries produces. The catalog stores `treeKey(path)`
 * so that a plain byte comparison in SQL gives the same order.
 */
export function comparePathsTreeOrder(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(treeKey(a), treeKey(b));
}

/** The path with each `/` replaced by 0x00, so byte order equals tree order. */
export function treeKey(p: Uint8Array): Buffer {
  const out = Buffer.from(p);
  for (let i = 0; i < out.length; i++) if (out[i] === 0x2f) out[i] = 0;
  return out;
}
