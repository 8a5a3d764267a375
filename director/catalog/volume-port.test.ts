import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Catalog, volumeCatalogPort } from './index.js';

test('volume port: next name, create, find appendable, update, get', async () => {
  const cat = await Catalog.open(':memory:');
  try {
    const port = volumeCatalogPort(cat);
    assert.equal(await port.findAppendableVolume('daily', 'file'), null);
    assert.equal(await port.nextVolumeName('daily'), 'daily-0001');
    assert.equal(await port.nextVolumeName('daily'), 'daily-0002');
    assert.equal(await port.nextVolumeName('weekly'), 'weekly-0001');

    // a name taken by hand is skipped
    await cat.createVolume({ name: 'daily-0003', pool: 'daily', mediaType: 'file' });
    assert.equal(await port.nextVolumeName('daily'), 'daily-0004');

    const v = await port.createVolume({ name: 'daily-0004', pool: 'daily', mediaType: 'file' });
    assert.deepEqual(v, { name: 'daily-0004', pool: 'daily', mediaType: 'file', status: 'append', committedBytes: 0, committedBlocks: 0, jobs: 0 });
    await assert.rejects(port.createVolume({ name: 'daily-0004', pool: 'daily', mediaType: 'file' }), { code: 'CAIRN_E_CATALOG_VOLUME_EXISTS' });

    // oldest appendable first, media type must match
    assert.equal((await port.findAppendableVolume('daily', 'file'))?.name, 'daily-0003');
    assert.equal(await port.findAppendableVolume('daily', 'tape'), null);
    await port.updateVolume('daily-0003', { status: 'full' });
    assert.equal((await port.findAppendableVolume('daily', 'file'))?.name, 'daily-0004');

    await port.updateVolume('daily-0004', { committedBytes: 5_000_000_000, committedBlocks: 76_294, jobs: 1 });
    assert.deepEqual(await port.getVolume('daily-0004'), {
      name: 'daily-0004', pool: 'daily', mediaType: 'file', status: 'append', committedBytes: 5_000_000_000, committedBlocks: 76_294, jobs: 1,
    });
    const full = await cat.getVolume('daily-0004');
    assert.ok(full?.firstWritten instanceof Date && full.lastWritten instanceof Date);

    // pool size limit: a volume that has no room left is marked Full when offered
    await cat.setPool('daily', { maxVolumeBytes: 5_000_000_000 });
    assert.equal(await port.findAppendableVolume('daily', 'file'), null);
    assert.deepEqual(await cat.getPool('daily'), { maxVolumeBytes: 5_000_000_000 });
    // setPool keeps the name counter
    assert.equal(await port.nextVolumeName('daily'), 'daily-0005');

    await assert.rejects(port.updateVolume('nope', { status: 'error' }), { code: 'CAIRN_E_CATALOG_NO_VOLUME' });
    assert.equal(await port.getVolume('nope'), null);
    assert.deepEqual((await cat.listVolumes({ pool: 'daily' })).map((x) => x.name), ['daily-0003', 'daily-0004']);
    assert.deepEqual((await cat.listVolumes({ status: 'full' })).map((x) => x.name), ['daily-0003', 'daily-0004']);
  } finally {
    await cat.close();
  }
});
