/**
 * The mutual HMAC challenge-response handshake (docs/transport.md §2). It
 * runs on a fresh byte stream before any command; the shared secret never
 * crosses the wire, each side proves it knows it over both sides' nonces, and
 * the stream is handed back with every byte after the last handshake frame
 * still unread.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { CairnError, isCairnError } from '../plugin-api/index.js';
import {
  CLIENT_LABEL, SERVER_LABEL, SUPPORTED_VERSIONS, assertName, isNonce, isRole, isValidName, newNonce, parseLine, parseVersions, proof, proofMatches, secretKey,
  type PeerRole, type ProofInput,
} from './auth-proof.js';
import { Deadline, sleep } from './deadline.js';
import { LineReader, parseStatus, refusalError, refuse, writeLine } from './handshake-frames.js';

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** How much longer than its timeout a client waits for the verdict: the server may delay a failure (login delay cap). */
export const DEFAULT_VERDICT_EXTRA_MS = 30_000;

export interface PeerClaim {
  role: PeerRole;
  name: string;
  /** Whether secretFor knew the name (never revealed to the peer). */
  known: boolean;
  /** 'proof': the peer's proof was wrong; 'abandoned': the peer closed after our challenge (it refused our proof). */
  stage: 'proof' | 'abandoned';
}

export interface AcceptOptions {
  serverName: string;
  /** The shared secret for a peer, or undefined if the name is unknown for that role. */
  secretFor: (role: PeerRole, name: string) => string | undefined;
  timeoutMs?: number;
  /** Called on each failure; the milliseconds to wait before answering 1401 (the login delay; ignored when abandoned). */
  failureDelayMs?: (claim: PeerClaim) => number;
}

export interface AcceptedPeer {
  peerName: string;
  peerRole: PeerRole;
  version: number;
}

export interface OfferOptions {
  role: PeerRole;
  name: string;
  secret: string;
  /** Refuse a server that answers under another name. */
  expectServer?: string;
  timeoutMs?: number;
  /** Wait for the verdict after sending our proof (default timeoutMs + 30 s: a failure may be delayed). */
  verdictTimeoutMs?: number;
}

export interface OfferResult {
  serverName: string;
  version: number;
}

function protocolError(message: string, fields: Record<string, unknown> = {}): CairnError {
  return new CairnError('CAIRN_E_AUTH_PROTOCOL', message, fields);
}

/** Server side. Resolves with the authenticated peer; on failure answers 1400/1401, closes and rejects. */
export async function acceptHandshake(stream: Duplex, opts: AcceptOptions): Promise<AcceptedPeer> {
  assertName(opts.serverName, 'server name');
  const timeoutMs = opts.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const reader = new LineReader(stream);
  const deadline = new Deadline(() => {
    refuse(stream, `1400 CAIRN_E_AUTH_TIMEOUT handshake not completed within ${timeoutMs} ms`);
    return new CairnError('CAIRN_E_AUTH_TIMEOUT', `The peer did not complete the handshake within ${timeoutMs} ms.`, { timeoutMs }, { retryable: true });
  });
  deadline.arm(timeoutMs);
  try {
    return await deadline.race(serve(stream, reader, opts, deadline));
  } catch (err) {
    if (isCairnError(err) && err.code === 'CAIRN_E_AUTH_PROTOCOL') refuse(stream, `1400 CAIRN_E_AUTH_PROTOCOL ${err.message}`);
    else if (!(isCairnError(err) && (err.code === 'CAIRN_E_AUTH_FAILED' || err.code === 'CAIRN_E_AUTH_TIMEOUT'))) stream.destroy();
    throw err;
  } finally {
    reader.release();
  }
}

async function serve(stream: Duplex, reader: LineReader, opts: AcceptOptions, deadline: Deadline): Promise<AcceptedPeer> {
  const hello = parseLine(await reader.next());
  if (!hello || hello.command !== 'hello cairn/1') throw protocolError('expected "hello Cairn/1 Role=… Name=… Versions=… Nonce=…" as the first line');
  const role = hello.args.get('role');
  const name = hello.args.get('name');
  const offered = hello.args.get('versions');
  const clientNonce = hello.args.get('nonce');
  if (!isRole(role)) throw protocolError('hello: Role must be console, director, fd or sd');
  if (name === undefined || !isValidName(name)) throw protocolError('hello: Name missing or not allowed');
  const versions = parseVersions(offered);
  if (!versions || offered === undefined) throw protocolError('hello: Versions must be a comma-separated list of numbers');
  if (!isNonce(clientNonce)) throw protocolError('hello: Nonce must be 32 lower-case hex digits');
  const common = SUPPORTED_VERSIONS.filter((v) => versions.includes(v));
  if (common.length === 0) throw protocolError(`no common version: client offers ${offered}, server speaks ${SUPPORTED_VERSIONS.join(',')}`, { offered });
  const version = Math.max(...common);

  let secret: string | undefined;
  try {
    secret = opts.secretFor(role, name);
  } catch {
    secret = undefined;
  }
  const known = typeof secret === 'string' && secret.length > 0;
  // An unknown name gets a proof under a random key: to the peer it looks exactly like a wrong secret.
  const key = known ? secretKey(secret as string) : randomBytes(32);
  const input: ProofInput = { clientNonce, serverNonce: newNonce(), role, clientName: name, serverName: opts.serverName, offered, version };
  await writeLine(stream, `1000 challenge Version=${version} Name=${opts.serverName} Nonce=${input.serverNonce} Proof=${proof(key, SERVER_LABEL, input)}`);

  let authLine: string;
  try {
    authLine = await reader.next();
  } catch (err) {
    if (!(isCairnError(err) && err.code === 'CAIRN_E_NET_CLOSED')) throw err;
    // A client that refuses our proof closes here: one side has the wrong secret, the name is unknown, or it wanted another server.
    opts.failureDelayMs?.({ role, name, known, stage: 'abandoned' });
    throw new CairnError('CAIRN_E_AUTH_FAILED', `Peer ${role} "${name}" closed the connection after our challenge: it refused our proof (${known ? 'different secrets' : 'unknown name'}, or it expected another server).`, { role, name, known, abandoned: true }, { cause: err });
  }
  const auth = parseLine(authLine);
  if (!auth || auth.command !== 'auth') throw protocolError('expected "auth Proof=…" after the challenge');
  const ok = proofMatches(proof(key, CLIENT_LABEL, input), auth.args.get('proof') ?? '') && known;
  if (!ok) {
    deadline.disarm(); // the login delay is ours, not the peer's slowness
    await sleep(opts.failureDelayMs?.({ role, name, known, stage: 'proof' }) ?? 0);
    refuse(stream, '1401 CAIRN_E_AUTH_FAILED authentication failed');
    throw new CairnError('CAIRN_E_AUTH_FAILED', `Peer ${role} "${name}" failed authentication (${known ? 'wrong secret' : 'unknown name'}).`, { role, name, known });
  }
  await writeLine(stream, `1000 welcome Version=${version}`);
  return { peerName: name, peerRole: role, version };
}

/** Client side. Resolves once the server said welcome; on failure closes the stream and rejects. */
export async function offerHandshake(stream: Duplex, opts: OfferOptions): Promise<OfferResult> {
  assertName(opts.name, 'client name');
  if (!isRole(opts.role)) throw new CairnError('CAIRN_E_AUTH_CONFIG', `Unknown role "${String(opts.role)}".`, { role: opts.role });
  if (typeof opts.secret !== 'string' || opts.secret.length === 0) throw new CairnError('CAIRN_E_AUTH_CONFIG', `No shared secret configured for ${opts.name}.`, { name: opts.name });
  const timeoutMs = opts.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const reader = new LineReader(stream);
  const deadline = new Deadline(() => {
    stream.destroy();
    return new CairnError('CAIRN_E_AUTH_TIMEOUT', `The server did not complete the handshake within the timeout.`, { timeoutMs }, { retryable: true });
  });
  deadline.arm(timeoutMs);
  try {
    return await deadline.race(offer(stream, reader, opts, deadline, opts.verdictTimeoutMs ?? timeoutMs + DEFAULT_VERDICT_EXTRA_MS));
  } catch (err) {
    stream.destroy();
    throw err;
  } finally {
    reader.release();
  }
}

async function readReply(reader: LineReader, expect: string): Promise<ReturnType<typeof parseLine> & object> {
  const line = await reader.next();
  const st = parseStatus(line);
  if (!st) throw protocolError(`expected a status line from the server, got "${line.slice(0, 80)}"`);
  if (st.status !== 1000) throw refusalError(st);
  const parsed = parseLine(st.text);
  if (!parsed || parsed.command !== expect) throw protocolError(`expected "1000 ${expect} …" from the server, got "${line.slice(0, 80)}"`);
  return parsed;
}

async function offer(stream: Duplex, reader: LineReader, opts: OfferOptions, deadline: Deadline, verdictMs: number): Promise<OfferResult> {
  const offered = SUPPORTED_VERSIONS.join(',');
  const clientNonce = newNonce();
  await writeLine(stream, `hello Cairn/1 Role=${opts.role} Name=${opts.name} Versions=${offered} Nonce=${clientNonce}`);
  const ch = await readReply(reader, 'challenge');
  const version = Number(ch.args.get('version'));
  const serverName = ch.args.get('name');
  const serverNonce = ch.args.get('nonce');
  if (!SUPPORTED_VERSIONS.includes(version)) throw protocolError(`the server chose version ${ch.args.get('version')}, we offered ${offered}`);
  if (serverName === undefined || !isValidName(serverName)) throw protocolError('challenge: Name missing or not allowed');
  if (!isNonce(serverNonce)) throw protocolError('challenge: Nonce must be 32 lower-case hex digits');
  if (opts.expectServer !== undefined && serverName !== opts.expectServer) {
    throw new CairnError('CAIRN_E_AUTH_FAILED', `Expected server "${opts.expectServer}" but "${serverName}" answered.`, { expected: opts.expectServer, serverName });
  }
  const key = secretKey(opts.secret);
  const input: ProofInput = { clientNonce, serverNonce, role: opts.role, clientName: opts.name, serverName, offered, version };
  if (!proofMatches(proof(key, SERVER_LABEL, input), ch.args.get('proof') ?? '')) {
    throw new CairnError('CAIRN_E_AUTH_FAILED', `The server "${serverName}" does not know our secret (its proof is wrong); not sending ours.`, { serverName, name: opts.name });
  }
  await writeLine(stream, `auth Proof=${proof(key, CLIENT_LABEL, input)}`);
  deadline.arm(verdictMs);
  const welcome = await readReply(reader, 'welcome');
  if (Number(welcome.args.get('version')) !== version) throw protocolError(`welcome names version ${welcome.args.get('version')}, the challenge ${version}`);
  return { serverName, version };
}
