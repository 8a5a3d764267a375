import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Compressor } from 'zstd-napi';
import { ZstdPool } from './zstd-pool.js';

function frame(data: Buffer, contentSize = true): Buffer {
  const c = new Compressor();
  c.setParameters({ compressionLevel: 3, contentSizeFlag: contentSize });
  return c.compress(data);
}

const plain = (n: number, seed: number): Buffer => Buffer.concat([randomBytes(n >> 2), Buffer.alloc(n - (n >> 2), seed)]);

test('frames decompress into a shared slab; released pieces let the next batches reuse it', async () => {
  const pool = new ZstdPool({ level: 3, threads: 1 });
  try {
    for (let round = 0; round < 5; round++) {
      const inputs = [plain(300_000, round), plain(1000, round + 1), plain(70_000, round + 2)];
      const pieces = inputs.map((d, i) => pool.decompress(frame(d), { digest: i === 0 }));
      pool.flush();
      const got = await Promise.all(pieces);
      got.forEach((p, i) => {
        assert.equal(p.compressed, true);
        assert.ok(p.data.buffer instanceof SharedArrayBuffer, 'the bytes lie in a slab');
        assert.ok(p.data.equals(inputs[i]), `piece ${i} of round ${round} is byte-exact`);
      });
      assert.deepEqual(got[0].digest, createHash('sha256').update(inputs[0]).digest());
      for (const p of got) p.release!();
    }
    assert.equal(pool.slabs.created, 1, 'one slab served every round');
  } finally {
    await pool.close();
  }
});

test('a held piece keeps its slab from reuse; a corrupt frame comes back not ok; a frame without its size takes the old path', async () => {
  const pool = new ZstdPool({ level: 3, threads: 1 });
  try {
    const a = plain(5000, 1);
    const held = pool.decompress(frame(a));
    pool.flush();
    const p1 = await held;
    const whole = frame(plain(5000, 2));
    const bad = whole.subarray(0, whole.length - 10); // cut short: its header still announces 5000 bytes
    const [p2, p3] = [pool.decompress(frame(plain(9000, 3))), pool.decompress(bad)];
    pool.flush();
    const [r2, r3] = await Promise.all([p2, p3]);
    assert.notEqual(r2.data.buffer, p1.data.buffer, 'the held slab was not handed out again');
    assert.ok(p1.data.equals(a), 'the held piece is intact');
    assert.equal(r3.compressed, false);
    assert.equal(r3.data.length, 0);
    assert.equal(r3.release, undefined);
    p1.release!();
    r2.release!();

    const shared = plain(30_000, 5);
    const f = frame(shared);
    const inSab = Buffer.from(new SharedArrayBuffer(f.length + 3), 3, f.length); // a frame already in shared memory goes as it is
    f.copy(inSab);
    const mixed = [pool.decompress(inSab), pool.decompress(frame(a))];
    pool.flush();
    const [r5, r6] = await Promise.all(mixed);
    assert.ok(r5.data.equals(shared) && r6.data.equals(a));
    r5.release!();
    r6.release!();

    const b = plain(20_000, 4);
    const unsized = pool.decompress(frame(b, false));
    pool.flush();
    const r4 = await unsized;
    assert.equal(r4.compressed, true);
    assert.ok(r4.data.equals(b));
    assert.ok(!(r4.data.buffer instanceof SharedArrayBuffer), 'not in a slab: nothing to release');
  } finally {
    await pool.close();
  }
});
