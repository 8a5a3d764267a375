// Signed manifests on the Director↔FD wire (protocol.md §9.3): inline up to the
// inline limit, else named by size and fetched in pieces that join byte-exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isCairnError } from '../plugin-api/index.js';
import type { EncryptionHeader } from './key-wrap.js';
import type { BackupOutcome } from './file-daemon.js';
import { MANIFEST_PIECE_BYTES, backupOutcomeFromWire, backupOutcomeToWire, fetchManifest, manifestInlineBytes, manifestPiece, sessionCryptoFromWire, sessionCryptoToWire } from './fd-wire.js';

const header: EncryptionHeader = { version: 1, cipher: 'aes-256-gcm', jobId: 7, wraps: [], signer: { fingerprint: 'ab', signPublicKey: 'cd' } };
const outcome = (manifest: Buffer): BackupOutcome =>
  ({ status: 'ok', counters: { files: 1, bytes: 1, storedBytes: 1, deleted: 0 }, messages: [], states: [], crypto: { header, manifest } }) as unknown as BackupOutcome;

function withInlineLimit(bytes: string | undefined, fn: () => Promise<void> | void): Promise<void> | void {
  const was = process.env.CAIRN_MANIFEST_INLINE_BYTES;
  if (bytes === undefined) delete process.env.CAIRN_MANIFEST_INLINE_BYTES;
  else process.env.CAIRN_MANIFEST_INLINE_BYTES = bytes;
  const restore = () => (was === undefined ? delete process.env.CAIRN_MANIFEST_INLINE_BYTES : (process.env.CAIRN_MANIFEST_INLINE_BYTES = was));
  try {
    const r = fn();
    return r instanceof Promise ? r.finally(restore) : (restore(), r);
  } catch (err) {
    restore();
    throw err;
  }
}

test('a small manifest travels inline; the limit is 4 MiB unless lowered, never raised', () =>
  withInlineLimit(undefined, () => {
    assert.equal(manifestInlineBytes(), MANIFEST_PIECE_BYTES);
    const m = randomBytes(5000);
    const wire = backupOutcomeToWire(outcome(m));
    assert.equal(wire.crypto?.manifestBytes, undefined);
    assert.deepEqual(backupOutcomeFromWire(JSON.parse(JSON.stringify(wire))).crypto?.manifest, m);
    process.env.CAIRN_MANIFEST_INLINE_BYTES = String(64 << 20);
    assert.equal(manifestInlineBytes(), MANIFEST_PIECE_BYTES);
  }));

test('a manifest over the limit is named by size and fetched in pieces that join byte-exact, in both directions', () =>
  withInlineLimit('1000', async () => {
    const m = randomBytes(4321);
    const wire = JSON.parse(JSON.stringify(backupOutcomeToWire(outcome(m))));
    assert.deepEqual([wire.crypto.manifest, wire.crypto.manifestBytes], [undefined, 4321]);
    assert.equal(backupOutcomeFromWire(wire).crypto?.manifest, undefined, 'left for the receiver to fetch');
    const asked: number[] = [];
    const got = await fetchManifest(7, wire.crypto.manifestBytes, async (at) => (asked.push(at), manifestPiece(m, 7, at)));
    assert.deepEqual(got, m);
    assert.deepEqual(asked, [0, 1000, 2000, 3000, 4000]);
    const session = JSON.parse(JSON.stringify(sessionCryptoToWire({ header, manifest: m })));
    assert.equal(session.manifestBytes, 4321);
    assert.equal(sessionCryptoFromWire(session)?.manifest, undefined);
  }));

test('bad pieces and offsets are refused with the job and offset named', async () => {
  const m = randomBytes(3000);
  for (const at of [-1, 3000, 1.5]) {
    assert.throws(() => manifestPiece(m, 9, at), (e: unknown) => isCairnError(e) && e.code === 'CAIRN_E_PROTOCOL_COMMAND' && /job 9/.test(e.message));
  }
  assert.throws(() => manifestPiece(undefined, 9, 0), (e: unknown) => isCairnError(e) && e.code === 'CAIRN_E_FD_NO_JOB');
  await assert.rejects(fetchManifest(9, 3000, async () => Buffer.alloc(0)), /offset 0 is 0 bytes/);
  await assert.rejects(fetchManifest(9, 3000, async () => Buffer.alloc(3001)), /3001 bytes/);
  await assert.rejects(fetchManifest(9, 3000, async () => ({ not: 'binary' })), /not binary/);
});
