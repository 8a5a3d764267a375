import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { WriteBehind } from './write-behind.js';

for (const thread of [true, false]) {
  const mode = thread ? 'writer thread' : 'thread pool';

  test(`write-behind (${mode}): the caller may reuse its chunk as soon as write() resolves; every byte lands at its offset`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-wb-'));
    try {
      const file = path.join(dir, 'f');
      const fd = fs.openSync(file, 'w');
      const behind = new WriteBehind(1 << 20, 256 << 10, { thread });
      const w = behind.file(fd);
      const chunk = Buffer.alloc(300 << 10); // bigger than a reused buffer: gets its own
      const want: Buffer[] = [];
      let pos = 0;
      for (let i = 0; i < 24; i++) {
        const n = i % 3 === 0 ? chunk.length : 100_000 + i;
        chunk.fill(i + 1, 0, n);
        await w.write(chunk.subarray(0, n), pos);
        want.push(Buffer.from(chunk.subarray(0, n)));
        chunk.fill(0xee); // the host reuses its memory at once
        pos += n;
      }
      await w.end();
      await behind.close();
      fs.closeSync(fd);
      assert.ok(fs.readFileSync(file).equals(Buffer.concat(want)));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`write-behind (${mode}): a failed write shows at end() and refuses later writes`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-wb-'));
    try {
      const file = path.join(dir, 'f');
      fs.writeFileSync(file, 'x');
      const fd = fs.openSync(file, 'r'); // not open for writing: EBADF
      const behind = new WriteBehind(1 << 20, 64 << 10, { thread });
      const w = behind.file(fd);
      await w.write(Buffer.alloc(1000, 1), 0); // starts; fails behind the caller's back
      await assert.rejects(w.end(), (err: NodeJS.ErrnoException) => err.code === 'EBADF');
      await assert.rejects(w.write(Buffer.alloc(10), 1000), (err: NodeJS.ErrnoException) => err.code === 'EBADF');
      await behind.close();
      fs.closeSync(fd);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
