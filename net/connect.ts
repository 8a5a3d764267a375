/**
 * The connector: TCP connect with a timeout, the listener's admission line,
 * TLS if this connection uses it, then the handshake. Errors name host:port
 * and the errno, and a refusal by the listener comes back as its own code.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { CairnError, isCairnError } from '../plugin-api/index.js';
import type { PeerRole } from './auth-proof.js';
import { readAdmission } from './admission.js';
import { Deadline } from './deadline.js';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, offerHandshake } from './handshake.js';
import { effectiveMode, loadCertMaterial, secureClient, type TlsSettings, type WireTls } from './tls.js';
import { spawnDuplex } from './stdio.js';

export interface ConnectOptions {
  host: string;
  port: number;
  tls?: TlsSettings;
  role: PeerRole;
  name: string;
  secret: string;
  expectServer?: string;
  /** Bounds TCP connect, admission and TLS together (default 10 s); the handshake has the same timeout again. */
  timeoutMs?: number;
  /** What runs on the far side, for the ECONNREFUSED hint ("is cairn-sd running on host:port?"). */
  service?: string;
}

export interface Connection {
  /** The authenticated stream, positioned at the first byte of the next protocol. A no-op 'error' listener is attached: add your own. */
  stream: Duplex;
  serverName: string;
  version: number;
  tls: WireTls;
}

function connectError(err: NodeJS.ErrnoException, host: string, port: number, service: string): CairnError {
  const where = `${host}:${port}`;
  const errno = err.code;
  const fields = { host, port, errno, syscall: err.syscall };
  let message: string;
  switch (errno) {
    case 'ECONNREFUSED':
      message = `Cannot connect to ${where}: connection refused (ECONNREFUSED). Is ${service} running on ${where}?`;
      break;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      message = `Cannot connect to ${where}: the host name does not resolve (${errno}).`;
      break;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      message = `Cannot connect to ${where}: no route to the host (${errno}).`;
      break;
    default:
      message = `Cannot connect to ${where}: ${err.message}${errno ? ` (${errno})` : ''}.`;
  }
  return new CairnError('CAIRN_E_NET_CONNECT', message, fields, { cause: err, retryable: true });
}

function tcp(host: string, port: number, service: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port });
    const onError = (err: NodeJS.ErrnoException): void => {
      socket.destroy();
      reject(connectError(err, host, port, service));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

export async function connect(opts: ConnectOptions): Promise<Connection> {
  const { host, port } = opts;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const certs = loadCertMaterial(opts.tls);
  let socket: Socket | undefined;
  let phase = 'tcp connect';
  const deadline = new Deadline(() => {
    socket?.destroy();
    return new CairnError('CAIRN_E_NET_TIMEOUT', `Connecting to ${host}:${port} did not finish within ${timeoutMs} ms (${phase}).`, { host, port, timeoutMs, phase }, { retryable: true });
  });
  deadline.arm(timeoutMs);
  const fields = { host, port };
  let stream: Duplex;
  let mode: WireTls;
  try {
    const setUp = async (): Promise<Duplex> => {
      const s = await tcp(host, port, opts.service ?? 'the Cairn daemon');
      socket = s;
      s.setNoDelay(true);
      s.on('error', () => undefined); // surfaced by the reader or TLS; the caller attaches its own
      phase = 'greeting';
      const serverMode = await readAdmission(s, fields);
      mode = effectiveMode(opts.tls, s.remoteAddress);
      if (serverMode !== mode) {
        throw new CairnError('CAIRN_E_NET_TLS', `${host}:${port} uses TLS mode ${serverMode} on this connection, we are set to ${opts.tls?.mode ?? 'off'} (${mode} here).`, { ...fields, serverMode, ourMode: mode });
      }
      if (mode === 'off') return s;
      phase = 'TLS';
      const secured = await secureClient(s, mode, { certs, role: opts.role, name: opts.name, secret: opts.secret, host, serverName: opts.tls?.serverName });
      secured.on('error', () => undefined);
      return secured;
    };
    stream = await deadline.race(setUp());
  } catch (err) {
    socket?.destroy();
    throw err;
  }
  try {
    const result = await offerHandshake(stream, { role: opts.role, name: opts.name, secret: opts.secret, expectServer: opts.expectServer, timeoutMs });
    return { stream, serverName: result.serverName, version: result.version, tls: mode! };
  } catch (err) {
    stream.destroy();
    if (isCairnError(err) && err.code === 'CAIRN_E_NET_CLOSED' && mode! === 'cert') {
      // In TLS 1.3 the server judges our certificate after our side of TLS is done: its refusal arrives as a close here.
      throw new CairnError('CAIRN_E_NET_TLS', `${host}:${port} closed the connection right after TLS: it probably does not trust our certificate.`, { host, port, mode: 'cert' }, { cause: err });
    }
    if (isCairnError(err)) Object.assign(err.fields, { host, port });
    throw err;
  }
}

export interface CommandConnectOptions {
  /** The command that carries the connection (no shell), e.g. [ssh, -T, host, cairn-sd, --stdio, --config, FILE]. */
  command: readonly string[];
  role: PeerRole;
  name: string;
  secret: string;
  expectServer?: string;
  timeoutMs?: number;
  /** Each line the command writes to stderr (ssh's messages, the relay's errors). */
  onStderr?: (line: string) => void;
}

/**
 * Starts `command` and runs the handshake over its stdin/stdout (docs/transport.md §6: no admission
 * line, no TLS — the channel is the command's, e.g. ssh). The child is killed when the stream is destroyed.
 */
export async function connectCommand(opts: CommandConnectOptions): Promise<Connection> {
  const lines: string[] = [];
  const { stream, child } = spawnDuplex(opts.command, {
    onStderr: (line) => {
      if (lines.length < 20) lines.push(line);
      opts.onStderr?.(line);
    },
  });
  stream.on('error', () => undefined);
  stream.once('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  });
  try {
    const result = await offerHandshake(stream, { role: opts.role, name: opts.name, secret: opts.secret, expectServer: opts.expectServer, timeoutMs: opts.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS });
    return { stream, serverName: result.serverName, version: result.version, tls: 'off' };
  } catch (err) {
    stream.destroy();
    const said = lines.length ? ` It said: ${lines.join(' | ').slice(0, 500)}` : '';
    if (isCairnError(err)) {
      Object.assign(err.fields, { command: opts.command[0] });
      if (said && (err.code === 'CAIRN_E_NET_CLOSED' || err.code === 'CAIRN_E_NET_PEER_EXIT')) {
        throw new CairnError(err.code, `${err.message}${said}`, { ...err.fields, stderr: lines }, { cause: err, retryable: err.retryable });
      }
    }
    throw err;
  }
}
