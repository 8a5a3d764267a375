/**
 * cairn-dir: the Director as a service. Opens the catalog its config names
 * (SQLite or PostgreSQL), serves consoles on its listen address, reaches
 * FDs and SDs as their configs allow it, and runs scheduled jobs.
 */
import { join, resolve } from 'node:path';
import { CairnError, isCairnError } from '../plugin-api/index.js';
import { loadConfig, type CatalogConfig, type DirConfig, type TlsConfig } from '../config/index.js';
import { connect, connectCommand } from '../net/index.js';
import { catalog as catalogPart, ConsoleService, DirectorService, Scheduler } from '../director/index.js';
import { daemonMain, onShutdownSignal, startDaemon, type DaemonArgs } from './runtime.js';
import { ConnectionTotals, listenForPeers } from './peers.js';
import { startMetricsServer } from './metrics-server.js';
import { collector, directorMetrics } from './daemon-metrics.js';

type Catalog = catalogPart.Catalog;

/** Schedule rules are checked at --test-config time too: a typo'd rule is a config error, not a silent never. */
export function checkDirConfig(c: DirConfig): void {
  new Scheduler({ schedules: c.schedules, jobs: c.jobs.filter((j) => j.schedule).map((j) => ({ name: j.name, schedule: j.schedule, level: j.level })), onDue: () => undefined });
}

export async function runDir(a: DaemonArgs): Promise<void> {
  const { config: c, warnings } = loadConfig('dir', a.config);
  checkDirConfig(c);
  const started = await startDaemon('dir', a, { warnings, logFile: c.messages.logFile, workingDirectory: c.director.workingDirectory });
  if (!started) return;
  const { log, lock } = started;
  const catalog = await catalogPart.openConfiguredCatalog(c.director.catalog);
  const me = c.director.name;
  const link = (what: string, host: string, port: number, tls: TlsConfig, secret: string, expect: string, service: string) =>
    connect({ host, port, tls, role: 'director', name: me, secret, expectServer: expect, service }).then((x) => x.stream, (err) => {
      throw isCairnError(err) ? err : new CairnError('CAIRN_E_NET_CONNECT', `cannot reach ${what}: ${(err as Error).message}`, { host, port });
    });
  const dir = new DirectorService({
    config: c,
    configFile: resolve(a.config),
    catalog,
    logger: log,
    connectClient: (cl) => link(`client ${cl.name}`, cl.address, cl.port, cl.tls, cl.password, cl.name, 'cairn-fd'),
    connectStorage: (st) =>
      st.command
        ? connectCommand({ command: st.command, role: 'director', name: me, secret: st.password, expectServer: st.name, onStderr: (line) => log.warn({ storage: st.name, line }, 'storage command said') }).then((x) => x.stream)
        : link(`storage ${st.name}`, st.address!, st.port!, st.tls, st.password, st.name, 'cairn-sd'),
  });
  await dir.syncPools();
  await dir.recover();
  const consoles = new ConsoleService(dir);
  const heartbeatMs = c.director.heartbeatSeconds * 1000;
  const totals = new ConnectionTotals();
  const listener = await listenForPeers({
    totals,
    serverName: me,
    listen: c.director.listen,
    tls: c.director.tls,
    peers: c.consoles.map((x) => ({ role: 'console', name: x.name, secret: x.password, allow: x.allow })),
    maxConnections: 64,
    logger: log,
    onSession: (stream, peer) => consoles.serve(stream, peer.name, heartbeatMs),
  });
  const scheduler = new Scheduler({
    schedules: c.schedules,
    jobs: c.jobs.filter((j) => j.schedule).map((j) => ({ name: j.name, schedule: j.schedule, level: j.level })),
    onDue: (due) => {
      try {
        const r = dir.runJob(due.job, { level: due.level });
        log.info({ job: due.job, level: due.level, scheduledFor: due.scheduledFor.toISOString(), handle: r.handle }, 'scheduled job started');
      } catch (err) {
        log.warn({ job: due.job, err: (err as Error).message, code: isCairnError(err) ? err.code : undefined }, 'scheduled job not started');
      }
    },
    onMissed: (m) => log.warn({ job: m.job, missed: m.missed, firstMissed: m.firstMissed.toISOString() }, 'scheduled runs were missed (the Director was not running or the machine slept); running once now'),
  });
  scheduler.start();
  log.info({ address: listener.address, port: listener.port, catalog: c.director.catalog.engine }, 'cairn-dir listening');
  const metrics = c.director.metrics ? await startMetricsServer(c.director.metrics, log, collector({ daemon: 'dir', name: me, startedAt: new Date(), totals }, (m) => directorMetrics(m, dir))) : null;
  onShutdownSignal(log, async () => {
    await metrics?.close();
    scheduler.stop();
    await listener.close();
    await dir.close();
    await catalog.close();
    lock.release();
  });
}

export function main(): Promise<void> {
  return daemonMain('dir', runDir);
}
