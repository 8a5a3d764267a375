/**
 * A daemon's listener from its config: the authenticated peers it accepts
 * (each Director or console with its own secret and allow-list), TLS from the
 * config's tls section, and per-connection statistics logged when a
 * connection ends (bytes in and out, duration, rate) and summed by peer role
 * for the metrics endpoint.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { CairnError } from '../plugin-api/index.js';
import type { ListenConfig, TlsConfig } from '../config/index.js';
import { allowList, listen, type Listener, type PeerRole, type SessionPeer } from '../net/index.js';

/** A peer the config names: its role, name, secret and where it may connect from. */
export interface KnownPeer {
  role: PeerRole;
  name: string;
  secret: string;
  allow: string[];
}

export interface DaemonListenOptions {
  serverName: string;
  /** A TCP listen address, or a Unix socket path (the stdio relay's way in: no allow-list, admission or TLS). */
  listen: ListenConfig | { path: string };
  tls: TlsConfig;
  peers: KnownPeer[];
  /** Secrets of peers the config does not list (the SD's session keys for FDs): anywhere, keys are single-use. */
  dynamicSecret?: (role: PeerRole, name: string) => string | undefined;
  maxConnections: number;
  logger: Logger;
  onSession(stream: Duplex, peer: SessionPeer): Promise<void>;
  /** Each ended session's bytes are also added here (the metrics endpoint's counters). */
  totals?: ConnectionTotals;
}

/** Sessions ended and bytes moved, by peer role, since the daemon started. */
export class ConnectionTotals {
  private readonly byRole = new Map<string, { sessions: number; bytesIn: number; bytesOut: number }>();

  add(role: string, bytesIn: number, bytesOut: number): void {
    const t = this.byRole.get(role) ?? { sessions: 0, bytesIn: 0, bytesOut: 0 };
    t.sessions++;
    t.bytesIn += bytesIn;
    t.bytesOut += bytesOut;
    this.byRole.set(role, t);
  }

  rows(): Array<{ role: string; sessions: number; bytesIn: number; bytesOut: number }> {
    return [...this.byRole].map(([role, t]) => ({ role, ...t }));
  }
}

/** Hosts a dynamic-secret peer may connect from: anywhere (its key is random and single-use). */
const ANYWHERE = ['0.0.0.0/0', '::/0'];

export async function listenForPeers(o: DaemonListenOptions): Promise<Listener> {
  const byKey = new Map(o.peers.map((p) => [`${p.role}:${p.name}`, { peer: p, allowed: allowList(p.allow) }]));
  const allow = o.dynamicSecret ? ANYWHERE : [...new Set(o.peers.flatMap((p) => p.allow))];
  const where = 'path' in o.listen ? { address: '', port: 0, path: o.listen.path } : { address: o.listen.address, port: o.listen.port };
  return listen({
    ...where,
    allow,
    maxConnections: o.maxConnections,
    tls: o.tls,
    logger: o.logger,
    handshake: {
      serverName: o.serverName,
      secretFor: (role, name) => byKey.get(`${role}:${name}`)?.peer.secret ?? o.dynamicSecret?.(role, name),
    },
    onSession: async (stream, peer) => {
      const known = byKey.get(`${peer.role}:${peer.name}`);
      if (known && !('path' in o.listen) && !known.allowed(peer.address)) {
        o.logger.warn({ role: peer.role, name: peer.name, address: peer.address }, 'peer authenticated but its host is not in its allow-list; closing');
        throw new CairnError('CAIRN_E_NET_NOT_ALLOWED', `${peer.role} ${peer.name} may not connect from ${peer.address}`, { address: peer.address });
      }
      const started = Date.now();
      try {
        await o.onSession(stream, peer);
      } finally {
        logStatistics(o.logger, stream, peer, started, o.totals);
      }
    },
  });
}

function logStatistics(log: Logger, stream: Duplex, peer: SessionPeer, started: number, totals?: ConnectionTotals): void {
  const s = stream as Duplex & { bytesRead?: number; bytesWritten?: number };
  const durationMs = Math.max(1, Date.now() - started);
  const bytesIn = s.bytesRead ?? 0;
  const bytesOut = s.bytesWritten ?? 0;
  totals?.add(peer.role, bytesIn, bytesOut);
  log.info(
    { role: peer.role, peer: peer.name, address: peer.address, bytesIn, bytesOut, durationMs, rateBytesPerSec: Math.round(((bytesIn + bytesOut) * 1000) / durationMs) },
    'connection statistics',
  );
}
