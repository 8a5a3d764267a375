/**
 * The fs agent's writer thread (write-behind.ts): writes each chunk it is sent
 * at its offset, in pieces of `piece` bytes, synchronously and in the order
 * sent, and answers once the chunk is written or has failed. Writing here,
 * not on the libuv thread pool, is what lets a chunk go out in small system
 * calls without a main-thread round trip per piece.
 */
import { writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

export interface WriteOrder {
  id: number;
  fd: number;
  buffer: SharedArrayBuffer;
  length: number;
  position: number;
  piece: number;
}

export interface WriteReply {
  id: number;
  error?: { message: string; code?: string; errno?: number; syscall?: string };
}

function write(o: WriteOrder): void {
  const bytes = new Uint8Array(o.buffer, 0, o.length);
  for (let off = 0; off < o.length; ) {
    const n = writeSync(o.fd, bytes, off, Math.min(o.piece, o.length - off), o.position + off);
    off += n;
  }
}

parentPort!.on('message', (o: WriteOrder) => {
  const reply: WriteReply = { id: o.id };
  try {
    write(o);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    reply.error = { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall };
  }
  parentPort!.postMessage(reply);
});
