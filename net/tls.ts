/**
 * TLS under the handshake (docs/transport.md §4): modes off, psk, cert and
 * auto (psk unless the peer is on loopback, then off). PSK is TLS 1.2 only
 * (Node's PSK does not do 1.3) with the key derived from the pair's shared
 * secret by HKDF-SHA256; cert is mutual X.509 from files. The HMAC handshake
 * runs inside the TLS channel either way.
 */
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, createServer as createTlsServer, type ConnectionOptions, type TLSSocket, type TlsOptions } from 'node:tls';
import { CairnError } from '../plugin-api/index.js';
import { isLoopback } from './cidr.js';

export type TlsMode = 'off' | 'psk' | 'cert' | 'auto';
export type WireTls = 'off' | 'psk' | 'cert';

export interface TlsSettings {
  mode: TlsMode;
  /** cert mode: PEM file paths of our certificate, its key and the CA that signs the peer's certificate. */
  cert?: string;
  key?: string;
  ca?: string;
  /** cert mode, client: the name the server's certificate must carry (default: the host connected to). */
  serverName?: string;
}

export const PSK_CIPHERS = 'PSK-AES256-GCM-SHA384:PSK-CHACHA20-POLY1305';
export const PSK_INFO = 'cairn-tls-psk-v1';
/** Keys the stand-in PSKs of unknown identities (one per process, so repeated tries see the same failure). */
const STAND_IN_KEY = randomBytes(32);

/** The 32-byte TLS PSK of a pair: HKDF-SHA256(ikm = secret UTF-8, salt = empty, info = "cairn-tls-psk-v1"). */
export function derivePsk(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), Buffer.from(PSK_INFO, 'latin1'), 32));
}

/** The PSK identity a client presents: `<role>:<name>` (secrets are looked up by role and name). */
export function pskIdentity(role: string, name: string): string {
  return `${role}:${name}`;
}

/** The mode used on one connection, given the peer's (server) or the connected (client) address. */
export function effectiveMode(settings: TlsSettings | undefined, peerAddress: string | undefined): WireTls {
  const mode = settings?.mode ?? 'off';
  if (mode === 'auto') return isLoopback(peerAddress) ? 'off' : 'psk';
  if (mode !== 'off' && mode !== 'psk' && mode !== 'cert') throw new CairnError('CAIRN_E_NET_CONFIG', `Unknown TLS mode "${String(mode)}" (off, psk, cert, auto).`, { mode });
  return mode;
}

export interface CertMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

/** Reads the cert-mode files once; CAIRN_E_NET_CONFIG naming the file that cannot be read. */
export function loadCertMaterial(settings: TlsSettings | undefined): CertMaterial | undefined {
  if (settings?.mode !== 'cert') return undefined;
  const read = (what: 'cert' | 'key' | 'ca'): Buffer => {
    const path = settings[what];
    if (!path) throw new CairnError('CAIRN_E_NET_CONFIG', `TLS mode cert needs a ${what} file.`, { what });
    try {
      return readFileSync(path);
    } catch (err) {
      throw new CairnError('CAIRN_E_NET_CONFIG', `Cannot read the TLS ${what} file ${path}.`, { what, path, errno: (err as NodeJS.ErrnoException).code }, { cause: err });
    }
  };
  return { cert: read('cert'), key: read('key'), ca: read('ca') };
}

function tlsError(err: unknown, fields: Record<string, unknown>): CairnError {
  const e = err as NodeJS.ErrnoException;
  return new CairnError('CAIRN_E_NET_TLS', `TLS failed: ${e?.message ?? String(err)}`, { ...fields, errno: e?.code }, { cause: err });
}

function waitSecure(tls: TLSSocket, event: 'secure' | 'secureConnect', fields: Record<string, unknown>): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const done = (err?: unknown): void => {
      tls.off(event, onOk);
      tls.off('error', onErr);
      tls.off('close', onClose);
      if (err) reject(err);
      else resolve(tls);
    };
    const onOk = (): void => done();
    const onErr = (err: unknown): void => done(tlsError(err, fields));
    const onClose = (): void => done(new CairnError('CAIRN_E_NET_TLS', 'The connection closed during the TLS handshake (wrong PSK or certificate?).', fields));
    tls.once(event, onOk);
    tls.on('error', onErr);
    tls.once('close', onClose);
  });
}

/**
 * Server side: wraps an accepted socket; resolves once TLS is up and (cert
 * mode) the client's certificate verified. It goes through a tls.Server of its
 * own (never listening) so Node applies requestCert/rejectUnauthorized, which a
 * bare server TLSSocket does not.
 */
export function secureServer(
  socket: Socket,
  mode: 'psk' | 'cert',
  opts: { certs?: CertMaterial; secretForIdentity: (identity: string) => string | undefined },
): Promise<{ socket: TLSSocket; identity?: string }> {
  const fields = { mode, address: socket.remoteAddress };
  let identity: string | undefined;
  let options: TlsOptions;
  if (mode === 'psk') {
    options = {
      ciphers: PSK_CIPHERS,
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      pskCallback: (_sock: TLSSocket, id: string) => {
        identity = id;
        const secret = opts.secretForIdentity(id);
        // An unknown identity gets a stand-in key, so it fails like a wrong PSK, not with unknown_psk_identity.
        return secret ? derivePsk(secret) : createHmac('sha256', STAND_IN_KEY).update(id).digest();
      },
    };
  } else {
    if (!opts.certs) throw new CairnError('CAIRN_E_NET_CONFIG', 'TLS mode cert needs cert, key and ca files.', fields);
    options = { ...opts.certs, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' };
  }
  const server = createTlsServer(options);
  return new Promise((resolve, reject) => {
    const done = (err: CairnError | null, tls?: TLSSocket): void => {
      server.removeAllListeners();
      socket.off('close', onClose);
      if (err) {
        socket.destroy();
        if (identity !== undefined) err.fields.identity = identity;
        reject(err);
      } else resolve({ socket: tls!, identity });
    };
    const onClose = (): void => done(new CairnError('CAIRN_E_NET_TLS', 'The connection closed during the TLS handshake (wrong PSK, or a client certificate we do not trust).', fields));
    server.once('secureConnection', (tls: TLSSocket) => done(null, tls));
    server.once('tlsClientError', (err: Error) => done(tlsError(err, fields)));
    socket.once('close', onClose);
    server.emit('connection', socket);
  });
}

/** Client side: wraps a connected socket; resolves once TLS is up and the server verified. */
export function secureClient(
  socket: Socket,
  mode: 'psk' | 'cert',
  opts: { certs?: CertMaterial; role: string; name: string; secret: string; host: string; serverName?: string },
): Promise<TLSSocket> {
  const fields = { mode, host: opts.host, port: socket.remotePort };
  let options: ConnectionOptions;
  if (mode === 'psk') {
    const psk = derivePsk(opts.secret);
    options = {
      socket,
      ciphers: PSK_CIPHERS,
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      pskCallback: () => ({ psk, identity: pskIdentity(opts.role, opts.name) }),
      checkServerIdentity: () => undefined, // the PSK itself authenticates the server
    };
  } else {
    if (!opts.certs) throw new CairnError('CAIRN_E_NET_CONFIG', 'TLS mode cert needs cert, key and ca files.', fields);
    const expected = opts.serverName ?? opts.host;
    options = { socket, ...opts.certs, rejectUnauthorized: true, minVersion: 'TLSv1.2', servername: /^[\d.:]+$/.test(expected) ? undefined : expected };
    if (opts.serverName) {
      const name = opts.serverName;
      options.checkServerIdentity = (_host, cert) => checkServerIdentity(name, cert);
    }
  }
  const tls = tlsConnect(options);
  return waitSecure(tls, 'secureConnect', fields);
}

