/**
 * `cairn init --encrypt` and `cairn key …` (docs/encryption.md §Local mode):
 * key files (generate, show, fingerprint), an encrypted repository's client
 * and master keys (add-master, rotate), and keyring export. Rotation and
 * add-master re-wrap existing jobs' data keys into the catalog and a keyring
 * file; no volume is rewritten.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { CairnError } from '../../plugin-api/index.js';
import {
  describeKey,
  generateKey,
  publicKeyOf,
  readKeyFile,
  writeKeyFile,
  writeKeyringFile,
  writeOnlyKeyOf,
  type CairnKey,
  type CipherName,
} from '../../core/index.js';
import { LocalRepository, REPO_FILE, defaultRepoPath, initRepository, readRepoMeta, writeRepoMeta } from '../local/repository.js';
import { RepoLock } from '../local/repo-lock.js';
import { catalogKeyring, defaultKeyDir, recipientOf, repoEncryption, rewrapJobs } from '../local/repo-keys.js';
import type { CommonArgs } from './commands.js';
import type { Output } from './output.js';

/** Generates a key at `path` (0600) with its public half at `path.pub`. */
function newKeyAt(path: string, comment?: string): CairnKey {
  const k = generateKey(comment);
  writeKeyFile(path, k);
  writeKeyFile(`${path}.pub`, publicKeyOf(k));
  return { ...k, path };
}

/** A public key from a file of any kind (its public halves). */
function publicFrom(path: string): CairnKey {
  return publicKeyOf(readKeyFile(path));
}

export async function cmdInitEncrypted(args: CommonArgs & { key?: string; masterPublicKey?: string[]; cipher?: string }, out: Output, settings: Parameters<typeof initRepository>[1] = {}): Promise<number> {
  const path = defaultRepoPath(args.repo);
  if (existsSync(join(path, REPO_FILE))) throw new CairnError('CAIRN_E_USAGE', `repository ${path} already exists; encryption is chosen when a repository is created`, { repo: path });
  let client: CairnKey;
  let generated = false;
  let keyFile: string;
  if (args.key && existsSync(args.key)) {
    keyFile = resolve(args.key);
    client = readKeyFile(keyFile);
  } else {
    keyFile = resolve(args.key ?? join(defaultKeyDir(), `repo-${Date.now().toString(36)}.key`));
    client = newKeyAt(keyFile, `cairn repository ${path}`);
    generated = true;
  }
  const masters = (args.masterPublicKey ?? []).map(publicFrom);
  const enc = repoEncryption(client, keyFile, masters, (args.cipher ?? undefined) as CipherName | undefined);
  const { created } = initRepository(path, settings, enc);
  const repo = await LocalRepository.open(path);
  await repo.close();
  const data = { repo: path, created, encrypted: true, cipher: enc.cipher, keyFile, keyKind: enc.keyKind, generated, fingerprint: client.fingerprint, recipients: enc.recipients };
  out.data(data, () =>
    [
      `created encrypted repository ${path} (${enc.cipher})`,
      `${generated ? 'new key written to' : 'client key'} ${keyFile} (${enc.keyKind})`,
      `fingerprint ${client.fingerprint}`,
      ...masters.map((m) => `master recovery key ${m.fingerprint}`),
      ...(generated ? ['keep a copy of the key file away from the repository: without it (or a master key) the backups cannot be restored'] : []),
    ].join('\n'),
  );
  return 0;
}

export async function cmdKeyGenerate(args: CommonArgs & { out?: string; writeOnly?: string; comment?: string }, out: Output): Promise<number> {
  const path = resolve(args.out ?? join(defaultKeyDir(), `cairn-${Date.now().toString(36)}.key`));
  const k = newKeyAt(path, args.comment);
  if (args.writeOnly) writeKeyFile(resolve(args.writeOnly), writeOnlyKeyOf(k));
  out.data({ ...describeKey(k), path, publicKeyFile: `${path}.pub`, ...(args.writeOnly ? { writeOnlyKeyFile: resolve(args.writeOnly) } : {}) }, () =>
    [`private key ${path} (mode 0600)`, `public key ${path}.pub`, ...(args.writeOnly ? [`write-only key ${resolve(args.writeOnly)} (mode 0600)`] : []), `fingerprint ${k.fingerprint}`].join('\n'),
  );
  return 0;
}

export async function cmdKeyShow(args: CommonArgs & { file: string }, out: Output): Promise<number> {
  const k = readKeyFile(args.file);
  const d = describeKey(k);
  out.data({ ...d, canDecrypt: k.boxSecretKey !== undefined, canSign: k.signSecretKey !== undefined }, () =>
    [`${args.file}: ${k.kind} key`, `fingerprint ${k.fingerprint}`, `box public key ${d.boxPublicKey}`, `sign public key ${d.signPublicKey}`, ...(k.created ? [`created ${k.created}`] : []), ...(k.comment ? [`comment ${k.comment}`] : [])].join('\n'),
  );
  return 0;
}

export async function cmdKeyFingerprint(args: CommonArgs & { file: string }, out: Output): Promise<number> {
  const k = readKeyFile(args.file);
  out.data({ fingerprint: k.fingerprint, kind: k.kind }, () => k.fingerprint);
  return 0;
}

/** Runs `fn` on an encrypted repository under its write lock. */
async function withEncryptedRepo<T>(args: CommonArgs, command: string, fn: (repo: LocalRepository, path: string) => Promise<T>): Promise<T> {
  const path = defaultRepoPath(args.repo);
  if (!existsSync(join(path, REPO_FILE))) throw new CairnError('CAIRN_E_REPO_NOT_FOUND', `no Cairn repository at ${path}`, { repo: path });
  if (!readRepoMeta(path).encryption) throw new CairnError('CAIRN_E_USAGE', `repository ${path} is not encrypted (create one with \`cairn init --encrypt\`)`, { repo: path });
  const lock = await RepoLock.acquire(path, command, { wait: args.wait });
  try {
    const repo = await LocalRepository.open(path);
    try {
      return await fn(repo, path);
    } finally {
      await repo.close();
    }
  } finally {
    lock.release();
  }
}

/** `key add-master FILE [--key PRIVATE] [--keyring OUT]`: future jobs are wrapped to the master too; with --key, existing jobs as well. */
export async function cmdKeyAddMaster(args: CommonArgs & { file: string; key?: string; keyring?: string }, out: Output): Promise<number> {
  const master = publicFrom(args.file);
  const result = await withEncryptedRepo(args, 'key add-master', async (repo, path) => {
    const meta = readRepoMeta(path);
    const enc = meta.encryption!;
    if (!enc.recipients.some((r) => r.fingerprint === master.fingerprint)) enc.recipients.push(recipientOf(master, 'master'));
    writeRepoMeta(path, meta);
    const wraps = args.key ? await rewrapJobs(repo.catalog, readKeyFile(args.key), [master]) : [];
    if (args.keyring) writeKeyringFile(resolve(args.keyring), wraps);
    return { fingerprint: master.fingerprint, rewrapped: new Set(wraps.map((w) => w.jobId)).size, keyring: args.keyring ? resolve(args.keyring) : undefined };
  });
  out.data(result, () => `master key ${result.fingerprint} added${args.key ? `; data keys of ${result.rewrapped} existing job(s) wrapped to it` : ' for new jobs (give --key to wrap existing jobs too)'}`);
  return 0;
}

/**
 * `key rotate --key OLD [--new FILE | --out FILE] [--keyring OUT]`: a new client key (generated, or given)
 * takes the old one's place for new jobs, and every existing job's data key is wrapped to it too —
 * the new wraps in the catalog and in a keyring file; the volumes keep theirs.
 */
export async function cmdKeyRotate(args: CommonArgs & { key?: string; new?: string; out?: string; keyring?: string }, out: Output): Promise<number> {
  const result = await withEncryptedRepo(args, 'key rotate', async (repo, path) => {
    const meta = readRepoMeta(path);
    const enc = meta.encryption!;
    const old = readKeyFile(args.key ?? enc.keyFile);
    if (!old.boxSecretKey) throw new CairnError('CAIRN_E_KEY_NEEDED', `rotation opens every job's data key: ${old.path} is a ${old.kind} key; give the private key with --key FILE`, { fingerprint: old.fingerprint });
    let next: CairnKey;
    let keyFile: string;
    if (args.new) {
      keyFile = resolve(args.new);
      next = readKeyFile(keyFile);
    } else {
      keyFile = resolve(args.out ?? join(defaultKeyDir(), `repo-${Date.now().toString(36)}.key`));
      next = newKeyAt(keyFile, `cairn repository ${path} (rotated from ${old.fingerprint})`);
    }
    const wraps = await rewrapJobs(repo.catalog, old, [publicKeyOf(next)]);
    const masters = enc.recipients.filter((r) => r.role === 'master');
    const rotated = repoEncryption(next, keyFile, [], enc.cipher);
    meta.encryption = { ...rotated, recipients: [...rotated.recipients, ...masters] };
    writeRepoMeta(path, meta);
    const keyringFile = resolve(args.keyring ?? join(path, `keyring-${next.fingerprint.slice(0, 8)}.json`));
    writeKeyringFile(keyringFile, await catalogKeyring(repo.catalog));
    return { from: old.fingerprint, to: next.fingerprint, keyFile, rewrappedJobs: new Set(wraps.map((w) => w.jobId)).size, keyring: keyringFile };
  });
  out.data(result, () =>
    [`client key rotated: ${result.from} → ${result.to}`, `new key ${result.keyFile}`, `data keys of ${result.rewrappedJobs} job(s) wrapped to the new key (catalog, and keyring ${result.keyring})`].join('\n'),
  );
  return 0;
}

/** `key export-keyring FILE`: every later wrap in the catalog (no secret in it). */
export async function cmdKeyExportKeyring(args: CommonArgs & { file: string }, out: Output): Promise<number> {
  const n = await withEncryptedRepo(args, 'key export-keyring', async (repo) => {
    const wraps = await catalogKeyring(repo.catalog);
    writeKeyringFile(resolve(args.file), wraps);
    return wraps.length;
  });
  out.data({ keyring: resolve(args.file), wraps: n }, () => `${n} wrap(s) written to ${resolve(args.file)}`);
  return 0;
}

/** Private keys for a restore: `--key FILE`s, else (on a terminal, when the repository's own key cannot decrypt) asked for. */
export async function restoreKeys(files: string[] | undefined, repoPath: string, json: boolean): Promise<CairnKey[]> {
  if (files?.length) return files.map((f) => readKeyFile(f));
  const enc = existsSync(join(repoPath, REPO_FILE)) ? readRepoMeta(repoPath).encryption : undefined;
  if (!enc || enc.keyKind === 'private' || json || !process.stdin.isTTY || !process.stderr.isTTY) return [];
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`repository ${repoPath} is write-only: private key file to restore with: `)).trim();
    return answer ? [readKeyFile(answer)] : [];
  } finally {
    rl.close();
  }
}
