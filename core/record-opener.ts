/**
 * The read side of an encrypted session (docs/encryption.md §Reading): turns
 * each record, in session order, back into the plain record the rest of the
 * restore pipeline knows — DATA_SEALED into its inner DATA/DATA_ZSTD/SPARSE_*
 * record, PACK_SEALED into PACK_DATA(_ZSTD), DIGEST_SEALED into
 * DIGEST_SHA256 — checking each seal at the place it was read (chunk n of
 * its stream, bound to the job, file, stream and, for packs, their index).
 * A record that fails comes back with a problem naming what is wrong; so
 * does an unsealed data record in an encrypted session (a forgery: the
 * storage host holds no key), and an ATTRIBUTES record whose SHA-256 is not
 * the one in the job's signed manifest.
 *
 * Reusable by any reader (restore, verify --level data, bextract): give it
 * the job id, cipher and data key (unwrapJobKey) and, when the manifest is
 * at hand, the attribute digests (job-manifest.ts attributeDigests).
 */
import { createHash } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { StreamType } from '../plugin-api/index.js';
import type { DataRecord } from '../sd/index.js';
import { SealKind, open, openDigest, type CipherName } from './chunk-seal.js';

export interface OpenProblem {
  code: 'CAIRN_E_SEAL_BROKEN' | 'CAIRN_E_SEAL_MISSING' | 'CAIRN_E_MANIFEST_MISMATCH';
  text: string;
}

export interface Opened {
  record: DataRecord;
  problem?: OpenProblem;
}

const SEALED_INNER: ReadonlySet<number> = new Set([StreamType.DATA, StreamType.DATA_ZSTD, StreamType.SPARSE_DATA, StreamType.SPARSE_DATA_ZSTD]);
const PACK_INNER: ReadonlySet<number> = new Set([StreamType.PACK_DATA, StreamType.PACK_DATA_ZSTD]);
/** Types that carry file data in the clear: never valid in an encrypted session. */
const PLAIN_DATA: ReadonlySet<number> = new Set([...SEALED_INNER, ...PACK_INNER, StreamType.DIGEST_SHA256]);

export class RecordOpener {
  /** The stream whose sealed chunks are being read, and how many came. */
  private stream = '';
  private chunks = 0;
  /** The last PACK_INDEX: its first file index and SHA-256 (the next PACK_SEALED is bound to it). */
  private index: { first: number; sha256: Buffer } | null = null;

  constructor(
    readonly jobId: number,
    private readonly cipher: CipherName,
    private readonly key: Uint8Array,
    /** SHA-256 of each file's ATTRIBUTES payload from the signed manifest; absent: attributes are not checked. */
    private readonly attributes?: Map<number, Buffer>,
  ) {}

  open(rec: DataRecord): Opened {
    const t = rec.streamType;
    if (rec.fileIndex === 0) return { record: rec };
    switch (t) {
      case StreamType.ATTRIBUTES: {
        this.stream = '';
        this.chunks = 0;
        if (!this.attributes) return { record: rec };
        const want = this.attributes.get(rec.fileIndex);
        const got = createHash('sha256').update(rec.payload).digest();
        if (!want) return { record: rec, problem: { code: 'CAIRN_E_MANIFEST_MISMATCH', text: `file index ${rec.fileIndex} has attributes on the volume but none in the job's signed manifest` } };
        if (!got.equals(want)) return { record: rec, problem: { code: 'CAIRN_E_MANIFEST_MISMATCH', text: `its attributes on the volume (SHA-256 ${got.toString('hex').slice(0, 16)}…) are not the ones the job's signed manifest records (${want.toString('hex').slice(0, 16)}…): altered on the storage` } };
        return { record: rec };
      }
      case StreamType.DATA_SEALED: {
        const key = `${rec.fileIndex}:${rec.streamNo}`;
        if (key !== this.stream) {
          this.stream = key;
          this.chunks = 0;
        }
        const chunk = this.chunks++;
        const plain = open(this.cipher, this.key, { jobId: this.jobId, fileIndex: rec.fileIndex, streamNo: rec.streamNo, kind: SealKind.DATA, chunk, final: false }, rec.payload);
        if (!plain || plain.length < 1 || !SEALED_INNER.has(plain[0])) return this.broken(rec, `sealed chunk ${chunk} of stream ${rec.streamNo} does not authenticate (altered, moved, reordered, or sealed with another key)`);
        return { record: { fileIndex: rec.fileIndex, streamType: plain[0], streamNo: rec.streamNo, payload: plain.subarray(1) } };
      }
      case StreamType.DIGEST_SEALED: {
        const seen = `${rec.fileIndex}:${rec.streamNo}` === this.stream ? this.chunks : 0;
        this.stream = '';
        this.chunks = 0;
        const d = openDigest(this.cipher, this.key, this.jobId, rec.fileIndex, rec.streamNo, rec.payload);
        if (!d) return this.broken(rec, `the end record of stream ${rec.streamNo} does not authenticate (altered, moved, or sealed with another key)`);
        if (d.chunks !== seen) return this.broken(rec, `stream ${rec.streamNo} was sealed as ${d.chunks} chunk(s), ${seen} arrived in order (chunks missing or truncated)`);
        return { record: { fileIndex: rec.fileIndex, streamType: StreamType.DIGEST_SHA256, streamNo: rec.streamNo, payload: d.digest40 } };
      }
      case StreamType.PACK_INDEX:
        this.index = { first: rec.fileIndex, sha256: createHash('sha256').update(rec.payload).digest() };
        return { record: rec };
      case StreamType.PACK_SEALED: {
        const idx = this.index;
        this.index = null;
        if (!idx || idx.first !== rec.fileIndex) return this.broken(rec, 'a sealed pack without its index');
        const plain = open(this.cipher, this.key, { jobId: this.jobId, fileIndex: rec.fileIndex, streamNo: rec.streamNo, kind: SealKind.PACK, chunk: 0, final: true, bound: idx.sha256 }, rec.payload);
        if (!plain || plain.length < 1 || !PACK_INNER.has(plain[0])) return this.broken(rec, `the sealed pack of files ${rec.fileIndex}–${rec.fileIndex + rec.streamNo} does not authenticate with its index (pack or index altered, moved, or sealed with another key)`);
        return { record: { fileIndex: rec.fileIndex, streamType: plain[0], streamNo: rec.streamNo, payload: plain.subarray(1) } };
      }
      default:
        if (PLAIN_DATA.has(t)) return { record: rec, problem: { code: 'CAIRN_E_SEAL_MISSING', text: `an unsealed record (stream type ${t}) in an encrypted job: not written by its FD` } };
        return { record: rec };
    }
  }

  private broken(rec: DataRecord, text: string): Opened {
    return { record: rec, problem: { code: 'CAIRN_E_SEAL_BROKEN', text } };
  }
}
