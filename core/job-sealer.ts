/**
 * The backup side of one encrypted job (docs/encryption.md): a fresh random
 * 256-bit data key, its wraps to every recipient (the client's key and any
 * master recovery keys: public halves only, so a write-only FD works), the
 * encryption header the SD writes into the session start label, the seal
 * specs the zstd workers use, and the signed manifest built from every
 * record as it leaves for the SD.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { CairnError, StreamType } from '../plugin-api/index.js';
import type { DataRecord } from '../sd/index.js';
import { DATA_KEY_BYTES, DEFAULT_CIPHER, sealDigest, type CipherName } from './chunk-seal.js';
import type { CairnKey } from './key-file.js';
import { wrapDataKey, type EncryptionHeader } from './key-wrap.js';
import { ManifestBuilder, manifestRecords } from './job-manifest.js';
import { decodePackIndex } from './pack.js';
import type { PackSealSpec, SealSpec } from './zstd-worker.js';

/** What an FD needs to encrypt: its signing key and the recipients' public keys (its own first). */
export interface FdCrypto {
  /** Holds the Ed25519 signing secret (a private or write-only key). */
  signer: CairnKey;
  /** Keys the data key is wrapped to: the client's own key and master recovery keys (public halves suffice). */
  recipients: CairnKey[];
  cipher?: CipherName;
}

/** A record that carries the SHA-256 of its payload already (made on a worker). */
export type DigestedRecord = DataRecord & { sha256?: Buffer | null };

export class JobSealer {
  readonly header: EncryptionHeader;
  readonly cipher: CipherName;
  /** Its own 32-byte buffer (a view of Node's shared pool would be cloned whole into every worker task). */
  private readonly key: Uint8Array;
  readonly manifest = new ManifestBuilder();
  private files = 0;
  private bytes = 0;

  constructor(private readonly crypto: FdCrypto, readonly jobId: number) {
    if (!crypto.signer.signSecretKey) throw new CairnError('CAIRN_E_KEY_FILE', `key ${crypto.signer.fingerprint} has no signing secret: an encrypting FD needs a private or write-only key`, { fingerprint: crypto.signer.fingerprint });
    if (crypto.recipients.length === 0) throw new CairnError('CAIRN_E_KEY_FILE', 'an encrypted job needs at least one recipient key', {});
    this.cipher = crypto.cipher ?? DEFAULT_CIPHER;
    this.key = new Uint8Array(randomBytes(DATA_KEY_BYTES));
    const seen = new Set<string>();
    const wraps = [];
    for (const r of crypto.recipients) {
      if (seen.has(r.fingerprint)) continue;
      seen.add(r.fingerprint);
      wraps.push(wrapDataKey(this.key, jobId, r));
    }
    this.header = {
      version: 1,
      cipher: this.cipher,
      jobId,
      wraps,
      signer: { fingerprint: crypto.signer.fingerprint, signPublicKey: Buffer.from(crypto.signer.signPublicKey).toString('base64') },
    };
  }

  /** The worker's seal spec for chunk `chunk` of (fileIndex, streamNo). */
  chunkSpec(fileIndex: number, streamNo: number, chunk: number, prefix: Uint8Array | null): SealSpec {
    return { key: this.key, cipher: this.cipher, jobId: this.jobId, fileIndex, streamNo, chunk, prefix: prefix ? new Uint8Array(prefix) : null };
  }

  packSpec(fileIndexes: number[], streamNos: number[]): PackSealSpec {
    return { key: this.key, cipher: this.cipher, jobId: this.jobId, fileIndexes, streamNos };
  }

  /** The DIGEST_SEALED record ending a stream of `chunks` sealed chunks. */
  digestRecord(fileIndex: number, streamNo: number, digest40: Buffer, chunks: number): DataRecord {
    return { fileIndex, streamType: StreamType.DIGEST_SEALED, streamNo, payload: sealDigest(this.cipher, this.key, this.jobId, fileIndex, streamNo, digest40, chunks) };
  }

  /** Accounts a record as it leaves for the SD (in session order). */
  sent(rec: DigestedRecord): void {
    const sha = rec.sha256 ?? createHash('sha256').update(rec.payload).digest();
    this.manifest.addRecord(rec, rec.payload.byteLength, sha);
    switch (rec.streamType) {
      case StreamType.ATTRIBUTES:
        if (rec.fileIndex > 0) this.files++;
        break;
      case StreamType.DIGEST_SEALED: {
        const p = Buffer.from(rec.payload.buffer, rec.payload.byteOffset, rec.payload.byteLength);
        const length = Number(p.readBigUInt64BE(32));
        this.bytes += length;
        this.manifest.addStream(rec.fileIndex, rec.streamNo, length, p.subarray(0, 32));
        break;
      }
      case StreamType.PACK_INDEX:
        for (const m of decodePackIndex(rec.payload, rec.fileIndex, rec.fileIndex + rec.streamNo)) {
          this.bytes += m.length;
          this.manifest.addStream(m.fileIndex, m.streamNo, m.length, m.digest);
        }
        break;
      default:
        break;
    }
  }

  /** The signed manifest (after every other record was sent) and its MANIFEST records. */
  finish(): { manifest: Buffer; records: DataRecord[] } {
    const manifest = this.manifest.finish(
      { jobId: this.jobId, signer: this.crypto.signer.fingerprint, cipher: this.cipher, files: this.files, bytes: this.bytes, createdAt: Date.now() },
      this.crypto.signer.signSecretKey!,
    );
    this.key.fill(0);
    return { manifest, records: manifestRecords(manifest) };
  }

  /** Forgets the data key (a job that failed). */
  discard(): void {
    this.key.fill(0);
  }
}
