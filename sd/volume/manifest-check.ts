/**
 * The keyless half of `verify session` for an encrypted job (docs/protocol.md
 * §3.1, docs/encryption.md §5 "Keyless check"): every whole record the walk
 * reads is hashed (SHA-256 of the payload as stored: ciphertext for sealed
 * records) and, at the end, matched against the record table of the job's
 * signed manifest by (fileIndex, streamType, streamNo, ordinal within that
 * key). The manifest comes with the request (the Director's catalog copy) or
 * from the session's own MANIFEST records; either way its Ed25519 signature
 * must verify with the signer's public key the request names — no data key
 * and no secret are involved. Block CRCs prove only what the SD wrote; this
 * proves the stored records are the ones the FD sent.
 *
 * Findings: a record whose digest or length differs, or that the manifest does
 * not list (CAIRN_E_MANIFEST_MISMATCH, at the block where the record starts);
 * records the manifest lists that the walk did not read (CAIRN_E_MANIFEST_MISSING,
 * one finding per run of file indexes, at the block after which they were due);
 * a manifest that is absent, undecodable or not signed by the anchor.
 */
import { createHash, hash, type Hash } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { StreamType, lastFileIndexOf } from '../../plugin-api/index.js';
import { parseManifest, verifyManifest, type Manifest } from './signed-manifest.js';

/** What the request names as trusted: the signer (from the Director's catalog) and, when it fits, the manifest itself. */
export interface ManifestAnchor {
  /** Fingerprint of the key that signed the job's manifest. */
  signer: string;
  /** Its Ed25519 public key, base64 (32 bytes). */
  signPublicKey: string;
  /** The signed manifest the Director holds (base64); absent: read from the session's MANIFEST records. */
  bytes?: string;
}

export interface ManifestCheckSummary {
  /** Where the manifest came from. */
  source: 'request' | 'volume' | 'none';
  signer: string;
  /** The signature verified with the anchor's key, for this job. */
  verified: boolean;
  /** Records in the manifest's table. */
  listed: number;
  /** Whole records read and matched to an entry with the same digest and length. */
  matched: number;
  mismatched: number;
  missing: number;
}

export interface ManifestFinding {
  volume: string;
  block: number;
  code: 'CAIRN_E_MANIFEST_MISMATCH' | 'CAIRN_E_MANIFEST_MISSING' | 'CAIRN_E_MANIFEST_SIGNATURE' | 'CAIRN_E_MANIFEST_INVALID';
  text: string;
  fileIndexes?: [number, number];
}

/** Per walked record: u32 fileIndex, u16 streamType, u16 streamNo, u32 length, 32 SHA-256, u16 volume, u32 start block, u32 end block. */
const ENTRY = 4 + 2 + 2 + 4 + 32 + 2 + 4 + 4;
/** Findings of one kind beyond this many are summed up in one more. */
const MAX_FINDINGS = 1000;

export class ManifestCheck {
  private table = Buffer.allocUnsafe(ENTRY * 1024);
  private count = 0;
  private readonly volumes: string[] = [];
  private hash: Hash | null = null;
  /** The digest of a record that came in one fragment (hashed in one call: most records do). */
  private digest: Buffer | null = null;
  private filled = 0;
  private current: { fileIndex: number; streamType: number; streamNo: number; length: number; volume: number; block: number; manifestPart: Buffer[] | null } | null = null;
  private readonly parts: Buffer[] = [];
  private partsBlock: { volume: string; block: number } | null = null;

  constructor(
    private readonly anchor: ManifestAnchor,
    private readonly jobId: number | undefined,
  ) {}

  /** A record starts (its first fragment). */
  begin(fileIndex: number, streamType: number, streamNo: number, length: number, volume: string, block: number): void {
    let v = this.volumes.indexOf(volume);
    if (v < 0) v = this.volumes.push(volume) - 1;
    const isManifest = fileIndex === 0 && streamType === StreamType.MANIFEST;
    this.current = { fileIndex, streamType, streamNo, length, volume: v, block, manifestPart: isManifest ? [] : null };
    this.hash = null;
    this.digest = null;
    this.filled = 0;
    if (isManifest) this.partsBlock ??= { volume, block };
  }

  /** Bytes of the record in progress (a fragment). */
  update(bytes: Uint8Array): void {
    const c = this.current;
    if (!c) return;
    if (c.manifestPart) c.manifestPart.push(Buffer.from(bytes));
    else if (this.filled === 0 && bytes.byteLength === c.length) this.digest = hash('sha256', bytes, 'buffer');
    else (this.hash ??= createHash('sha256')).update(bytes);
    this.filled += bytes.byteLength;
  }

  /** The record in progress is whole; `block` is where it ended. */
  end(block: number): void {
    const c = this.current;
    this.current = null;
    if (!c) return;
    if (c.manifestPart) {
      this.parts[c.streamNo] = Buffer.concat(c.manifestPart);
      return;
    }
    if ((this.count + 1) * ENTRY > this.table.length) {
      const bigger = Buffer.allocUnsafe(this.table.length * 2);
      this.table.copy(bigger, 0, 0, this.count * ENTRY);
      this.table = bigger;
    }
    let o = this.count * ENTRY;
    o = this.table.writeUInt32BE(c.fileIndex, o);
    o = this.table.writeUInt16BE(c.streamType, o);
    o = this.table.writeUInt16BE(c.streamNo, o);
    o = this.table.writeUInt32BE(c.length, o);
    (this.digest ?? this.hash?.digest() ?? hash('sha256', Buffer.alloc(0), 'buffer')).copy(this.table, o);
    o += 32;
    o = this.table.writeUInt16BE(c.volume, o);
    o = this.table.writeUInt32BE(c.block, o);
    this.table.writeUInt32BE(block, o);
    this.hash = null;
    this.digest = null;
    this.count++;
  }

  /** The record in progress was lost (a bad block, a broken chain): it is not counted. */
  drop(): void {
    this.current = null;
    this.hash = null;
    this.digest = null;
  }

  /** Matches what was read against the manifest; `start` is where the session's ranges begin (for records due before any read). */
  finish(start: { volume: string; block: number }): { summary: ManifestCheckSummary; findings: ManifestFinding[] } {
    const findings: ManifestFinding[] = [];
    const summary: ManifestCheckSummary = { source: 'none', signer: this.anchor.signer, verified: false, listed: 0, matched: 0, mismatched: 0, missing: 0 };
    const fromVolume = this.volumeManifest();
    const given = this.anchor.bytes !== undefined ? Buffer.from(this.anchor.bytes, 'base64') : null;
    const where = this.partsBlock ?? start;
    if (given && fromVolume && !given.equals(fromVolume)) {
      findings.push({ ...where, code: 'CAIRN_E_MANIFEST_MISMATCH', text: "the MANIFEST records on the volume differ from the job's signed manifest in the catalog", fileIndexes: [0, 0] });
    }
    const bytes = given ?? fromVolume;
    if (!bytes) {
      findings.push({ ...start, code: 'CAIRN_E_MANIFEST_MISSING', text: `the session holds no complete signed manifest (MANIFEST records missing${this.parts.length ? ' or incomplete' : ''}) and none was given: its records cannot be checked without a key` });
      return { summary, findings };
    }
    summary.source = given ? 'request' : 'volume';
    let m: Manifest;
    try {
      m = parseManifest(bytes);
    } catch (err) {
      findings.push({ ...where, code: 'CAIRN_E_MANIFEST_INVALID', text: (err as Error).message });
      return { summary, findings };
    }
    const key = Buffer.from(this.anchor.signPublicKey, 'base64');
    if (m.head.signer !== this.anchor.signer || (this.jobId !== undefined && m.head.jobId !== this.jobId) || !verifyManifest(m, key)) {
      findings.push({
        ...where,
        code: 'CAIRN_E_MANIFEST_SIGNATURE',
        text: `the signed manifest (job ${m.head.jobId}, signer ${m.head.signer}) does not verify with signer key ${this.anchor.signer}${this.jobId !== undefined ? ` for job ${this.jobId}` : ''}: the session's records cannot be trusted`,
      });
      return { summary, findings };
    }
    summary.verified = true;
    summary.listed = m.records.length;
    this.match(m, summary, findings, start);
    return { summary, findings };
  }

  /** The manifest from the session's MANIFEST records (parts 0…n-1, all present), or null. */
  private volumeManifest(): Buffer | null {
    if (this.parts.length === 0) return null;
    for (let i = 0; i < this.parts.length; i++) if (!this.parts[i]) return null;
    return Buffer.concat(this.parts);
  }

  private match(m: Manifest, summary: ManifestCheckSummary, findings: ManifestFinding[], start: { volume: string; block: number }): void {
    const t = this.table;
    const sameKey = (i: number, j: number): boolean => {
      const o = i * ENTRY;
      const r = m.records[j];
      return t.readUInt32BE(o) === r.fileIndex && t.readUInt16BE(o + 4) === r.streamType && t.readUInt16BE(o + 6) === r.streamNo;
    };
    // Usually every record was read, in the order signed: record i is entry i. Otherwise match by key:
    // the n-th record read with a key is the n-th listed with it.
    let aligned = this.count === m.records.length;
    for (let i = 0; aligned && i < this.count; i++) aligned = sameKey(i, i);
    const byKey = new Map<string, number[]>();
    if (!aligned) {
      m.records.forEach((r, j) => {
        const k = `${r.fileIndex}:${r.streamType}:${r.streamNo}`;
        const list = byKey.get(k);
        if (list) list.push(j);
        else byKey.set(k, [j]);
      });
    }
    const seen = new Map<string, number>();
    /** For each manifest entry: the walked record matched to it, or -1. */
    const matchedBy = new Int32Array(m.records.length).fill(-1);
    let bad = 0;
    for (let i = 0; i < this.count; i++) {
      const o = i * ENTRY;
      const fileIndex = t.readUInt32BE(o);
      const streamType = t.readUInt16BE(o + 4);
      const streamNo = t.readUInt16BE(o + 6);
      const length = t.readUInt32BE(o + 8);
      const sha = t.subarray(o + 12, o + 44);
      const volume = this.volumes[t.readUInt16BE(o + 44)];
      const block = t.readUInt32BE(o + 46);
      let j: number | undefined = i;
      if (!aligned) {
        const k = `${fileIndex}:${streamType}:${streamNo}`;
        const n = seen.get(k) ?? 0;
        seen.set(k, n + 1);
        j = byKey.get(k)?.[n];
      }
      const files: [number, number] = [fileIndex, lastFileIndexOf(streamType, fileIndex, streamNo)];
      if (j === undefined) {
        summary.mismatched++;
        if (bad++ < MAX_FINDINGS) findings.push({ volume, block, code: 'CAIRN_E_MANIFEST_MISMATCH', text: `a record of file index ${fileIndex} (stream type ${streamType}, stream ${streamNo}) that the job's signed manifest does not list: not written by the job's FD`, fileIndexes: files });
        continue;
      }
      matchedBy[j] = i;
      const want = m.records[j];
      if (want.length !== length || !want.sha256.equals(sha)) {
        summary.mismatched++;
        if (bad++ < MAX_FINDINGS) {
          findings.push({
            volume, block, code: 'CAIRN_E_MANIFEST_MISMATCH', fileIndexes: files,
            text: `the record of file index ${fileIndex} (stream type ${streamType}, stream ${streamNo}; manifest entry ${j}) is not the one the FD sent: ${want.length !== length ? `${length} bytes stored, ${want.length} signed` : `SHA-256 ${sha.toString('hex').slice(0, 16)}… stored, ${want.sha256.toString('hex').slice(0, 16)}… signed`} (altered, swapped or replaced on the storage)`,
          });
        }
        continue;
      }
      summary.matched++;
    }
    this.missing(m, matchedBy, summary, findings, start);
    if (bad > MAX_FINDINGS) findings.push({ ...start, code: 'CAIRN_E_MANIFEST_MISMATCH', text: `${bad - MAX_FINDINGS} more record(s) differ from the signed manifest` });
  }

  /** Entries no record matched: one finding per run of consecutive entries, naming the file indexes of the run. */
  private missing(m: Manifest, matchedBy: Int32Array, summary: ManifestCheckSummary, findings: ManifestFinding[], start: { volume: string; block: number }): void {
    let after = start;
    let runs = 0;
    for (let j = 0; j < m.records.length; ) {
      if (matchedBy[j] >= 0) {
        const o = matchedBy[j] * ENTRY;
        after = { volume: this.volumes[this.table.readUInt16BE(o + 44)], block: this.table.readUInt32BE(o + 50) };
        j++;
        continue;
      }
      // A run of missing entries: its file indexes, merged into contiguous ranges.
      const ranges: Array<[number, number]> = [];
      let n = 0;
      for (; j < m.records.length && matchedBy[j] < 0; j++, n++) {
        const r = m.records[j];
        ranges.push([r.fileIndex, lastFileIndexOf(r.streamType, r.fileIndex, r.streamNo)]);
      }
      summary.missing += n;
      for (const [a, b] of mergeRanges(ranges)) {
        if (runs++ >= MAX_FINDINGS) continue;
        findings.push({
          ...after, code: 'CAIRN_E_MANIFEST_MISSING', fileIndexes: [a, b],
          text: `record(s) of file index${a === b ? ` ${a}` : `es ${a}–${b}`} that the job's signed manifest lists are not on the volumes read (due after volume ${after.volume} block ${after.block})`,
        });
      }
    }
    if (runs > MAX_FINDINGS) findings.push({ ...start, code: 'CAIRN_E_MANIFEST_MISSING', text: `${runs - MAX_FINDINGS} more run(s) of records listed in the signed manifest are missing` });
  }
}

function mergeRanges(ranges: Array<[number, number]>): Array<[number, number]> {
  const sorted = ranges.slice().sort((x, y) => x[0] - y[0]);
  const out: Array<[number, number]> = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}
