/**
 * The hash thread's body (core/hash-thread.ts): one running SHA-256 per
 * stream id, fed chunks in the order they were posted (a worker port
 * delivers in order). Each update is acknowledged so the sender can reuse
 * the chunk's memory; a finish answers with the digest and forgets the id.
 */
import { createHash, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

export type HashRequest =
  | { op: 'update'; id: number; seq: number; buffer: SharedArrayBuffer | ArrayBuffer; offset: number; length: number }
  | { op: 'finish'; id: number }
  | { op: 'drop'; id: number };

export type HashReply = { op: 'ack'; seq: number } | { op: 'digest'; id: number; digest: Uint8Array };

const hashes = new Map<number, Hash>();

parentPort!.on('message', (m: HashRequest) => {
  if (m.op === 'update') {
    let h = hashes.get(m.id);
    if (!h) hashes.set(m.id, (h = createHash('sha256')));
    h.update(new Uint8Array(m.buffer, m.offset, m.length));
    parentPort!.postMessage({ op: 'ack', seq: m.seq } satisfies HashReply);
  } else if (m.op === 'finish') {
    const h = hashes.get(m.id) ?? createHash('sha256');
    hashes.delete(m.id);
    parentPort!.postMessage({ op: 'digest', id: m.id, digest: h.digest() } satisfies HashReply);
  } else {
    hashes.delete(m.id);
  }
});
