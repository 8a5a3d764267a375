/**
 * cairn-sd: the Storage Daemon as a service. Serves Directors (sessions,
 * and the SD's catalog requests back to them) and File Daemons (data,
 * authenticated with the session key the Director handed them) on its
 * listen address, or one Director conversation on stdin/stdout (--stdio,
 * for `ssh storagehost cairn-sd --stdio`).
 */
import { join } from 'node:path';
import { CairnError } from '../plugin-api/index.js';
import { loadConfig, type SdConfig } from '../config/index.js';
import { acceptHandshake, stdioDuplex } from '../net/index.js';
import { StorageDaemon } from '../sd/index.js';
import { daemonMain, onShutdownSignal, startDaemon, type DaemonArgs } from './runtime.js';
import { listenForPeers } from './peers.js';

export function checkSdConfig(c: SdConfig): void {
  if (c.devices.length > 1) {
    throw new CairnError('CAIRN_E_CONFIG_INVALID', `cairn-sd serves one device in this version; the config lists ${c.devices.length} (${c.devices.map((d) => d.name).join(', ')}): run one cairn-sd per device`, { devices: c.devices.length });
  }
}

export async function runSd(a: DaemonArgs): Promise<void> {
  const { config: c, warnings } = loadConfig('sd', a.config);
  checkSdConfig(c);
  const started = await startDaemon('sd', a, { warnings, logFile: join(c.sd.workingDirectory, 'cairn-sd.log'), workingDirectory: c.sd.workingDirectory });
  if (!started) return;
  const { log, lock } = started;
  const dev = c.devices[0];
  const sd = new StorageDaemon({
    device: { type: 'file', dir: dev.path },
    catalog: 'director',
    blockSize: dev.blockSize,
    maxVolumeBytes: dev.maxVolumeBytes,
    maxVolumeJobs: dev.maxVolumeJobs,
    logger: log.child({ device: dev.name }),
    heartbeatMs: c.sd.heartbeatSeconds * 1000,
  });
  const directorSecret = (name: string) => c.directors.find((d) => d.name === name)?.password;
  if (a.stdio) {
    const stream = stdioDuplex();
    const peer = await acceptHandshake(stream, { serverName: c.sd.name, secretFor: (role, name) => (role === 'director' ? directorSecret(name) : undefined) });
    log.info({ director: peer.peerName }, 'serving one Director over stdio');
    await sd.handleConnection(stream, { role: 'director', name: peer.peerName });
    await sd.close();
    lock.release();
    return;
  }
  const listener = await listenForPeers({
    serverName: c.sd.name,
    listen: c.sd.listen,
    tls: c.sd.tls,
    peers: c.directors.map((d) => ({ role: 'director', name: d.name, secret: d.password, allow: d.allow })),
    dynamicSecret: (role, name) => (role === 'fd' ? sd.sessionKey(name) : undefined),
    maxConnections: c.sd.maxConcurrentJobs * 2 + 8,
    logger: log,
    onSession: (stream, peer) => {
      if (peer.role !== 'director' && peer.role !== 'fd') throw new CairnError('CAIRN_E_NET_NOT_ALLOWED', `a ${peer.role} may not talk to the SD`, { role: peer.role });
      return sd.handleConnection(stream, { role: peer.role, name: peer.name, address: peer.address });
    },
  });
  log.info({ address: listener.address, port: listener.port, device: dev.name, path: dev.path }, 'cairn-sd listening');
  onShutdownSignal(log, async () => {
    await listener.close();
    await sd.close();
    lock.release();
  });
}

export function main(): Promise<void> {
  return daemonMain('sd', runSd);
}
