/**
 * A streaming tar reader (POSIX ustar as pg_basebackup writes it, plus pax
 * `x` and GNU `L`/`K` long names so other writers' archives read too). Fed
 * chunks of any size, it returns the events each chunk completes: a member's
 * header, pieces of its data (views into the chunk, valid until the caller
 * moves on), the member's end, the archive's end. Headers are checked
 * (checksum); nothing is buffered beyond one header or one pax record.
 */
import { Buffer } from 'node:buffer';

export type TarMemberType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';

export interface TarHeader {
  name: string;
  type: TarMemberType;
  /** The raw type flag ('0', '5', '2', …). */
  typeflag: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkname: string;
}

export type TarEvent =
  | { kind: 'entry'; header: TarHeader }
  | { kind: 'data'; data: Uint8Array }
  | { kind: 'entry-end' }
  | { kind: 'end' };

const BLOCK = 512;
/** Largest pax or GNU long-name record kept in memory (they hold names, not data). */
const MAX_META = 1 << 20;

export class TarFormatError extends Error {}

function str(b: Uint8Array, off: number, len: number): string {
  const s = b.subarray(off, off + len);
  const nul = s.indexOf(0);
  return Buffer.from(s.buffer, s.byteOffset, nul === -1 ? s.length : nul).toString('utf8');
}

/** An octal field, or GNU base-256 when the top bit of its first byte is set. */
function num(b: Uint8Array, off: number, len: number): number {
  if (b[off] & 0x80) {
    let v = 0;
    for (let i = 1; i < len; i++) v = v * 256 + b[off + i];
    return v + (b[off] & 0x3f) * 256 ** (len - 1);
  }
  const t = str(b, off, len).trim();
  return t ? parseInt(t, 8) : 0;
}

function typeOf(flag: string): TarMemberType {
  if (flag === '0' || flag === '\0' || flag === '' || flag === '7') return 'file';
  if (flag === '5') return 'dir';
  if (flag === '2') return 'symlink';
  if (flag === '1') return 'hardlink';
  return 'other';
}

function parsePax(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < text.length) {
    const sp = text.indexOf(' ', i);
    if (sp < 0) break;
    const len = Number(text.slice(i, sp));
    if (!(len > 0)) throw new TarFormatError('bad pax record length');
    const rec = text.slice(sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    i += len;
  }
  return out;
}

export class TarStream {
  private head = Buffer.alloc(BLOCK);
  private headFill = 0;
  /** Bytes of the current member's data still to come, then padding to skip. */
  private remaining = 0;
  private padding = 0;
  /** A pax/GNU meta member being collected instead of passed on. */
  private meta: { flag: string; parts: Buffer[]; size: number } | null = null;
  private pending: { path?: string; linkpath?: string; size?: number } = {};
  private ended = false;
  private zeroBlocks = 0;
  /** Bytes consumed so far (for messages). */
  offset = 0;

  /** True once the end-of-archive blocks were read. */
  get done(): boolean {
    return this.ended;
  }

  /** True when no member is open and no header is half read: the archive may end here. */
  get atBoundary(): boolean {
    return this.remaining === 0 && this.padding === 0 && this.headFill === 0 && this.meta === null;
  }

  push(chunk: Uint8Array): TarEvent[] {
    const events: TarEvent[] = [];
    let i = 0;
    while (i < chunk.length) {
      if (this.ended) {
        i = chunk.length; // trailing zeros after the end blocks
        break;
      }
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - i);
        const piece = chunk.subarray(i, i + n);
        if (this.meta) this.meta.parts.push(Buffer.from(piece));
        else events.push({ kind: 'data', data: piece });
        this.remaining -= n;
        i += n;
        if (this.remaining === 0) this.finishMember(events);
        continue;
      }
      if (this.padding > 0) {
        const n = Math.min(this.padding, chunk.length - i);
        this.padding -= n;
        i += n;
        continue;
      }
      const n = Math.min(BLOCK - this.headFill, chunk.length - i);
      this.head.set(chunk.subarray(i, i + n), this.headFill);
      this.headFill += n;
      i += n;
      if (this.headFill === BLOCK) {
        this.headFill = 0;
        this.header(events);
      }
    }
    this.offset += chunk.length;
    return events;
  }

  private finishMember(events: TarEvent[]): void {
    const m = this.meta;
    if (m) {
      this.meta = null;
      const text = Buffer.concat(m.parts).toString('utf8');
      if (m.flag === 'x') {
        const pax = parsePax(text);
        if (pax.has('path')) this.pending.path = pax.get('path');
        if (pax.has('linkpath')) this.pending.linkpath = pax.get('linkpath');
        if (pax.has('size')) this.pending.size = Number(pax.get('size'));
      } else if (m.flag === 'L') {
        this.pending.path = text.replace(/\0+$/, '');
      } else if (m.flag === 'K') {
        this.pending.linkpath = text.replace(/\0+$/, '');
      }
    } else {
      events.push({ kind: 'entry-end' });
    }
    this.padding = (BLOCK - (this.size % BLOCK)) % BLOCK;
  }

  private size = 0;

  private header(events: TarEvent[]): void {
    const h = this.head;
    if (h.every((b) => b === 0)) {
      if (++this.zeroBlocks === 2) {
        this.ended = true;
        events.push({ kind: 'end' });
      }
      return;
    }
    if (this.zeroBlocks) throw new TarFormatError(`a lone zero block before offset ${this.offset}`);
    let sum = 0;
    for (let k = 0; k < BLOCK; k++) sum += k >= 148 && k < 156 ? 0x20 : h[k];
    const want = num(h, 148, 8);
    if (sum !== want) throw new TarFormatError(`header checksum mismatch near offset ${this.offset} (computed ${sum}, header says ${want})`);
    const flag = String.fromCharCode(h[156]).replace('\0', '');
    const ustar = str(h, 257, 6).startsWith('ustar');
    const prefix = ustar ? str(h, 345, 155) : '';
    let name = str(h, 0, 100);
    if (prefix) name = `${prefix}/${name}`;
    let size = num(h, 124, 12);
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > MAX_META) throw new TarFormatError(`a ${flag} meta member of ${size} bytes`);
      this.size = size;
      this.remaining = size;
      this.meta = { flag, parts: [], size }; // `g` (global pax) is read and dropped
      if (size === 0) this.finishMember(events);
      return;
    }
    const p = this.pending;
    this.pending = {};
    if (p.path !== undefined) name = p.path;
    if (p.size !== undefined) size = p.size;
    const header: TarHeader = {
      name,
      type: typeOf(flag),
      typeflag: flag,
      size,
      mode: num(h, 100, 8),
      uid: num(h, 108, 8),
      gid: num(h, 116, 8),
      mtime: num(h, 136, 12),
      linkname: p.linkpath ?? str(h, 157, 100),
    };
    events.push({ kind: 'entry', header });
    // Links and directories carry no data whatever their size field says.
    const dataSize = header.type === 'file' || header.type === 'other' ? size : 0;
    this.size = dataSize;
    this.remaining = dataSize;
    if (dataSize === 0) this.finishMember(events);
  }
}
