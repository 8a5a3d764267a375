import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CALLS_IN_FLIGHT, GROUP_FILES, SmallFileWriteBatcher, type WriteRequest, type WriteResult } from './small-file-write-batch.js';

function req(i: number, size = 10): WriteRequest {
  return { temp: `/t/.f${i}`, final: `/t/f${i}`, data: Buffer.alloc(size), mode: 0o644, uid: 0, gid: 0, chown: false, atimeNs: 0n, mtimeNs: 0n };
}

test('the write batcher groups queued files, keeps at most two calls in flight, and drain waits for all', async () => {
  const calls: number[] = [];
  let running = 0;
  let most = 0;
  const releases: Array<() => void> = [];
  const b = new SmallFileWriteBatcher(async (files) => {
    calls.push(files.length);
    running++;
    most = Math.max(most, running);
    await new Promise<void>((resolve) => releases.push(resolve));
    running--;
    return files.map((f): WriteResult => (String(f.final).endsWith('f7') ? { errno: 'EIO', syscall: 'write' } : { ok: true }));
  });
  const results: Array<Promise<WriteResult | Error>> = [];
  const adding = (async () => {
    for (let i = 0; i < 600; i++) results.push((await b.add(req(i))).result);
  })();
  // Let calls start and release them as they come until every file was queued and written.
  const pump = setInterval(() => releases.splice(0).forEach((r) => r()), 1);
  await adding;
  await b.drain();
  clearInterval(pump);
  const all = await Promise.all(results);
  assert.equal(calls.reduce((a, n) => a + n, 0), 600);
  assert.ok(calls.every((n) => n <= GROUP_FILES), JSON.stringify(calls));
  assert.ok(most <= CALLS_IN_FLIGHT, `most in flight ${most}`);
  assert.deepEqual(all[7], { errno: 'EIO', syscall: 'write' });
  assert.equal(all.filter((r) => !(r instanceof Error) && r.ok === true).length, 599);
});

test('a writeFiles call that rejects resolves each of its files with the error', async () => {
  const b = new SmallFileWriteBatcher(async () => {
    throw new TypeError('bad');
  });
  const { result } = await b.add(req(1));
  await b.drain();
  const r = await result;
  assert.ok(r instanceof TypeError);
});
