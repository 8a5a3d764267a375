/**
 * Helpers for net/'s own tests (not exported from index.ts): a logger that
 * remembers, a raw TCP client, and a frame reader for the bytes that follow
 * the handshake.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { NetLogger } from './login-delay.js';

export interface LogEntry {
  level: 'warn' | 'info';
  obj: Record<string, unknown>;
  msg: string;
}

export function memoryLogger(): NetLogger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return {
    entries,
    warn: (obj, msg) => entries.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
    info: (obj, msg) => entries.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
  };
}

export function rawConnect(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host, port }, () => resolve(s));
    s.once('error', reject);
  });
}

export function frame(text: string | Buffer): Buffer {
  const body = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  const h = Buffer.alloc(4);
  h.writeUInt32BE(body.length, 0);
  return Buffer.concat([h, body]);
}

/** Reads one u32-length frame in flowing mode (as the protocols after the handshake do). */
export function readFrame(stream: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        stream.off('data', onData);
        stream.pause();
        const len = buf.readUInt32BE(0);
        if (buf.length > 4 + len) stream.unshift(buf.subarray(4 + len));
        resolve(buf.subarray(4, 4 + len));
      }
    };
    stream.on('data', onData);
    stream.resume(); // a previous readFrame paused it
    stream.once('error', reject);
    stream.once('end', () => reject(new Error(`stream ended after ${buf.length} bytes`)));
  });
}

/** Everything the stream sends until it ends or closes. */
export function readAll(stream: Duplex): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    stream.on('data', (c: Buffer) => parts.push(c));
    const done = (): void => resolve(Buffer.concat(parts));
    stream.once('end', done);
    stream.once('close', done);
    stream.on('error', () => undefined);
  });
}

/** The text lines of a sequence of frames. */
export function frames(bytes: Buffer): string[] {
  const out: string[] = [];
  let off = 0;
  while (off + 4 <= bytes.length) {
    const len = bytes.readUInt32BE(off);
    out.push(bytes.subarray(off + 4, off + 4 + len).toString('latin1'));
    off += 4 + len;
  }
  return out;
}
