/**
 * cairn-sd: the Storage Daemon as a service. Serves Directors (sessions,
 * and the SD's catalog requests back to them) and File Daemons (data,
 * authenticated with the session key the Director handed them) on its
 * listen address, if it has one, and always on the Unix socket
 * `cairn-sd.sock` in its working directory (mode 0600).
 *
 * `cairn-sd --stdio --config FILE` is the way in without a TCP port: it
 * relays its stdin/stdout to that socket, so `ssh storagehost cairn-sd
 * --stdio …` carries one connection (a Director's or an FD's) to the
 * running daemon. The handshake runs end to end through the relay
 * (docs/transport.md §6).
 */
import { existsSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { CairnError } from '../plugin-api/index.js';
import { loadConfig, type SdConfig } from '../config/index.js';
import { StorageDaemon } from '../sd/index.js';
import { daemonMain, onShutdownSignal, startDaemon, type DaemonArgs } from './runtime.js';
import { ConnectionTotals, listenForPeers, type DaemonListenOptions } from './peers.js';
import { startMetricsServer } from './metrics-server.js';
import { collector, storageMetrics } from './daemon-metrics.js';

/** Longest Unix socket path Linux takes (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;

export function checkSdConfig(c: SdConfig): void {
  const path = sdSocketPath(c);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new CairnError('CAIRN_E_CONFIG_INVALID', `sd.workingDirectory is too long for the daemon's Unix socket (${path} is ${Buffer.byteLength(path)} bytes, at most ${MAX_SOCKET_PATH}): choose a shorter path`, { key: 'sd.workingDirectory', path });
  }
}

/** The Unix socket the daemon serves and `cairn-sd --stdio` relays to. */
export function sdSocketPath(c: SdConfig): string {
  return join(c.sd.workingDirectory, 'cairn-sd.sock');
}

export async function runSd(a: DaemonArgs): Promise<void> {
  const { config: c, warnings } = loadConfig('sd', a.config);
  checkSdConfig(c);
  if (a.stdio) return relayStdio(c, a.config);
  const started = await startDaemon('sd', a, { warnings, logFile: join(c.sd.workingDirectory, 'cairn-sd.log'), workingDirectory: c.sd.workingDirectory });
  if (!started) return;
  const { log, lock } = started;
  const sd = new StorageDaemon({
    devices: c.devices.map((d) => ({
      name: d.name,
      device:
        d.type === 'file'
          ? { type: d.type, dir: d.path, mediaType: d.mediaType }
          : {
              type: d.type,
              path: d.path,
              mediaType: d.mediaType,
              slots: d.slots,
              capacity: d.capacity,
              changer: d.changer ? { type: 'mtx' as const, device: d.changer.device, program: d.changer.program } : undefined,
              driveIndex: d.changer?.drive,
              maxMediaWaitMs: d.maxMediaWaitSeconds !== undefined ? d.maxMediaWaitSeconds * 1000 : undefined,
              stateDir: d.type === 'tape' ? c.sd.workingDirectory : undefined,
            },
      filemarkBytes: d.filemarkBytes,
      spool: d.spool ? { dir: d.spool.path, maxJobBytes: d.spool.maxJobBytes } : undefined,
      blockSize: d.blockSize,
      maxVolumeBytes: d.maxVolumeBytes,
      maxVolumeJobs: d.maxVolumeJobs,
      maxConcurrentJobs: d.maxConcurrentJobs,
    })),
    catalog: 'director',
    spoolDir: join(c.sd.workingDirectory, 'spool'),
    logger: log,
    heartbeatMs: c.sd.heartbeatSeconds * 1000,
  });
  const devices = c.devices.map((d) => `${d.name} (${d.path})`);
  const totals = new ConnectionTotals();
  const peers: Omit<DaemonListenOptions, 'listen'> = {
    totals,
    serverName: c.sd.name,
    tls: c.sd.tls,
    peers: c.directors.map((d) => ({ role: 'director', name: d.name, secret: d.password, allow: d.allow })),
    dynamicSecret: (role, name) => (role === 'fd' ? sd.sessionKey(name) : undefined),
    maxConnections: c.sd.maxConcurrentJobs * 2 + 8,
    logger: log,
    onSession: (stream, peer) => {
      if (peer.role !== 'director' && peer.role !== 'fd') throw new CairnError('CAIRN_E_NET_NOT_ALLOWED', `a ${peer.role} may not talk to the SD`, { role: peer.role });
      return sd.handleConnection(stream, { role: peer.role, name: peer.name, address: peer.address });
    },
  };
  const local = await listenForPeers({ ...peers, listen: { path: sdSocketPath(c) } });
  const tcp = c.sd.listen ? await listenForPeers({ ...peers, listen: c.sd.listen }) : null;
  if (tcp) log.info({ address: tcp.address, port: tcp.port, socket: local.address, devices }, 'cairn-sd listening');
  else log.info({ socket: local.address, devices }, 'cairn-sd listening on its Unix socket only (reached through cairn-sd --stdio)');
  const metrics = c.sd.metrics ? await startMetricsServer(c.sd.metrics, log, collector({ daemon: 'sd', name: c.sd.name, startedAt: new Date(), totals }, (m) => storageMetrics(m, sd))) : null;
  onShutdownSignal(log, async () => {
    await metrics?.close();
    await tcp?.close();
    await local.close();
    await sd.close();
    lock.release();
  });
}

/**
 * `cairn-sd --stdio`: joins stdin/stdout to the running daemon's Unix socket, byte for byte, until either side
 * ends. Nothing but the relayed bytes goes to stdout; problems go to stderr (the client logs them) and the exit
 * status (non-zero: the client reports CAIRN_E_NET_PEER_EXIT).
 */
async function relayStdio(c: SdConfig, configFile: string): Promise<void> {
  const path = sdSocketPath(c);
  const socket = netConnect(path);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? `no cairn-sd daemon runs with working directory ${c.sd.workingDirectory}${existsSync(path) ? ' (its socket is stale)' : ''}: start it with cairn-sd --config ${configFile}` : err.message;
      reject(new CairnError('CAIRN_E_NET_CONNECT', `cairn-sd --stdio cannot reach the daemon at ${path}: ${why}.`, { path, errno: err.code }, { cause: err }));
    });
  });
  await new Promise<void>((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve();
    };
    process.stdin.pipe(socket);
    socket.pipe(process.stdout);
    process.stdin.once('end', () => socket.end());
    socket.once('close', finish);
    socket.once('error', finish);
    process.stdout.once('error', finish);
  });
  process.stdin.destroy();
}

export function main(): Promise<void> {
  return daemonMain('sd', runSd);
}
