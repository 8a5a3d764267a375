/**
 * Schema v3 on both engines: an encrypted job's header and signed manifest
 * (job_crypto) and later data-key wraps (job_key_wraps) round-trip.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { ENGINES } from './test-engines.js';

for (const engine of ENGINES) {
  test(`${engine.name}: job_crypto and job_key_wraps round-trip`, async (t) => {
    const cat = await engine.open(t);
    if (!cat) return;
    try {
      const header = { version: 1, cipher: 'aes-256-gcm', jobId: 7, wraps: [{ fingerprint: 'aa', epk: 'e', nonce: 'n', box: 'b' }, { fingerprint: 'bb', epk: 'e', nonce: 'n', box: 'b' }], signer: { fingerprint: 'aa', signPublicKey: 's' } };
      const manifest = Buffer.from([0, 1, 2, 255, 254]);
      await cat.saveJobCrypto({ jobId: 7, header, manifest });
      assert.equal(await cat.jobCrypto(8), null);
      const c = await cat.jobCrypto(7);
      assert.deepEqual(c && { ...c, manifest: c.manifest && Buffer.from(c.manifest) }, { jobId: 7, cipher: 'aes-256-gcm', signer: 'aa', recipients: ['aa', 'bb'], header, manifest });
      assert.deepEqual(await cat.encryptedJobIds(), [7]);
      await cat.addKeyWraps([{ jobId: 7, wrap: { fingerprint: 'cc', epk: 'x', nonce: 'y', box: 'z' } as { fingerprint: string } }]);
      const w = await cat.keyWraps(7);
      assert.equal(w.length, 1);
      assert.equal(w[0].fingerprint, 'cc');
      assert.deepEqual(w[0].wrap, { fingerprint: 'cc', epk: 'x', nonce: 'y', box: 'z' });
      assert.deepEqual(await cat.keyWraps(8), []);
      assert.equal((await cat.keyWraps()).length, 1);
    } finally {
      await cat.close();
    }
  });
}
