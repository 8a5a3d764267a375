// streamFile reads large files a few chunks ahead; the host may transfer
// (detach) each chunk as soon as it has it. The stream must still be whole.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { MessageChannel } from 'node:worker_threads';
import { CHUNK_SIZE, streamFile } from './file-reader.js';
import { toEntryStat } from './fs-calls.js';

test('a large file streams whole even when every chunk is detached on arrival', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-reader-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = path.join(dir, 'big');
  const data = Buffer.alloc(CHUNK_SIZE * 9 + 12345);
  for (let i = 0; i < data.length; i += 4096) data.writeUInt32BE(i, i);
  fs.writeFileSync(p, data);
  const fd = fs.openSync(p, 'r');
  const st = toEntryStat(fs.fstatSync(fd, { bigint: true }));
  const { port1, port2 } = new MessageChannel();
  t.after(() => {
    port1.close();
    port2.close();
  });
  const hash = createHash('sha256');
  let total = 0;
  const problems: string[] = [];
  const report = { bytes: () => undefined, problem: (code: string, text: string) => problems.push(`${code} ${text}`) };
  for await (const chunk of streamFile(fd, st, false, undefined as never, new AbortController().signal, report)) {
    const buf = chunk as Buffer;
    hash.update(buf);
    total += buf.length;
    if (buf.byteOffset === 0 && buf.buffer.byteLength === buf.length) port1.postMessage(buf.buffer, [buf.buffer as ArrayBuffer]);
    assert.ok(buf.length === 0 || buf.byteOffset !== 0 || buf.buffer.byteLength !== buf.length, 'transferred chunks are detached');
  }
  assert.deepEqual(problems, []);
  assert.equal(total, data.length);
  assert.equal(hash.digest('hex'), createHash('sha256').update(data).digest('hex'));
});
