/**
 * The listener: accepts TCP connections and walks each through admission
 * (allow-list, connection cap), TLS, the handshake with its login delay, and
 * then hands the authenticated stream to onSession. It counts connections
 * until they close; close() stops accepting and destroys live connections.
 * On a Unix socket (`path`, the way in of the stdio relay `cairn-sd
 * --stdio`) there is no allow-list, admission line or TLS: the socket's
 * file mode decides who may connect, and the handshake runs at once, as on
 * stdio (docs/transport.md §6).
 */
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { isCairnError } from '../plugin-api/index.js';
import { assertName, isRole, type PeerRole } from './auth-proof.js';
import { admit, refuseBusy, refuseNotAllowed } from './admission.js';
import { allowList } from './cidr.js';
import { Deadline } from './deadline.js';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, acceptHandshake } from './handshake.js';
import { LoginDelay, type LoginDelayOptions, type NetLogger } from './login-delay.js';
import { CairnError } from '../plugin-api/index.js';
import { effectiveMode, loadCertMaterial, pskIdentity, secureServer, type TlsSettings } from './tls.js';

/** How long a session's connection may stay half-open after the daemon ended it. */
const SESSION_END_GRACE_MS = 2000;

export interface SessionPeer {
  name: string;
  role: PeerRole;
  address: string;
  port: number;
  tls: boolean;
  version: number;
}

export interface ListenOptions {
  address: string;
  port: number;
  /** A Unix socket path instead of address and port: no allow-list, admission line or TLS (a stale socket file is replaced; the new one is mode 0600). */
  path?: string;
  /** Addresses and CIDR blocks allowed to connect (IPv4, IPv6, IPv4-mapped IPv6). */
  allow: readonly string[];
  maxConnections: number;
  tls?: TlsSettings;
  handshake: { serverName: string; secretFor: (role: PeerRole, name: string) => string | undefined; timeoutMs?: number };
  loginDelay?: LoginDelayOptions;
  logger: NetLogger;
  /** Owns the stream; when it settles the listener ends the stream (destroys it on rejection). */
  onSession: (stream: Duplex, peer: SessionPeer) => Promise<void>;
}

export interface Listener {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
  connections(): number;
}

export async function listen(opts: ListenOptions): Promise<Listener> {
  assertName(opts.handshake.serverName, 'server name');
  const allowed = allowList(opts.allow);
  const certs = loadCertMaterial(opts.tls);
  effectiveMode(opts.tls, undefined); // validates the mode now, not on the first connection
  const delay = new LoginDelay({ ...opts.loginDelay, logger: opts.logger });
  const timeoutMs = opts.handshake.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const all = new Set<Socket>();
  const live = new Set<Socket>();
  const server = createServer();

  const secretForIdentity = (identity: string): string | undefined => {
    const colon = identity.indexOf(':');
    const role = identity.slice(0, colon);
    return colon > 0 && isRole(role) ? opts.handshake.secretFor(role, identity.slice(colon + 1)) : undefined;
  };

  async function serve(socket: Socket): Promise<void> {
    const local = opts.path !== undefined;
    const address = local ? 'local' : socket.remoteAddress ?? '';
    const port = socket.remotePort ?? 0;
    if (!local && !allowed(address)) {
      opts.logger.warn({ address, port }, 'connection refused: host not in the allow-list');
      refuseNotAllowed(socket, address);
      return;
    }
    if (live.size >= opts.maxConnections) {
      opts.logger.warn({ address, port, max: opts.maxConnections }, 'connection refused: too many connections');
      refuseBusy(socket, opts.maxConnections);
      return;
    }
    live.add(socket);
    socket.once('close', () => live.delete(socket));
    if (!local) socket.setNoDelay(true);
    const mode = local ? 'off' : effectiveMode(opts.tls, address);
    if (!local) admit(socket, mode);
    let stream: Duplex = socket;
    let identity: string | undefined;
    if (mode !== 'off') {
      const deadline = new Deadline(() => {
        socket.destroy();
        return new CairnError('CAIRN_E_AUTH_TIMEOUT', `TLS not established within ${timeoutMs} ms.`, { address, timeoutMs });
      });
      deadline.arm(timeoutMs);
      const secured = await deadline.race(secureServer(socket, mode, { certs, secretForIdentity })).catch((err: unknown) => {
        // A failed TLS handshake (wrong PSK, untrusted certificate) counts as a failed login; OpenSSL has already answered it.
        if (isCairnError(err) && err.code === 'CAIRN_E_NET_TLS') {
          const identity = typeof err.fields.identity === 'string' ? err.fields.identity : undefined;
          delay.failed(address, { name: identity, stage: `tls-${mode}` });
        }
        throw err;
      });
      stream = secured.socket;
      stream.on('error', () => undefined); // the session attaches its own; an early error must not crash the daemon
      identity = secured.identity;
    }
    const peer = await acceptHandshake(stream, { ...opts.handshake, failureDelayMs: (claim) => delay.failed(address, claim) });
    if (mode === 'psk' && identity !== pskIdentity(peer.peerRole, peer.peerName)) {
      throw new CairnError('CAIRN_E_AUTH_FAILED', `The TLS PSK identity "${identity}" is not the peer the handshake authenticated (${peer.peerRole} "${peer.peerName}").`, { address, identity, role: peer.peerRole, name: peer.peerName });
    }
    delay.succeeded(address);
    const sessionPeer: SessionPeer = { name: peer.peerName, role: peer.peerRole, address, port, tls: mode !== 'off', version: peer.version };
    opts.logger.info({ ...sessionPeer }, 'peer authenticated');
    try {
      await opts.onSession(stream, sessionPeer);
      if (!stream.destroyed && !stream.writableEnded) stream.end();
      // A peer that never closes its side must not keep a connection slot: the session is over, so its slot is
      // free now, and the socket is destroyed after a grace period for the last bytes to drain.
      live.delete(socket);
      if (!stream.destroyed) setTimeout(() => stream.destroy(), SESSION_END_GRACE_MS).unref();
    } catch (err) {
      opts.logger.warn({ ...sessionPeer, err: describe(err) }, 'session ended with an error');
      stream.destroy();
    }
  }

  server.on('connection', (socket) => {
    all.add(socket);
    socket.once('close', () => all.delete(socket));
    socket.on('error', () => undefined); // reported through serve()'s failures
    serve(socket).catch((err) => {
      const code = isCairnError(err) ? err.code : undefined;
      if (code !== 'CAIRN_E_AUTH_FAILED' || !isCairnError(err) || err.fields.known === undefined) opts.logger.warn({ address: socket.remoteAddress, err: describe(err) }, 'connection dropped before a session');
      socket.destroy();
    });
  });

  if (opts.path !== undefined) rmSync(opts.path, { force: true }); // a socket left by a daemon that died; the caller holds the working directory's lock
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const bound = (): void => {
      server.off('error', reject);
      resolve();
    };
    if (opts.path !== undefined) server.listen(opts.path, bound);
    else server.listen(opts.port, opts.address, bound);
  });
  if (opts.path !== undefined) chmodSync(opts.path, 0o600);
  server.on('error', (err) => opts.logger.warn({ err: describe(err) }, 'listener error'));
  const info = opts.path === undefined ? (server.address() as AddressInfo) : { address: opts.path, port: 0 };
  return {
    address: info.address,
    port: info.port,
    connections: () => live.size,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of all) s.destroy();
      }),
  };
}

function describe(err: unknown): Record<string, unknown> {
  if (isCairnError(err)) return { code: err.code, message: err.message, ...err.fields };
  const e = err as NodeJS.ErrnoException;
  return { message: e?.message ?? String(err), errno: e?.code };
}
