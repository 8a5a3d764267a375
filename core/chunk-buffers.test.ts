import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Decompressor } from 'zstd-napi';
import { ChunkBuffers, CHUNK_SLAB_BYTES } from './chunk-buffers.js';
import { ZstdPool } from './zstd-pool.js';

test('a chunk buffer given back is handed out again; done() ignores memory that is not its own', () => {
  const chunks = new ChunkBuffers();
  const a = chunks.take(1000);
  assert.equal(a.length, 1000);
  assert.ok(a.buffer instanceof SharedArrayBuffer);
  chunks.done(a);
  const b = chunks.take(CHUNK_SLAB_BYTES);
  assert.equal(b.buffer, a.buffer, 'the same slab came back');
  chunks.done(Buffer.alloc(10)); // not a chunk buffer: left alone
  chunks.done(new ChunkBuffers().take(10)); // another pool's: left alone
  const c = chunks.take(10);
  assert.notEqual(c.buffer, b.buffer, 'b is still held');
  assert.equal(chunks.created, 2);
  const big = chunks.take(CHUNK_SLAB_BYTES + 1);
  assert.equal(big.length, CHUNK_SLAB_BYTES + 1);
  chunks.done(big); // a one-off slab is never reused
  assert.notEqual(chunks.take(CHUNK_SLAB_BYTES + 1).buffer, big.buffer);
  assert.throws(() => chunks.take(-1), /non-negative integer/);
});

test('the zstd pool holds a queued chunk buffer until its batch is compressed, then it is reused', async () => {
  const pool = new ZstdPool({ level: 1, threads: 1 });
  const chunks = new ChunkBuffers();
  try {
    const a = chunks.take(200_000);
    a.fill(0x41);
    const piece = pool.compress(a, { digest: true });
    chunks.done(a); // the host lets go at once; the pool's hold keeps the memory
    const b = chunks.take(200_000);
    assert.notEqual(b.buffer, a.buffer, 'still held by the queued batch');
    b.fill(0x42);
    pool.flush();
    const got = await piece;
    assert.equal(got.compressed, true);
    assert.ok(new Decompressor().decompress(got.data).equals(Buffer.alloc(200_000, 0x41)), 'compressed what was there when queued');
    assert.ok(!(got.data.buffer instanceof SharedArrayBuffer), 'the frame does not alias the chunk buffer');
    assert.equal(chunks.take(10).buffer, a.buffer, 'released once compressed');
    // A chunk that does not shrink comes back plain, as a copy, never the recycled memory itself.
    const r = chunks.take(CHUNK_SLAB_BYTES);
    for (let i = 0; i < r.length; i++) r[i] = (i * 2654435761) >>> 24;
    const rand = Buffer.from(r);
    const p2 = pool.compress(r);
    chunks.done(r);
    pool.flush();
    const got2 = await p2;
    assert.ok(!(got2.data.buffer instanceof SharedArrayBuffer));
    assert.ok(got2.compressed ? new Decompressor().decompress(got2.data).equals(rand) : got2.data.equals(rand));
  } finally {
    await pool.close();
  }
});
