import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCairnError } from './errors.js';
import { HookRunner } from './hook-runner.js';

const runner = (controller = new AbortController()): HookRunner => new HookRunner('t', '1.0.0', { controller, timeouts: { readData: 200 } });

async function collect<T>(src: T[] | AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of src) out.push(x);
  return out;
}

test('chunks: a synchronous Iterable (API 1.1) is taken at once as an array', async () => {
  const a = new Uint8Array([1]);
  const b = new Uint8Array([2]);
  const arr = runner().chunks('readData', () => [a, b]);
  assert.ok(Array.isArray(arr));
  assert.deepEqual(arr, [a, b]);
  const set = runner().chunks('readData', () => new Set([a]));
  assert.deepEqual(set, [a]);
});

test('chunks: an AsyncIterable goes through the guarded iterator, with the per-chunk timeout', async () => {
  const r = runner();
  assert.deepEqual(await collect(r.chunks('readData', async function* () { yield 1; yield 2; })), [1, 2]);
  await assert.rejects(
    collect(runner().chunks('readData', async function* () { yield 1; await new Promise((res) => setTimeout(res, 2000)); })),
    (e: unknown) => isCairnError(e) && e.code === 'CAIRN_E_AGENT_TIMEOUT',
  );
});

test('chunks: a byte array, null, a non-iterable or a throwing readData is CAIRN_E_AGENT_FAILED; after an abort, CAIRN_E_AGENT_ABORTED', () => {
  const bad: Array<[string, () => unknown, RegExp]> = [
    ['bytes', () => new Uint8Array(3), /a byte array/],
    ['null', () => null, /returned null/],
    ['object', () => ({}), /neither an AsyncIterable nor an Iterable/],
    ['throws', () => { throw new Error('disk on fire'); }, /disk on fire/],
  ];
  for (const [name, make, why] of bad) {
    assert.throws(() => runner().chunks('readData', make as () => Iterable<number>), (e: unknown) => isCairnError(e) && e.code === 'CAIRN_E_AGENT_FAILED' && why.test(e.message), name);
  }
  const c = new AbortController();
  c.abort();
  assert.throws(() => runner(c).chunks('readData', () => [1]), (e: unknown) => isCairnError(e) && e.code === 'CAIRN_E_AGENT_ABORTED');
});
