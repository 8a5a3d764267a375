// The metrics endpoint's parts: the text format (HELP/TYPE, labels escaped,
// refusals of bad names) and the HTTP server (allow-list 403, 404, 405, 500
// with the error's code, HEAD, the content type).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import pino from 'pino';
import { CairnError } from '../plugin-api/index.js';
import { MetricsText } from './metrics-text.js';
import { METRICS_CONTENT_TYPE, startMetricsServer } from './metrics-server.js';

test('metrics text: families with HELP and TYPE, escaped label values, bare values, refusals', () => {
  const m = new MetricsText()
    .gauge('cairn_x', 'A gauge\nwith a newline.', [{ labels: { job: 'a "quoted"\\name', n: 3 }, value: 1.5 }, { value: Infinity }])
    .counter('cairn_y_total', 'A counter.', 7)
    .gauge('cairn_empty', 'No samples yet.', []);
  assert.equal(m.toString(), [
    '# HELP cairn_x A gauge\\nwith a newline.',
    '# TYPE cairn_x gauge',
    'cairn_x{job="a \\"quoted\\"\\\\name",n="3"} 1.5',
    'cairn_x +Inf',
    '# HELP cairn_y_total A counter.',
    '# TYPE cairn_y_total counter',
    'cairn_y_total 7',
    '# HELP cairn_empty No samples yet.',
    '# TYPE cairn_empty gauge',
    '',
  ].join('\n'));
  assert.throws(() => new MetricsText().gauge('bad-name', 'x', 1), /bad metric name/);
  assert.throws(() => new MetricsText().gauge('ok', 'x', [{ labels: { 'bad-label': 1 }, value: 1 }]), /bad label name/);
  assert.throws(() => new MetricsText().gauge('twice', 'x', 1).counter('twice', 'y', 2), /given twice/);
});

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('metrics server: GET /metrics from an allowed address, 403 / 404 / 405 / 500 otherwise, HEAD', async (t) => {
  const log = pino({ level: 'silent' });
  let fail = false;
  const s = await startMetricsServer({ listen: { address: '127.0.0.1', port: 0 }, allow: ['127.0.0.1/32'] }, log, async () => {
    if (fail) throw new CairnError('CAIRN_E_CATALOG_QUERY', 'catalog down', {});
    return new MetricsText().gauge('cairn_up_here', 'x', 1).toString();
  });
  t.after(() => s.close());
  const ok = await get(s.port, '/metrics');
  assert.deepEqual([ok.status, ok.type], [200, METRICS_CONTENT_TYPE]);
  assert.match(ok.body, /^cairn_up_here 1$/m);
  assert.equal((await get(s.port, '/metrics', 'HEAD')).body, '');
  assert.equal((await get(s.port, '/')).status, 404);
  assert.equal((await get(s.port, '/metrics', 'POST')).status, 405);
  fail = true;
  const bad = await get(s.port, '/metrics');
  assert.equal(bad.status, 500);
  assert.match(bad.body, /CAIRN_E_CATALOG_QUERY/);

  const closed = await startMetricsServer({ listen: { address: '127.0.0.1', port: 0 }, allow: ['10.0.0.0/8'] }, log, async () => 'never\n');
  t.after(() => closed.close());
  const refused = await get(closed.port, '/metrics');
  assert.equal(refused.status, 403);
  assert.doesNotMatch(refused.body, /never/);
  await assert.rejects(startMetricsServer({ listen: { address: '127.0.0.1', port: closed.port }, allow: ['127.0.0.1/32'] }, log, async () => ''), (e: unknown) => e instanceof CairnError && e.code === 'CAIRN_E_NET_CONFIG' && /EADDRINUSE/.test(e.message));
});
