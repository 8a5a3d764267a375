/**
 * The XATTRS record payload (stream type 7): a file's extended attributes
 * and ACLs as name/value pairs, written right after its ATTRIBUTES record.
 * Layout (docs/volume-format.md §5.3.4), integers big-endian:
 *
 *   u8  version (1)
 *   3   zero
 *   u32 count n
 *   n × { u16 name length (1…65535), name bytes, u32 value length, value bytes }
 *
 * Names are the full names with their namespace prefix, without NUL; values
 * are raw bytes (POSIX ACLs: the kernel's binary xattr value, as is). A file
 * whose attributes would make a payload larger than XATTRS_RECORD_BYTES is
 * written as several XATTRS records, each a complete payload; a reader
 * concatenates their lists in order.
 */
import { Buffer } from 'node:buffer';
import { CairnError, type Xattr } from '../plugin-api/index.js';

const VERSION = 1;
const HEADER_BYTES = 8;
/** Payload size at which the writer starts another record (well under the protocol's 16 MiB record limit). */
export const XATTRS_RECORD_BYTES = 1 << 20;

function sizeOf(x: Xattr): number {
  return 2 + x.name.byteLength + 4 + x.value.byteLength;
}

/** Throws a TypeError for what the format cannot carry (the caller names the agent that reported it). */
function checkXattr(x: Xattr): void {
  if (!(x.name instanceof Uint8Array) || !(x.value instanceof Uint8Array)) throw new TypeError('an extended attribute needs a name and a value as bytes (Uint8Array)');
  if (x.name.byteLength === 0 || x.name.byteLength > 0xffff || x.name.includes(0)) {
    throw new TypeError(`an extended attribute name must be 1–65535 bytes without NUL (got ${x.name.byteLength} bytes)`);
  }
  if (x.value.byteLength > 0xffffffff) throw new TypeError('an extended attribute value must be under 4 GiB');
}

function encodeOne(list: readonly Xattr[], bytes: number): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  out.writeUInt32BE(VERSION << 24, 0); // version, then three zero bytes
  out.writeUInt32BE(list.length, 4);
  let at = HEADER_BYTES;
  for (const x of list) {
    out.writeUInt16BE(x.name.byteLength, at);
    out.set(x.name, at + 2);
    at += 2 + x.name.byteLength;
    out.writeUInt32BE(x.value.byteLength, at);
    out.set(x.value, at + 4);
    at += 4 + x.value.byteLength;
  }
  return out;
}

/**
 * The payloads of a file's XATTRS records (none for an empty list), each at
 * most `maxBytes` unless one attribute alone is larger. Throws a TypeError
 * for a name or value the format cannot carry.
 */
export function encodeXattrs(list: readonly Xattr[], maxBytes: number = XATTRS_RECORD_BYTES): Buffer[] {
  const out: Buffer[] = [];
  let group: Xattr[] = [];
  let bytes = HEADER_BYTES;
  for (const x of list) {
    checkXattr(x);
    const size = sizeOf(x);
    if (group.length > 0 && bytes + size > maxBytes) {
      out.push(encodeOne(group, bytes));
      group = [];
      bytes = HEADER_BYTES;
    }
    group.push(x);
    bytes += size;
  }
  if (group.length > 0) out.push(encodeOne(group, bytes));
  return out;
}

function corrupt(why: string): CairnError {
  return new CairnError('CAIRN_E_RECORD_CORRUPT', `xattrs record cannot be decoded: ${why}`, {});
}

/** Decodes one XATTRS payload; each name and value is a copy of its own. Throws CAIRN_E_RECORD_CORRUPT. */
export function decodeXattrs(payload: Uint8Array): Xattr[] {
  const b = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (b.length < HEADER_BYTES) throw corrupt(`${b.length} bytes, shorter than its header`);
  if (b[0] !== VERSION) throw corrupt(`version ${b[0]}, this Cairn reads ${VERSION}`);
  const count = b.readUInt32BE(4);
  const out: Xattr[] = [];
  let at = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + 2 > b.length) throw corrupt(`attribute ${i} of ${count} runs past the end`);
    const nameLength = b.readUInt16BE(at);
    if (nameLength === 0 || at + 2 + nameLength + 4 > b.length) throw corrupt(`attribute ${i} of ${count} has a bad name length`);
    const name = Buffer.from(b.subarray(at + 2, at + 2 + nameLength));
    at += 2 + nameLength;
    const valueLength = b.readUInt32BE(at);
    if (at + 4 + valueLength > b.length) throw corrupt(`attribute ${i} of ${count} has a value past the end`);
    const value = Buffer.from(b.subarray(at + 4, at + 4 + valueLength));
    at += 4 + valueLength;
    out.push({ name, value });
  }
  if (at !== b.length) throw corrupt(`${b.length - at} bytes after the last attribute`);
  return out;
}
