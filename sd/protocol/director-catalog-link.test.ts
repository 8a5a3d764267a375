/**
 * Volume updates the SD keeps while no Director is connected survive an SD
 * restart (docs/volume-format.md §7): the job's session-closed survives in
 * the spool, so its committed end must too, or the next mount trims the
 * blocks of a job a Director then commits from the replayed spool.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { isCairnError } from '../../plugin-api/index.js';
import { DirectorCatalogLink } from './director-catalog-link.js';
import type { SdConnection } from './sd-connection.js';

function tmp(t: TestContext): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-sd-link-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A Director connection that records the SD's catalog requests and answers them OK. */
function fakeDirector(calls: Array<[string, unknown]>): SdConnection {
  return { call: async (line: string, body?: unknown) => (calls.push([line, body]), { status: 3000, text: 'OK', body: { result: null } }) } as unknown as SdConnection;
}

test('updates kept while no Director is connected are delivered after an SD restart, once', async (t) => {
  const file = path.join(tmp(t), 'spool', 'volume-updates.json');
  const before = new DirectorCatalogLink(1000, file);
  await before.updateVolume('Default-0001', { committedBytes: 10 * 65536, committedBlocks: 10 });
  await before.updateVolume('Default-0001', { committedBytes: 14 * 65536, committedBlocks: 14 });
  await before.updateVolume('Default-0002', { status: 'full' });
  // The SD stops here (nothing more of `before` runs); a new one starts on the same working directory.
  const after = new DirectorCatalogLink(1000, file);
  const calls: Array<[string, unknown]> = [];
  after.attach(fakeDirector(calls));
  await after.delivered();
  assert.deepEqual(calls, [
    ['catalog update-volume', ['Default-0001', { committedBytes: 14 * 65536, committedBlocks: 14 }]],
    ['catalog update-volume', ['Default-0002', { status: 'full' }]],
  ]);
  // Delivered: a third start has nothing left to send.
  const third = new DirectorCatalogLink(1000, file);
  const again: Array<[string, unknown]> = [];
  third.attach(fakeDirector(again));
  await third.delivered();
  assert.deepEqual(again, []);
});

test('a kept-updates file that cannot be read stops the SD with CAIRN_E_SD_STATE', (t) => {
  const file = path.join(tmp(t), 'volume-updates.json');
  fs.writeFileSync(file, '{"volumes": [');
  assert.throws(() => new DirectorCatalogLink(1000, file), (e: unknown) => isCairnError(e) && e.code === 'CAIRN_E_SD_STATE');
});
