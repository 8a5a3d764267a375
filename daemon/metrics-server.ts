/**
 * A daemon's metrics endpoint (docs/metrics.md): plain HTTP, GET /metrics
 * answers the Prometheus text that `collect` builds, for the addresses the
 * config's allow-list grants (403 for others, 404 for other paths, 405 for
 * other methods). It is read-only and carries no secrets; a failing collect
 * is a 500 with the error's code, logged.
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { CairnError, isCairnError } from '../plugin-api/index.js';
import type { MetricsConfig } from '../config/index.js';
import { allowList } from '../net/index.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface MetricsServer {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(cfg: MetricsConfig, log: Logger, collect: () => Promise<string>): Promise<MetricsServer> {
  const allowed = allowList(cfg.allow);
  const server: Server = createServer((req, res) => {
    const from = req.socket.remoteAddress ?? '';
    if (!allowed(from)) {
      log.warn({ address: from }, 'metrics request refused: address not in metrics.allow');
      res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden\n');
      return;
    }
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only /metrics is served here\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('GET only\n');
      return;
    }
    collect().then(
      (text) => res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE }).end(req.method === 'HEAD' ? undefined : text),
      (err) => {
        const code = isCairnError(err) ? err.code : 'CAIRN_E_INTERNAL';
        log.error({ err: (err as Error).message, code }, 'metrics could not be collected');
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${code}: metrics could not be collected\n`);
      },
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) =>
      reject(new CairnError('CAIRN_E_NET_CONFIG', `metrics: cannot listen on ${cfg.listen.address}:${cfg.listen.port}: ${err.code ?? err.message} (metrics.listen in the config)`, { address: cfg.listen.address, port: cfg.listen.port, errno: err.code }, { cause: err }));
    server.once('error', failed);
    server.listen(cfg.listen.port, cfg.listen.address, () => {
      server.off('error', failed);
      resolve();
    });
  });
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : cfg.listen.port;
  log.info({ address: cfg.listen.address, port }, 'metrics endpoint listening');
  return {
    address: cfg.listen.address,
    port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}
