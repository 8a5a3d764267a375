/**
 * Unit tests of the encryption building blocks: seals bound to their place,
 * data-key wraps and the wrong-key message, key files and their permissions,
 * the signed manifest, and the record opener's verdicts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import { createHash, randomBytes } from 'node:crypto';
import { StreamType, isCairnError } from '../plugin-api/index.js';
import { CIPHERS, SealKind, open, openDigest, seal, sealDigest, type SealPlace } from './chunk-seal.js';
import { generateKey, publicKeyOf, readKeyFile, writeKeyFile, writeOnlyKeyOf } from './key-file.js';
import { unwrapJobKey, wrapDataKey, type EncryptionHeader } from './key-wrap.js';
import { ManifestBuilder, attributeDigests, manifestRecords, parseManifest, verifyManifest } from './job-manifest.js';
import { RecordOpener } from './record-opener.js';
import { JobSealer } from './job-sealer.js';

const place = (p: Partial<SealPlace> = {}): SealPlace => ({ jobId: 42, fileIndex: 7, streamNo: 0, kind: SealKind.DATA, chunk: 3, final: false, ...p });

for (const cipher of CIPHERS) {
  test(`${cipher}: a chunk opens only at the place it was sealed for`, () => {
    const key = randomBytes(32);
    const plain = Buffer.from('some file bytes '.repeat(100));
    const sealed = seal(cipher, key, place(), [Buffer.of(2), plain]);
    assert.equal(sealed.length, plain.length + 1 + 16);
    assert.ok(!sealed.includes(plain.subarray(0, 32)), 'the ciphertext does not hold the plaintext');
    assert.deepEqual(open(cipher, key, place(), sealed), Buffer.concat([Buffer.of(2), plain]));
    for (const other of [{ jobId: 43 }, { fileIndex: 8 }, { streamNo: 1 }, { chunk: 2 }, { final: true }, { kind: SealKind.PACK }]) {
      assert.equal(open(cipher, key, place(other), sealed), null, `opened at ${JSON.stringify(other)}`);
    }
    assert.equal(open(cipher, randomBytes(32), place(), sealed), null, 'another key');
    const flipped = Buffer.from(sealed);
    flipped[10] ^= 1;
    assert.equal(open(cipher, key, place(), flipped), null, 'one flipped bit');
  });

  test(`${cipher}: a stream's end record authenticates its digest and chunk count`, () => {
    const key = randomBytes(32);
    const d40 = randomBytes(40);
    const rec = sealDigest(cipher, key, 42, 7, 0, d40, 5);
    assert.equal(rec.length, 60);
    assert.deepEqual(rec.subarray(0, 40), d40, 'the digest stays readable (catalog)');
    assert.deepEqual(openDigest(cipher, key, 42, 7, 0, rec), { digest40: d40, chunks: 5 });
    const forged = Buffer.from(rec);
    forged.writeUInt32BE(4, 40); // claim one chunk fewer (a truncated stream)
    assert.equal(openDigest(cipher, key, 42, 7, 0, forged), null);
    assert.equal(openDigest(cipher, key, 42, 8, 0, rec), null, 'moved to another file');
  });
}

test('wraps: the client, a master and a keyring wrap open the data key; a wrong key is named with the job and both fingerprints', () => {
  const client = generateKey();
  const master = generateKey();
  const stranger = generateKey();
  const later = generateKey();
  const sealer = new JobSealer({ signer: writeOnlyKeyOf(client), recipients: [publicKeyOf(client), publicKeyOf(master)] }, 42);
  const h = sealer.header;
  assert.deepEqual(h.wraps.map((w) => w.fingerprint), [client.fingerprint, master.fingerprint]);
  const k1 = unwrapJobKey(h, { keys: [client] });
  assert.deepEqual(unwrapJobKey(h, { keys: [master] }), k1);
  const viaKeyring = wrapDataKey(k1, 42, publicKeyOf(later));
  assert.deepEqual(unwrapJobKey(h, { keys: [later], wraps: [{ jobId: 42, wrap: viaKeyring }] }), k1);
  assert.throws(() => unwrapJobKey(h, { keys: [later], wraps: [{ jobId: 41, wrap: viaKeyring }] }), (e: unknown) => isCairnError(e) && e.code === 'CAIRN_E_KEY_WRONG');
  assert.throws(
    () => unwrapJobKey(h, { keys: [stranger] }),
    (e: unknown) => isCairnError(e) && e.code === 'CAIRN_E_KEY_WRONG' && e.message.includes('job 42') && e.message.includes(client.fingerprint) && e.message.includes(stranger.fingerprint),
  );
  assert.throws(() => unwrapJobKey(h, { keys: [writeOnlyKeyOf(client)] }), (e: unknown) => isCairnError(e) && e.code === 'CAIRN_E_KEY_NEEDED');
  // A wrap replayed into another job's header does not open (the job id is inside the box).
  const other: EncryptionHeader = { ...h, jobId: 43 };
  assert.throws(() => unwrapJobKey(other, { keys: [client] }), (e: unknown) => isCairnError(e) && e.code === 'CAIRN_E_KEY_WRONG');
});

test('key files: 0600 for secrets, refused when others may read them, kinds kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-keys-'));
  try {
    const k = generateKey('test');
    writeKeyFile(join(dir, 'k'), k);
    writeKeyFile(join(dir, 'k.pub'), publicKeyOf(k));
    writeKeyFile(join(dir, 'k.wo'), writeOnlyKeyOf(k));
    assert.equal(statSync(join(dir, 'k')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'k.wo')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'k.pub')).mode & 0o777, 0o644);
    const back = readKeyFile(join(dir, 'k'));
    assert.equal(back.kind, 'private');
    assert.equal(back.fingerprint, k.fingerprint);
    assert.deepEqual(Buffer.from(back.boxSecretKey!), Buffer.from(k.boxSecretKey!));
    assert.equal(readKeyFile(join(dir, 'k.pub')).boxSecretKey, undefined);
    const wo = readKeyFile(join(dir, 'k.wo'));
    assert.equal(wo.kind, 'write-only');
    assert.equal(wo.boxSecretKey, undefined);
    assert.ok(wo.signSecretKey);
    assert.throws(() => writeKeyFile(join(dir, 'k'), k), (e: unknown) => isCairnError(e) && e.code === 'CAIRN_E_KEY_FILE');
    chmodSync(join(dir, 'k'), 0o640);
    assert.throws(() => readKeyFile(join(dir, 'k')), (e: unknown) => isCairnError(e) && e.code === 'CAIRN_E_KEY_PERMISSIONS' && e.message.includes('chmod 600'));
    writeFileSync(join(dir, 'bad'), '{"type":"cairn-key","version":1,"kind":"public","boxPublicKey":"AAAA","signPublicKey":"AAAA"}');
    assert.throws(() => readKeyFile(join(dir, 'bad')), (e: unknown) => isCairnError(e) && e.code === 'CAIRN_E_KEY_FILE');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('manifest: signed, split into MANIFEST records, parsed back; a changed byte or another signer fails', () => {
  const k = generateKey();
  const b = new ManifestBuilder();
  const attr = Buffer.from('attributes of file 1');
  b.addRecord({ fileIndex: 1, streamType: StreamType.ATTRIBUTES, streamNo: 0 }, attr.length, createHash('sha256').update(attr).digest());
  for (let i = 0; i < 10_000; i++) b.addRecord({ fileIndex: 1, streamType: StreamType.DATA_SEALED, streamNo: 0 }, 1000 + i, randomBytes(32));
  b.addStream(1, 0, 123456, randomBytes(32));
  const bytes = b.finish({ jobId: 9, signer: k.fingerprint, cipher: 'aes-256-gcm', files: 1, bytes: 123456, createdAt: 1 }, k.signSecretKey!);
  const recs = manifestRecords(bytes);
  assert.ok(recs.every((r) => r.streamType === StreamType.MANIFEST && r.fileIndex === 0));
  const m = parseManifest(Buffer.concat(recs.map((r) => r.payload)));
  assert.equal(m.head.records, 10_001);
  assert.equal(m.records[5].length, 1004);
  assert.equal(m.streams[0].length, 123456);
  assert.ok(verifyManifest(m, k.signPublicKey));
  assert.ok(!verifyManifest(m, generateKey().signPublicKey));
  const tampered = Buffer.from(bytes);
  tampered[200] ^= 1;
  assert.ok(!verifyManifest(parseManifest(tampered), k.signPublicKey));
  assert.deepEqual(attributeDigests(m).get(1), createHash('sha256').update(attr).digest());
});

test('record opener: chunks in order open; swapped, truncated, unsealed or altered-attribute records are named', () => {
  const client = generateKey();
  const s = new JobSealer({ signer: client, recipients: [publicKeyOf(client)] }, 5);
  const key = unwrapJobKey(s.header, { keys: [client] });
  const chunk = (n: number, text: string) => ({ fileIndex: 1, streamType: StreamType.DATA_SEALED, streamNo: 0, payload: seal(s.cipher, key, { jobId: 5, fileIndex: 1, streamNo: 0, kind: SealKind.DATA, chunk: n, final: false }, [Buffer.of(StreamType.DATA), Buffer.from(text)]) });
  const attr = { fileIndex: 1, streamType: StreamType.ATTRIBUTES, streamNo: 0, payload: Buffer.from('attrs') };
  const end = (n: number) => s.digestRecord(1, 0, Buffer.alloc(40), n);
  const attrs = new Map([[1, createHash('sha256').update('attrs').digest()]]);

  const ok = new RecordOpener(5, s.cipher, key, attrs);
  assert.equal(ok.open(attr).problem, undefined);
  const r0 = ok.open(chunk(0, 'a'));
  assert.equal(r0.record.streamType, StreamType.DATA);
  assert.equal(Buffer.from(r0.record.payload).toString(), 'a');
  assert.equal(ok.open(chunk(1, 'b')).problem, undefined);
  assert.equal(ok.open(end(2)).record.streamType, StreamType.DIGEST_SHA256);

  const swapped = new RecordOpener(5, s.cipher, key);
  swapped.open(attr);
  assert.equal(swapped.open(chunk(1, 'b')).problem?.code, 'CAIRN_E_SEAL_BROKEN');

  const truncated = new RecordOpener(5, s.cipher, key);
  truncated.open(attr);
  truncated.open(chunk(0, 'a'));
  const t = truncated.open(end(2));
  assert.equal(t.problem?.code, 'CAIRN_E_SEAL_BROKEN');
  assert.match(t.problem!.text, /2 chunk\(s\), 1 arrived/);

  const forged = new RecordOpener(5, s.cipher, key);
  assert.equal(forged.open({ fileIndex: 1, streamType: StreamType.DATA, streamNo: 0, payload: Buffer.from('x') }).problem?.code, 'CAIRN_E_SEAL_MISSING');

  const altered = new RecordOpener(5, s.cipher, key, attrs);
  assert.equal(altered.open({ ...attr, payload: Buffer.from('attrz') }).problem?.code, 'CAIRN_E_MANIFEST_MISMATCH');
});
