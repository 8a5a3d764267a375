/**
 * The words and the arithmetic of the handshake (docs/transport.md §2):
 * nonces, the length-prefixed HMAC input of each side's proof, constant-time
 * comparison, peer names, and the Key=Value lines that carry them.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { CairnError } from '../plugin-api/index.js';

export const ROLES = ['console', 'director', 'fd', 'sd'] as const;
export type PeerRole = (typeof ROLES)[number];

/** Protocol versions this implementation speaks, highest last. */
export const SUPPORTED_VERSIONS: readonly number[] = [1];

export const SERVER_LABEL = 'cairn-auth-v1 server';
export const CLIENT_LABEL = 'cairn-auth-v1 client';

/** A name: 1–128 of letters, digits, `.`, `_`, `-`, `@`, beginning with a letter or digit. */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
const NONCE_RE = /^[0-9a-f]{32}$/;
const PROOF_RE = /^[0-9a-f]{64}$/;

export function isValidName(name: string): boolean {
  return NAME_RE.test(name);
}

export function assertName(name: string, what: string): void {
  if (!isValidName(name)) {
    throw new CairnError('CAIRN_E_AUTH_CONFIG', `The ${what} "${name}" cannot be used in the handshake: 1-128 letters, digits, . _ - @, starting with a letter or digit.`, { name });
  }
}

export function newNonce(): string {
  return randomBytes(16).toString('hex');
}

/** Everything both proofs are computed over. */
export interface ProofInput {
  clientNonce: string;
  serverNonce: string;
  role: string;
  clientName: string;
  serverName: string;
  /** The client's Versions= value exactly as sent, e.g. "1". */
  offered: string;
  /** The version the server chose, decimal. */
  version: number;
}

function lp(parts: Buffer[], b: Buffer): void {
  const len = Buffer.allocUnsafe(2);
  len.writeUInt16BE(b.length, 0);
  parts.push(len, b);
}

/** The bytes HMAC'd: each field as u16 BE length + bytes, label first. */
export function proofMessage(label: string, p: ProofInput): Buffer {
  const parts: Buffer[] = [];
  lp(parts, Buffer.from(label, 'latin1'));
  lp(parts, Buffer.from(p.clientNonce, 'hex'));
  lp(parts, Buffer.from(p.serverNonce, 'hex'));
  lp(parts, Buffer.from(p.role, 'latin1'));
  lp(parts, Buffer.from(p.clientName, 'latin1'));
  lp(parts, Buffer.from(p.serverName, 'latin1'));
  lp(parts, Buffer.from(p.offered, 'latin1'));
  lp(parts, Buffer.from(String(p.version), 'latin1'));
  return Buffer.concat(parts);
}

/** Lower-case hex HMAC-SHA256 of the proof message; `key` is the secret's UTF-8 bytes (or a random stand-in). */
export function proof(key: Buffer, label: string, p: ProofInput): string {
  return createHmac('sha256', key).update(proofMessage(label, p)).digest('hex');
}

/** Constant-time check of a received proof against the expected one. */
export function proofMatches(expected: string, received: string): boolean {
  if (!PROOF_RE.test(received)) return false;
  return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(received, 'hex'));
}

export function secretKey(secret: string): Buffer {
  return Buffer.from(secret, 'utf8');
}

/** A line split into its command words and its Key=Value arguments (keys lower-cased). */
export interface ParsedLine {
  command: string;
  args: Map<string, string>;
}

/** Parses a handshake line; null if malformed (empty words, a duplicated key, a word after the arguments). */
export function parseLine(line: string): ParsedLine | null {
  const words = line.split(' ');
  const command: string[] = [];
  const args = new Map<string, string>();
  for (const w of words) {
    if (w === '') return null;
    const eq = w.indexOf('=');
    if (eq < 0) {
      if (args.size > 0) return null;
      command.push(w.toLowerCase());
      continue;
    }
    const key = w.slice(0, eq).toLowerCase();
    if (key === '' || args.has(key)) return null;
    args.set(key, w.slice(eq + 1));
  }
  return { command: command.join(' '), args };
}

export function isNonce(s: string | undefined): s is string {
  return s !== undefined && NONCE_RE.test(s);
}

export function isRole(s: string | undefined): s is PeerRole {
  return s !== undefined && (ROLES as readonly string[]).includes(s);
}

/** Parses `Versions=1,2`: decimal integers 1..65535, comma-separated; null if malformed. */
export function parseVersions(s: string | undefined): number[] | null {
  if (s === undefined || !/^[1-9][0-9]{0,4}(,[1-9][0-9]{0,4})*$/.test(s)) return null;
  const v = s.split(',').map(Number);
  return v.every((n) => n <= 65535) ? v : null;
}
