import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CairnError } from '../plugin-api/index.js';
import { HashThread } from './hash-thread.js';
import { SlabRing } from './slab-ring.js';

test('interleaved streams are hashed in the order their chunks were posted; slabs are held until hashed', async () => {
  const t = new HashThread();
  try {
    const ring = new SlabRing(1 << 16, 4);
    const parts = [randomBytes(70_000), randomBytes(1), randomBytes(5000), randomBytes(65_536)];
    const a = t.open();
    const b = t.open();
    const slab = ring.acquire(parts[2].length);
    const inSlab = new Uint8Array(slab.sab, 0, parts[2].length);
    inSlab.set(parts[2]);
    for (const p of [parts[0], parts[1]]) t.update(a, p);
    t.update(b, parts[3]);
    t.update(a, inSlab); // shared, not copied: held by the thread until acknowledged
    slab.release();
    assert.equal(slab.holders, 1, 'the hash thread still holds the slab');
    const plain = Buffer.from(parts[1]);
    t.update(b, plain);
    plain.fill(0); // the caller may reuse a plain chunk at once: it was copied
    const [da, db] = await Promise.all([t.finish(a), t.finish(b)]);
    assert.deepEqual(da, createHash('sha256').update(parts[0]).update(parts[1]).update(parts[2]).digest());
    assert.deepEqual(db, createHash('sha256').update(parts[3]).update(parts[1]).digest());
    assert.equal(slab.holders, 0);
    assert.equal(ring.freeCount, 1, 'the slab went back to its ring');
    assert.deepEqual(await t.finish(t.open()), createHash('sha256').digest(), 'a stream without chunks');
  } finally {
    await t.close();
  }
});

test('backlog() waits until the thread has caught up', async () => {
  const t = new HashThread();
  try {
    const s = t.open();
    for (let i = 0; i < 8; i++) t.update(s, Buffer.alloc(1 << 20, i));
    const w = t.backlog(1 << 20);
    assert.ok(w, 'eight MiB are queued');
    await w;
    assert.equal(t.backlog(1 << 20), null);
    await t.finish(s);
  } finally {
    await t.close();
  }
});

test('a hash thread that dies fails its streams with CAIRN_E_FD_PIPELINE; the next stream gets a new thread', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-hash-'));
  try {
    const script = path.join(dir, 'bad-worker.mjs');
    fs.writeFileSync(script, "import { parentPort } from 'node:worker_threads'; parentPort.on('message', () => { throw new Error('boom'); });\n");
    const t = new HashThread(new URL(`file://${script}`));
    const s = t.open();
    t.update(s, Buffer.from('abc'));
    await assert.rejects(t.finish(s), (e: unknown) => e instanceof CairnError && e.code === 'CAIRN_E_FD_PIPELINE' && /boom/.test(e.message));
    await assert.rejects(t.finish(s), (e: unknown) => e instanceof CairnError && e.code === 'CAIRN_E_FD_PIPELINE', 'a stream of the dead thread stays failed');
    const again = t.open();
    t.update(again, Buffer.from('abc'));
    await assert.rejects(t.finish(again), /boom/, 'the new thread runs the same (bad) script');
    await t.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
