/**
 * A job's data key, wrapped (docs/encryption.md §Wraps). Each wrap is a NaCl
 * box (X25519 + XSalsa20-Poly1305, tweetnacl) of the 32-byte data key and
 * the job id, from a fresh ephemeral key pair to one recipient's box public
 * key — so the FD needs no box secret of its own to wrap (write-only
 * clients). The encryption header (the session start label's `encryption`
 * member, and the catalog's copy) lists the wraps, the cipher and the
 * signer. A keyring file holds further wraps made later (rotation, a master
 * key added afterwards): tape volumes are never rewritten.
 *
 * unwrapJobKey() is what every reader uses (restore, bextract, verify
 * --level data): it names the job's keys and the keys supplied when none fits.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import nacl from 'tweetnacl';
import { CairnError } from '../plugin-api/index.js';
import { CIPHERS, DATA_KEY_BYTES, type CipherName } from './chunk-seal.js';
import type { CairnKey } from './key-file.js';

export interface KeyWrap {
  /** The recipient key's fingerprint. */
  fingerprint: string;
  /** Ephemeral X25519 public key (base64, 32 bytes). */
  epk: string;
  /** Box nonce (base64, 24 bytes). */
  nonce: string;
  /** nacl.box of dataKey (32) ‖ jobId (u64 BE) (base64, 56 bytes). */
  box: string;
}

export interface EncryptionHeader {
  version: 1;
  cipher: CipherName;
  jobId: number;
  wraps: KeyWrap[];
  /** The key that signs the job's manifest: its fingerprint and Ed25519 public key (base64). */
  signer: { fingerprint: string; signPublicKey: string };
}

/** Wraps `dataKey` (bound to `jobId`) to one recipient. */
export function wrapDataKey(dataKey: Uint8Array, jobId: number, recipient: CairnKey): KeyWrap {
  const eph = nacl.box.keyPair();
  const nonce = new Uint8Array(randomBytes(nacl.box.nonceLength));
  const msg = Buffer.alloc(DATA_KEY_BYTES + 8);
  msg.set(dataKey, 0);
  msg.writeBigUInt64BE(BigInt(jobId), DATA_KEY_BYTES);
  const box = nacl.box(msg, nonce, recipient.boxPublicKey, eph.secretKey);
  eph.secretKey.fill(0);
  msg.fill(0);
  const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
  return { fingerprint: recipient.fingerprint, epk: b64(eph.publicKey), nonce: b64(nonce), box: b64(box) };
}

/** The data key from one wrap with one key, or null when the key cannot open it (or it is for another job). */
export function unwrapWith(wrap: KeyWrap, jobId: number, key: CairnKey): Buffer | null {
  if (!key.boxSecretKey) return null;
  const epk = Buffer.from(wrap.epk, 'base64');
  const nonce = Buffer.from(wrap.nonce, 'base64');
  const box = Buffer.from(wrap.box, 'base64');
  if (epk.length !== 32 || nonce.length !== nacl.box.nonceLength) return null;
  const msg = nacl.box.open(box, nonce, epk, key.boxSecretKey);
  if (!msg || msg.length !== DATA_KEY_BYTES + 8) return null;
  const m = Buffer.from(msg);
  if (m.readBigUInt64BE(DATA_KEY_BYTES) !== BigInt(jobId)) return null;
  return Buffer.from(m.subarray(0, DATA_KEY_BYTES));
}

/** Keys supplied to open jobs, and wraps made after the jobs were written (from the catalog or a keyring file). */
export interface Keyring {
  keys: CairnKey[];
  wraps?: Array<{ jobId: number; wrap: KeyWrap }>;
}

/** Every wrap that may open `header`'s job: its own, then the keyring's for that job. */
function wrapsFor(header: EncryptionHeader, keyring: Keyring): KeyWrap[] {
  return [...header.wraps, ...(keyring.wraps ?? []).filter((w) => w.jobId === header.jobId).map((w) => w.wrap)];
}

/**
 * The job's data key, or CAIRN_E_KEY_NEEDED (no key that can decrypt was supplied) /
 * CAIRN_E_KEY_WRONG (none of the supplied keys is one the job was sealed for), naming both sides.
 */
export function unwrapJobKey(header: EncryptionHeader, keyring: Keyring): Buffer {
  const wraps = wrapsFor(header, keyring);
  const sealedFor = [...new Set(wraps.map((w) => w.fingerprint))];
  const decrypting = keyring.keys.filter((k) => k.boxSecretKey);
  if (decrypting.length === 0) {
    const held = keyring.keys.map((k) => `${k.fingerprint} (${k.kind})`);
    throw new CairnError(
      'CAIRN_E_KEY_NEEDED',
      `job ${header.jobId} is encrypted for key ${sealedFor.join(', ')}; no private key was supplied${held.length ? ` (held: ${held.join(', ')} — public halves cannot decrypt)` : ''}: give the private key with --key FILE`,
      { jobId: header.jobId, sealedFor, supplied: keyring.keys.map((k) => k.fingerprint) },
    );
  }
  for (const w of wraps) {
    for (const k of decrypting) {
      if (k.fingerprint !== w.fingerprint) continue;
      const key = unwrapWith(w, header.jobId, k);
      if (key) return key;
    }
  }
  const supplied = decrypting.map((k) => k.fingerprint);
  throw new CairnError(
    'CAIRN_E_KEY_WRONG',
    `job ${header.jobId} was sealed for key ${sealedFor.join(', ')}, you supplied ${supplied.join(', ')}`,
    { jobId: header.jobId, sealedFor, supplied },
  );
}

/** Checks the shape of an encryption header read from a label, the catalog or the wire. */
export function parseEncryptionHeader(o: unknown, where = 'encryption header'): EncryptionHeader {
  const bad = (why: string) => new CairnError('CAIRN_E_KEY_HEADER', `${where}: ${why}`, {});
  const h = o as EncryptionHeader;
  if (!h || typeof h !== 'object') throw bad('not an object');
  if (h.version !== 1) throw bad(`version ${String(h.version)}, this Cairn reads 1`);
  if (!CIPHERS.includes(h.cipher)) throw bad(`unknown cipher ${String(h.cipher)}`);
  if (!Number.isSafeInteger(h.jobId) || h.jobId < 0) throw bad('jobId missing');
  if (!Array.isArray(h.wraps) || h.wraps.some((w) => !w || typeof w.fingerprint !== 'string' || typeof w.epk !== 'string' || typeof w.nonce !== 'string' || typeof w.box !== 'string')) throw bad('wraps malformed');
  if (!h.signer || typeof h.signer.fingerprint !== 'string' || typeof h.signer.signPublicKey !== 'string') throw bad('signer missing');
  return h;
}

/** The encryption header of a session start label (its `encryption` member), or null for a job that is not encrypted. */
export function encryptionOfLabel(label: { encryption?: unknown; job?: { jobId?: number } }): EncryptionHeader | null {
  if (label.encryption === undefined) return null;
  return parseEncryptionHeader(label.encryption, `session start label of job ${label.job?.jobId ?? '?'}`);
}

// --- keyring files -------------------------------------------------------------------------------

const KEYRING_TAG = 'cairn-keyring';

export interface KeyringFile {
  type: typeof KEYRING_TAG;
  version: 1;
  created: string;
  /** Wraps of jobs' data keys, each to the key its fingerprint names. Holds no secret: safe to store beside the volumes. */
  wraps: Array<{ jobId: number; wrap: KeyWrap }>;
}

export function encodeKeyring(wraps: Array<{ jobId: number; wrap: KeyWrap }>): string {
  const f: KeyringFile = { type: KEYRING_TAG, version: 1, created: new Date().toISOString(), wraps };
  return JSON.stringify(f, null, 2) + '\n';
}

export function writeKeyringFile(path: string, wraps: Array<{ jobId: number; wrap: KeyWrap }>): void {
  writeFileSync(path, encodeKeyring(wraps), { mode: 0o644 });
}

export function readKeyringFile(path: string): Array<{ jobId: number; wrap: KeyWrap }> {
  let o: KeyringFile;
  try {
    o = JSON.parse(readFileSync(path, 'utf8')) as KeyringFile;
  } catch (err) {
    throw new CairnError('CAIRN_E_KEY_FILE', `cannot read keyring ${path}: ${(err as Error).message}`, { path }, { cause: err });
  }
  if (!o || o.type !== KEYRING_TAG || o.version !== 1 || !Array.isArray(o.wraps)) throw new CairnError('CAIRN_E_KEY_FILE', `${path} is not a Cairn keyring file (version 1)`, { path });
  return o.wraps;
}

/** One job to re-wrap: its header (from the catalog) and the later wraps it already has. */
export interface RewrapJob {
  jobId: number;
  header: EncryptionHeader;
  wraps: KeyWrap[];
}

/**
 * Key rotation's core: each job's data key opened with `openers` (private keys) and wrapped again to
 * `recipient` (a public key suffices), the data never touched. Jobs the keys cannot open are listed in
 * `failed` with the code (CAIRN_E_KEY_WRONG / _NEEDED) and message that name both sides.
 */
export function rewrapDataKeys(jobs: readonly RewrapJob[], openers: CairnKey[], recipient: CairnKey): { wraps: Array<{ jobId: number; wrap: KeyWrap }>; failed: Array<{ jobId: number; code: string; message: string }> } {
  const wraps: Array<{ jobId: number; wrap: KeyWrap }> = [];
  const failed: Array<{ jobId: number; code: string; message: string }> = [];
  for (const j of jobs) {
    let dataKey: Buffer;
    try {
      dataKey = unwrapJobKey(j.header, { keys: openers, wraps: j.wraps.map((wrap) => ({ jobId: j.jobId, wrap })) });
    } catch (err) {
      failed.push({ jobId: j.jobId, code: err instanceof CairnError ? err.code : 'CAIRN_E_KEY_WRONG', message: (err as Error).message });
      continue;
    }
    try {
      wraps.push({ jobId: j.jobId, wrap: wrapDataKey(dataKey, j.jobId, recipient) });
    } finally {
      dataKey.fill(0);
    }
  }
  return { wraps, failed };
}
