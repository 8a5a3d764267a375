/**
 * An encrypted local repository's keys (docs/encryption.md §Local mode): the
 * `encryption` member of cairn-repo.json names the client key file (private,
 * or write-only: then a restore needs `--key FILE`) and lists the public
 * halves every new job's data key is wrapped to (the client key and master
 * recovery keys). The key file itself never lives in the repository (a
 * repository on a removable drive must not carry its own key): by default it
 * is written under $XDG_CONFIG_HOME/cairn/keys (~/.config/cairn/keys).
 *
 * Also here: re-wrapping existing jobs' data keys for another key (rotation,
 * a master key added later) without rewriting any volume — the new wraps go
 * to the catalog and to a keyring file.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { CairnError } from '../../plugin-api/index.js';
import {
  CIPHERS,
  DEFAULT_CIPHER,
  describeKey,
  keyFromDescription,
  parseEncryptionHeader,
  publicKeyOf,
  readKeyFile,
  rewrapDataKeys,
  type CairnKey,
  type CipherName,
  type FdCrypto,
  type KeyWrap,
  type RewrapJob,
} from '../../core/index.js';
import type { Catalog } from '../catalog/index.js';

export interface RepoRecipient {
  role: 'client' | 'master';
  fingerprint: string;
  boxPublicKey: string;
  signPublicKey: string;
  comment?: string;
}

export interface RepoEncryption {
  cipher: CipherName;
  /** The client key file (absolute): private or write-only; it signs every job's manifest. */
  keyFile: string;
  /** Its kind when it was configured: a write-only repository cannot restore without `--key`. */
  keyKind: 'private' | 'write-only';
  recipients: RepoRecipient[];
}

/** Where `cairn init --encrypt` and `cairn key generate` put a new key when no path is given. */
export function defaultKeyDir(): string {
  return join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'cairn', 'keys');
}

export function recipientOf(k: CairnKey, role: RepoRecipient['role']): RepoRecipient {
  const d = describeKey(publicKeyOf(k));
  return { role, fingerprint: d.fingerprint, boxPublicKey: d.boxPublicKey, signPublicKey: d.signPublicKey, ...(d.comment ? { comment: d.comment } : {}) };
}

/** The repository's encryption settings for a client key (and master public keys). */
export function repoEncryption(client: CairnKey, keyFile: string, masters: CairnKey[], cipher: CipherName = DEFAULT_CIPHER): RepoEncryption {
  if (!client.signSecretKey) {
    throw new CairnError('CAIRN_E_KEY_FILE', `${keyFile} is a public key: the client key must be private or write-only (it signs each job's manifest)`, { path: keyFile, fingerprint: client.fingerprint });
  }
  if (!CIPHERS.includes(cipher)) throw new CairnError('CAIRN_E_USAGE', `unknown cipher ${cipher} (${CIPHERS.join(', ')})`, { cipher });
  return {
    cipher,
    keyFile: resolve(keyFile),
    keyKind: client.kind === 'private' ? 'private' : 'write-only',
    recipients: [recipientOf(client, 'client'), ...masters.map((m) => recipientOf(m, 'master'))],
  };
}

/** What the FD encrypts with: the key file (read now: it signs) and the recipients. */
export function fdCryptoOf(e: RepoEncryption): FdCrypto {
  const signer = readKeyFile(e.keyFile);
  const client = e.recipients.find((r) => r.role === 'client');
  if (client && client.fingerprint !== signer.fingerprint) {
    throw new CairnError('CAIRN_E_KEY_FILE', `the repository's client key is ${client.fingerprint} but ${e.keyFile} holds ${signer.fingerprint}`, { path: e.keyFile, expected: client.fingerprint, found: signer.fingerprint });
  }
  return { signer, recipients: e.recipients.map((r) => keyFromDescription(r)), cipher: e.cipher };
}

/** The repository's own key, when it can decrypt (a private key file that is readable); else none. */
export function repoRestoreKeys(e: RepoEncryption): CairnKey[] {
  if (e.keyKind !== 'private') return [];
  try {
    const k = readKeyFile(e.keyFile);
    return k.boxSecretKey ? [k] : [];
  } catch {
    // Missing or unreadable: the restore then needs --key, and says so naming the job's keys.
    return [];
  }
}

/**
 * Wraps every encrypted job's data key (opened with `opener`, a private key it was sealed for) to each
 * of `to`, stores the wraps in the catalog and returns them (for a keyring file). Volumes are not touched.
 */
export async function rewrapJobs(catalog: Catalog, opener: CairnKey, to: CairnKey[]): Promise<Array<{ jobId: number; wrap: KeyWrap }>> {
  const jobs: Array<RewrapJob & { have: Set<string> }> = [];
  for (const jobId of await catalog.encryptedJobIds()) {
    const c = await catalog.jobCrypto(jobId);
    if (!c) continue;
    const header = parseEncryptionHeader(c.header, `catalog encryption header of job ${jobId}`);
    const wraps = (await catalog.keyWraps(jobId)).map((w) => w.wrap as unknown as KeyWrap);
    jobs.push({ jobId, header, wraps, have: new Set([...header.wraps, ...wraps].map((w) => w.fingerprint)) });
  }
  const out: Array<{ jobId: number; wrap: KeyWrap }> = [];
  for (const k of to) {
    const r = rewrapDataKeys(jobs.filter((j) => !j.have.has(k.fingerprint)), [opener], k);
    const [bad] = r.failed;
    if (bad) throw new CairnError(bad.code, bad.message, { jobId: bad.jobId });
    out.push(...r.wraps);
  }
  await catalog.addKeyWraps(out);
  return out;
}

/** Every later wrap in the catalog (what `cairn key export-keyring` writes). */
export async function catalogKeyring(catalog: Catalog): Promise<Array<{ jobId: number; wrap: KeyWrap }>> {
  return (await catalog.keyWraps()).map((w) => ({ jobId: w.jobId, wrap: w.wrap as unknown as KeyWrap }));
}
