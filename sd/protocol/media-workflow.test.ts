// Media workflow on a tape device: a job waits for a tape in a visible
// "waiting for media" state with a mount request and goes on when the
// operator mounts one; it gives up after the device's maximum wait; label
// refuses a labelled tape that is not recyclable and relabels one that is;
// unmount is refused while a session uses the drive; a drive that will not
// open at first is retried.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { NativeError } from '../../native/index.js';
import { tempDir } from '../../test/support/temp.js';
import { TapeDevice } from '../device/tape-device.js';
import { VtapeDrive, createVtape } from '../device/vtape-drive.js';
import type { MediaStatus } from '../device/sequential-device.js';
import { job, startSd } from '../testing/harness.js';
import { MemoryCatalog } from '../testing/memory-catalog.js';

const BS = 64 * 1024;

test('a job with no tape in the drive waits with a mount request, goes on when one is mounted; label, unmount and recycling by the operator', async (t) => {
  const dir = tempDir(t, 'cairn-media-');
  const tape = join(dir, 'drive.vtape');
  const requests: unknown[] = [];
  const catalog = new MemoryCatalog();
  const h = startSd({ devices: [{ name: 'lto', device: { type: 'vtape', path: tape, mediaPollMs: 60_000, maxMediaWaitMs: 60_000, onMountRequest: (r) => requests.push(r) }, blockSize: BS }] }, dir, catalog);
  // Replies on one connection come in order: the operator's commands travel on a connection of their own.
  const opening = h.director().openAppendSession(job(1));
  const director = h.director();
  let media: MediaStatus | undefined;
  for (let i = 0; i < 200; i++) {
    media = ((await director.status()).devices as Array<{ media: MediaStatus }>)[0].media;
    if (media.state === 'waiting-for-media') break;
    await sleep(10);
  }
  assert.equal(media?.state, 'waiting-for-media');
  assert.equal(media?.mountRequest?.volume, null, 'any blank tape');
  assert.match(String(media?.mountRequest?.message), /mount a blank tape to be labelled Default-0001 \(pool Default\)/);
  // The operator puts a blank tape in the drive and says so: the waiting job labels it and opens its session.
  await createVtape(tape, { capacity: 4 << 20 });
  const loaded = await director.mount({ device: 'lto' });
  assert.deepEqual(loaded.loaded, { volume: '' }, 'a blank tape');
  const grant = await opening;
  assert.equal(requests.at(-1), null, 'the mount request is withdrawn');
  // The drive is in use: the operator cannot unmount it now (3502).
  await assert.rejects(director.unmount({ device: 'lto' }), { code: 'CAIRN_E_VOLUME_BUSY' });
  const s = h.session();
  await s.appendOpen(grant.ticket);
  await s.writeRecord({ fileIndex: 1, streamType: 1, streamNo: 0, payload: Buffer.from('attrs') });
  await s.appendClose();
  const m = await director.media({ device: 'lto' });
  assert.deepEqual((m.volumes as Array<{ name: string; status: string }>).map((v) => [v.name, v.status]), [['Default-0001', 'append']]);
  // Labelling over a volume the catalog still counts is refused; once purged it is recycled under a new name.
  await assert.rejects(director.label({ device: 'lto', pool: 'Default', name: 'Weekly-0001' }), { code: 'CAIRN_E_VOLUME_LABELLED' });
  await catalog.updateVolume('Default-0001', { status: 'purged' });
  const r = await director.label({ device: 'lto', pool: 'Weekly', name: 'Weekly-0001' });
  assert.equal(r.previous, 'Default-0001');
  assert.equal(catalog.volumes.get('Weekly-0001')?.status, 'append');
  assert.equal((await director.media({ device: 'lto' })).loaded && ((await director.media({ device: 'lto' })).loaded as { volume: string }).volume, 'Weekly-0001');
  await director.unmount({ device: 'lto' });
  assert.equal((await director.media({ device: 'lto' })).loaded, null);
  await h.cleanup();
});

test('a job gives up after the maximum media wait with CAIRN_E_MEDIA_WAIT_TIMEOUT; a read names the volume it waits for', async (t) => {
  const dir = tempDir(t, 'cairn-media-to-');
  const h = startSd({ devices: [{ name: 'lto', device: { type: 'vtape', path: join(dir, 'none.vtape'), mediaPollMs: 50, maxMediaWaitMs: 300 }, blockSize: BS }] }, dir);
  await assert.rejects(h.director().openAppendSession(job(2)), { code: 'CAIRN_E_MEDIA_WAIT_TIMEOUT' });
  const grant = await h.director().openReadSession({ entries: [{ volume: 'Gone-0001', sessionId: 1, startFile: 1, startBlock: 1, endFile: 1, endBlock: 9 }] });
  const s = h.session();
  await s.readOpen(grant.ticket);
  await assert.rejects(
    (async () => {
      for await (const _ of s.readData()) void _;
    })(),
    (err: Error & { code: string }) => err.code === 'CAIRN_E_MEDIA_WAIT_TIMEOUT' && /mount volume Gone-0001 for reading/.test(err.message),
  );
  await h.cleanup();
});

test('a drive that will not open at first (busy) is retried, then used', async (t) => {
  const dir = tempDir(t, 'cairn-media-retry-');
  const file = join(dir, 't.vtape');
  await createVtape(file, { capacity: 1 << 20 });
  let tries = 0;
  const dev = new TapeDevice({
    type: 'vtape',
    drivePath: file,
    openRetryMs: 5,
    openDrive: async () => {
      if (++tries < 3) throw new NativeError('CAIRN_E_TAPE_BUSY', 'busy', { device: file });
      return VtapeDrive.open(file, { nonBlocking: true });
    },
  });
  assert.equal((await dev.mount())?.volume, '');
  assert.equal(tries, 3);
  await dev.close();
});
