/**
 * Cairn keys and key files (docs/encryption.md §Keys). A key is a NaCl box
 * key pair (X25519: data keys are wrapped to it) and a NaCl sign key pair
 * (Ed25519: job manifests are signed with it), generated together; its
 * fingerprint names both public halves. A key file holds one of three kinds:
 *
 * - `private`: everything (can back up, sign, and decrypt);
 * - `write-only`: the public halves and the signing secret — an FD holding
 *   it backs up and signs but cannot open its own backups;
 * - `public`: the public halves (a recipient, e.g. a master recovery key).
 *
 * A file holding a secret is written with mode 0600 and refused when group
 * or others may read it.
 */
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { Buffer } from 'node:buffer';
import nacl from 'tweetnacl';
import { CairnError } from '../plugin-api/index.js';

export type KeyKind = 'private' | 'write-only' | 'public';

export interface CairnKey {
  kind: KeyKind;
  /** 32 hex digits: the first 16 bytes of SHA-256("cairn key v1\0" ‖ boxPublicKey ‖ signPublicKey). */
  fingerprint: string;
  boxPublicKey: Uint8Array;
  signPublicKey: Uint8Array;
  /** private only. */
  boxSecretKey?: Uint8Array;
  /** private and write-only: the 64-byte NaCl signing secret (seed ‖ public key). */
  signSecretKey?: Uint8Array;
  created?: string;
  comment?: string;
  /** Where it was read from, for messages. */
  path?: string;
}

const FILE_TAG = 'cairn-key';
const FILE_VERSION = 1;

export function keyFingerprint(boxPublicKey: Uint8Array, signPublicKey: Uint8Array): string {
  return createHash('sha256').update('cairn key v1\0').update(boxPublicKey).update(signPublicKey).digest('hex').slice(0, 32);
}

/** A new private key (random, from tweetnacl's CSPRNG, which is node:crypto's randomBytes in Node). */
export function generateKey(comment?: string): CairnKey {
  const box = nacl.box.keyPair();
  const sign = nacl.sign.keyPair();
  return {
    kind: 'private',
    fingerprint: keyFingerprint(box.publicKey, sign.publicKey),
    boxPublicKey: box.publicKey,
    signPublicKey: sign.publicKey,
    boxSecretKey: box.secretKey,
    signSecretKey: sign.secretKey,
    created: new Date().toISOString(),
    ...(comment ? { comment } : {}),
  };
}

/** The public halves only. */
export function publicKeyOf(k: CairnKey): CairnKey {
  return { kind: 'public', fingerprint: k.fingerprint, boxPublicKey: k.boxPublicKey, signPublicKey: k.signPublicKey, created: k.created, comment: k.comment };
}

/** The public halves and the signing secret: what a write-only FD holds. */
export function writeOnlyKeyOf(k: CairnKey): CairnKey {
  if (!k.signSecretKey) throw new CairnError('CAIRN_E_KEY_FILE', `key ${k.fingerprint} has no signing secret: a write-only key is made from a private key`, { fingerprint: k.fingerprint });
  return { ...publicKeyOf(k), kind: 'write-only', signSecretKey: k.signSecretKey };
}

export function canDecrypt(k: CairnKey): boolean {
  return k.boxSecretKey !== undefined;
}

export function canSign(k: CairnKey): boolean {
  return k.signSecretKey !== undefined;
}

/** The key file's text (JSON, base64 keys). */
export function encodeKeyFile(k: CairnKey): string {
  const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
  const o: Record<string, unknown> = { type: FILE_TAG, version: FILE_VERSION, kind: k.kind, fingerprint: k.fingerprint, boxPublicKey: b64(k.boxPublicKey), signPublicKey: b64(k.signPublicKey) };
  if (k.kind === 'private' && k.boxSecretKey) o.boxSecretKey = b64(k.boxSecretKey);
  if (k.kind !== 'public' && k.signSecretKey) o.signSecretKey = b64(k.signSecretKey);
  if (k.created) o.created = k.created;
  if (k.comment) o.comment = k.comment;
  return JSON.stringify(o, null, 2) + '\n';
}

/** Writes a key file: mode 0600 when it holds a secret, 0644 otherwise; never over an existing file. */
export function writeKeyFile(path: string, k: CairnKey): void {
  const secret = k.kind !== 'public';
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let fd: number;
  try {
    fd = openSync(path, 'wx', secret ? 0o600 : 0o644);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CairnError('CAIRN_E_KEY_FILE', code === 'EEXIST' ? `${path} already exists; a key file is never overwritten` : `cannot write key file ${path}: ${(err as Error).message}`, { path, errno: code }, { cause: err });
  }
  try {
    // The umask may have removed bits, never added: make the mode exact.
    chmodSync(path, secret ? 0o600 : 0o644);
    writeSync(fd, encodeKeyFile(k));
  } finally {
    closeSync(fd);
  }
}

/** Reads and checks a key file (JSON, fingerprint, halves that belong together, permissions of a secret). */
export function readKeyFile(path: string): CairnKey {
  let text: string;
  let mode: number;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new CairnError('CAIRN_E_KEY_FILE', `cannot read key file ${path}: ${(err as Error).message}`, { path, errno: (err as NodeJS.ErrnoException).code }, { cause: err });
  }
  try {
    mode = fstatSync(fd).mode;
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  return parseKeyFile(text, path, mode);
}

export function parseKeyFile(text: string, path = '(key)', mode?: number): CairnKey {
  const bad = (why: string) => new CairnError('CAIRN_E_KEY_FILE', `${path} is not a Cairn key file: ${why}`, { path });
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw bad('not JSON');
  }
  if (!o || o.type !== FILE_TAG) throw bad(`"type" is not "${FILE_TAG}"`);
  if (o.version !== FILE_VERSION) throw bad(`version ${String(o.version)}, this Cairn reads ${FILE_VERSION}`);
  const kind = o.kind as KeyKind;
  if (kind !== 'private' && kind !== 'write-only' && kind !== 'public') throw bad(`unknown kind ${String(o.kind)}`);
  const bytes = (name: string, len: number, required: boolean): Uint8Array | undefined => {
    const v = o[name];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string') throw bad(`${name} missing`);
    const b = Buffer.from(v, 'base64');
    if (b.length !== len) throw bad(`${name} is ${b.length} bytes, not ${len}`);
    return new Uint8Array(b);
  };
  const boxPublicKey = bytes('boxPublicKey', 32, true)!;
  const signPublicKey = bytes('signPublicKey', 32, true)!;
  const boxSecretKey = bytes('boxSecretKey', 32, kind === 'private');
  const signSecretKey = bytes('signSecretKey', 64, kind !== 'public');
  const fingerprint = keyFingerprint(boxPublicKey, signPublicKey);
  if (o.fingerprint !== undefined && o.fingerprint !== fingerprint) throw bad(`its fingerprint ${String(o.fingerprint)} does not match its public keys (${fingerprint})`);
  if (boxSecretKey && !Buffer.from(nacl.box.keyPair.fromSecretKey(boxSecretKey).publicKey).equals(Buffer.from(boxPublicKey))) throw bad('its box secret key does not belong to its box public key');
  if (signSecretKey && !Buffer.from(signSecretKey.subarray(32)).equals(Buffer.from(signPublicKey))) throw bad('its signing secret key does not belong to its signing public key');
  if ((boxSecretKey || signSecretKey) && mode !== undefined && (mode & 0o077) !== 0) {
    throw new CairnError(
      'CAIRN_E_KEY_PERMISSIONS',
      `key file ${path} holds a secret key but group or others may access it (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); run \`chmod 600 ${path}\``,
      { path, mode: mode & 0o777 },
    );
  }
  return {
    kind,
    fingerprint,
    boxPublicKey,
    signPublicKey,
    ...(boxSecretKey ? { boxSecretKey } : {}),
    ...(signSecretKey ? { signSecretKey } : {}),
    ...(typeof o.created === 'string' ? { created: o.created } : {}),
    ...(typeof o.comment === 'string' ? { comment: o.comment } : {}),
    path,
  };
}

/** The public description of a key (for `cairn key show`, JSON reports and repository metadata). */
export function describeKey(k: CairnKey): { kind: KeyKind; fingerprint: string; boxPublicKey: string; signPublicKey: string; created?: string; comment?: string; path?: string } {
  return {
    kind: k.kind,
    fingerprint: k.fingerprint,
    boxPublicKey: Buffer.from(k.boxPublicKey).toString('base64'),
    signPublicKey: Buffer.from(k.signPublicKey).toString('base64'),
    ...(k.created ? { created: k.created } : {}),
    ...(k.comment ? { comment: k.comment } : {}),
    ...(k.path ? { path: k.path } : {}),
  };
}

/** A public key from describeKey()'s output (repository metadata, FD config recipients inline). */
export function keyFromDescription(d: { boxPublicKey: string; signPublicKey: string; comment?: string }): CairnKey {
  const boxPublicKey = new Uint8Array(Buffer.from(d.boxPublicKey, 'base64'));
  const signPublicKey = new Uint8Array(Buffer.from(d.signPublicKey, 'base64'));
  if (boxPublicKey.length !== 32 || signPublicKey.length !== 32) throw new CairnError('CAIRN_E_KEY_FILE', 'a recipient public key is not 32 bytes', {});
  return { kind: 'public', fingerprint: keyFingerprint(boxPublicKey, signPublicKey), boxPublicKey, signPublicKey, ...(d.comment ? { comment: d.comment } : {}) };
}

/** True when the file exists and is a regular file. */
export function keyFileExists(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}
