/**
 * Handshake frames: the frame format of protocol.md §1 (u32 BE length, then
 * the payload) restricted to one printable-ASCII line of at most 1024 bytes.
 * LineReader reads exactly one frame at a time with stream.read(n), so every
 * byte after the last handshake frame stays in the stream for the next
 * protocol. Also the status lines (`1403 CAIRN_E_… text`) and their mapping
 * to error codes.
 */
import type { Duplex, Readable, Writable } from 'node:stream';
import { CairnError } from '../plugin-api/index.js';
import { NET_ERRORS } from './errors.js';

/** Longest handshake line (payload bytes). */
export const MAX_LINE_BYTES = 1024;
const SIGNAL_FLAG = 0x80000000;

export const STATUS = { OK: 1000, PROTOCOL: 1400, AUTH_FAILED: 1401, NOT_ALLOWED: 1403, BUSY: 1503 } as const;

/** Which error code a refusal status stands for when its text names no known code. */
const STATUS_CODES: Record<number, string> = {
  1400: 'CAIRN_E_AUTH_PROTOCOL',
  1401: 'CAIRN_E_AUTH_FAILED',
  1403: 'CAIRN_E_NET_NOT_ALLOWED',
  1503: 'CAIRN_E_NET_BUSY',
};

export function encodeLine(text: string): Buffer {
  const body = Buffer.from(text, 'latin1');
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

/** Writes one line frame; resolves once the stream has taken it (write callback). */
export function writeLine(stream: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.destroyed || stream.writableEnded) {
      reject(new CairnError('CAIRN_E_NET_CLOSED', 'The connection closed during the handshake.', {}));
      return;
    }
    stream.write(encodeLine(text), (err) => (err ? reject(new CairnError('CAIRN_E_NET_CLOSED', 'The connection failed during the handshake.', {}, { cause: err })) : resolve()));
  });
}

/** Sends a final status line, half-closes, and destroys the stream after `graceMs` (the peer reads the line first). */
export function refuse(stream: Duplex, text: string, graceMs = 2000): void {
  if (stream.destroyed) return;
  if (!stream.writableEnded) stream.end(encodeLine(text));
  stream.resume(); // drain whatever the peer still sends, so closing does not reset the connection under our line
  const t = setTimeout(() => stream.destroy(), graceMs);
  t.unref();
  stream.once('close', () => clearTimeout(t));
}

/** A status line split: `1403 CAIRN_E_NET_NOT_ALLOWED host … is not allowed`. */
export interface StatusLine {
  status: number;
  words: string[];
  text: string;
}

export function parseStatus(line: string): StatusLine | null {
  const m = /^(\d{4}) (.*)$/.exec(line);
  if (!m) return null;
  return { status: Number(m[1]), words: m[2].split(' '), text: m[2] };
}

/** The CairnError a refusal status line stands for (1400/1401/1403/1503 or any non-1000 status). */
export function refusalError(st: StatusLine, fields: Record<string, unknown> = {}): CairnError {
  const named = st.words[0];
  const code = named in NET_ERRORS ? named : (STATUS_CODES[st.status] ?? 'CAIRN_E_AUTH_PROTOCOL');
  const text = named === code ? st.words.slice(1).join(' ') : st.text;
  const spec = NET_ERRORS[code as keyof typeof NET_ERRORS];
  return new CairnError(code, `The server refused the connection: ${text}`, { ...fields, status: st.status, serverMessage: text }, { retryable: spec?.retryable ?? false });
}

/**
 * Reads line frames one at a time. Bytes beyond the frame asked for are never
 * taken out of the stream. Call release() when the handshake is over.
 */
export class LineReader {
  private ended = false;
  private failure: unknown = null;
  private wake: (() => void) | null = null;
  private readonly onReadable = (): void => this.poke();
  private readonly onEnd = (): void => {
    this.ended = true;
    this.poke();
  };
  private readonly onError = (err: unknown): void => {
    this.failure ??= err;
    this.onEnd();
  };

  constructor(private readonly stream: Readable) {
    stream.on('readable', this.onReadable);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
    stream.on('error', this.onError);
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    if (w) w();
  }

  release(): void {
    this.stream.off('readable', this.onReadable);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onEnd);
    this.stream.off('error', this.onError);
    this.poke();
  }

  /** The next line; throws CAIRN_E_AUTH_PROTOCOL (bad frame) or CAIRN_E_NET_CLOSED (stream over). */
  async next(): Promise<string> {
    const head = await this.exactly(4);
    const word = head.readUInt32BE(0);
    if (word & SIGNAL_FLAG) {
      throw new CairnError('CAIRN_E_AUTH_PROTOCOL', 'A signal frame arrived during the handshake.', { signal: (word & ~SIGNAL_FLAG) >>> 0 });
    }
    if (word > MAX_LINE_BYTES) {
      throw new CairnError('CAIRN_E_AUTH_PROTOCOL', `A handshake line of ${word} bytes exceeds the limit of ${MAX_LINE_BYTES}.`, { length: word, limit: MAX_LINE_BYTES });
    }
    const body = word === 0 ? Buffer.alloc(0) : await this.exactly(word);
    for (const b of body) {
      if (b < 0x20 || b > 0x7e) throw new CairnError('CAIRN_E_AUTH_PROTOCOL', 'A handshake line holds a byte that is not printable ASCII.', { byte: b });
    }
    return body.toString('latin1');
  }

  private async exactly(n: number): Promise<Buffer> {
    for (;;) {
      const chunk = this.stream.readableEnded ? null : (this.stream.read(n) as Buffer | null);
      if (chunk !== null) {
        if (chunk.length < n) throw this.closed(chunk.length);
        return chunk;
      }
      if (this.ended || this.stream.destroyed || this.stream.readableEnded) throw this.closed(0);
      await new Promise<void>((r) => (this.wake = r));
    }
  }

  private closed(partial: number): CairnError {
    const how = partial > 0 ? 'in the middle of a handshake frame' : 'during the handshake';
    return new CairnError('CAIRN_E_NET_CLOSED', `The connection closed ${how}.`, { partial }, { cause: this.failure ?? undefined, retryable: true });
  }
}
