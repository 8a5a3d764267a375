/**
 * cairn-fd: the File Daemon as a service. Directors its config names connect
 * and give orders (docs/protocol.md §9); the FD loads only the agents its own
 * config allows, whatever a Director's fileset says, and reaches the SD of
 * each order itself, authenticated with the session key of the order.
 */
import { join } from 'node:path';
import { CairnError } from '../plugin-api/index.js';
import { loadConfig } from '../config/index.js';
import { FdService, FileDaemon, isolationFromMapping, isolationWithEnv, publicKeyOf, readKeyFile, type FdCrypto } from '../core/index.js';
import { connect, connectCommand, type TlsMode } from '../net/index.js';
import { platformFileServices, nativeStatus } from '../native/index.js';
import { daemonMain, onShutdownSignal, startDaemon, type DaemonArgs } from './runtime.js';
import { ConnectionTotals, listenForPeers } from './peers.js';
import { startMetricsServer } from './metrics-server.js';
import { collector, fileDaemonMetrics } from './daemon-metrics.js';

export async function runFd(a: DaemonArgs): Promise<void> {
  const { config: c, warnings } = loadConfig('fd', a.config);
  const started = await startDaemon('fd', a, { warnings, logFile: join(c.fd.workingDirectory, 'cairn-fd.log'), workingDirectory: c.fd.workingDirectory });
  if (!started) return;
  const { log, lock } = started;
  const status = nativeStatus();
  if (!status.loaded) log.warn({ degraded: status.degraded, error: status.error }, 'native addon not loaded: running degraded');
  const enc = c.encryption;
  // Key files are read when a job needs them (a key replaced on disk takes effect at the next job).
  const crypto = enc ? (): FdCrypto => {
    const signer = readKeyFile(enc.keyFile);
    return { signer, recipients: [publicKeyOf(signer), ...enc.masterKeys.map((k) => publicKeyOf(readKeyFile(k)))], cipher: enc.cipher };
  } : undefined;
  const fd = new FileDaemon({
    policy: { pluginDirs: c.plugins.directories, allow: c.plugins.allow, isolation: isolationWithEnv(isolationFromMapping(c.plugins.isolation)) },
    platform: platformFileServices(),
    logger: log.child({ part: 'fd' }),
    allowCommands: c.commands.allow,
    ...(crypto && enc ? { crypto, restoreKeys: () => [readKeyFile(enc.keyFile)].filter((k) => k.boxSecretKey) } : {}),
  });
  if (enc) readKeyFile(enc.keyFile); // a missing or exposed key file stops the daemon at start, not at the first job
  const heartbeatMs = c.fd.heartbeatSeconds * 1000;
  const service = new FdService({
    fd,
    name: c.fd.name,
    logger: log,
    heartbeatMs,
    agentDefaults: c.agents,
    allowedCommands: c.commands.allow,
    connectSd: async (target, grant) => {
      const route = c.storages.find((s) => s.name === target.name);
      if (route) {
        const conn = await connectCommand({ command: route.command, role: 'fd', name: grant.keyId, secret: grant.key, onStderr: (line) => log.warn({ storage: route.name, line }, 'storage command said') });
        return conn.stream;
      }
      if (target.address === undefined || target.port === undefined) {
        throw new CairnError('CAIRN_E_NET_CONFIG', `The Director reaches storage ${target.name ?? '(unnamed)'} by a command, and this File Daemon has no storages entry for it: add { name: ${target.name}, command: [ssh, …, cairn-sd, --stdio, …] } to storages in its config.`, { storage: target.name });
      }
      const conn = await connect({
        host: target.address,
        port: target.port,
        tls: { mode: (target.tls ?? 'auto') as TlsMode },
        role: 'fd',
        name: grant.keyId,
        secret: grant.key,
        service: 'cairn-sd',
      });
      return conn.stream;
    },
  });
  const totals = new ConnectionTotals();
  const listener = await listenForPeers({
    totals,
    serverName: c.fd.name,
    listen: c.fd.listen,
    tls: c.fd.tls,
    peers: c.directors.map((d) => ({ role: 'director', name: d.name, secret: d.password, allow: d.allow })),
    maxConnections: c.fd.maxConcurrentJobs * 3 + 4,
    logger: log,
    onSession: (stream, peer) => {
      if (peer.role !== 'director') throw new CairnError('CAIRN_E_NET_NOT_ALLOWED', `a ${peer.role} may not command the FD`, { role: peer.role });
      return service.serve(stream, peer.name);
    },
  });
  log.info({ address: listener.address, port: listener.port }, 'cairn-fd listening');
  const metrics = c.fd.metrics ? await startMetricsServer(c.fd.metrics, log, collector({ daemon: 'fd', name: c.fd.name, startedAt: new Date(), totals }, (m) => fileDaemonMetrics(m, service))) : null;
  onShutdownSignal(log, async () => {
    await metrics?.close();
    await service.shutdown();
    await listener.close();
    await fd.close();
    lock.release();
  });
}

export function main(): Promise<void> {
  return daemonMain('fd', runFd);
}
