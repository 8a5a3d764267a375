/**
 * The three daemons' metrics endpoints (docs/metrics.md): after a backup the
 * Director shows the job ended OK, the configured job's last success (time,
 * files, bytes) and its volume; the SD the FD's data connection and its
 * device; the FD the Director's orders. A restarted Director still knows the
 * last success (from the catalog) while its ended-jobs counter starts again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { freeLoopbackPorts } from '../../config/index.js';
import { buildTree, file, tempDir } from '../support/index.js';
import { startDaemonSet } from './daemon-set.js';

/** The samples of a Prometheus text page: `name{labels}` → value. */
async function scrape(port: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

test('metrics: the Director, the SD and the FD each serve Prometheus text about jobs, devices and connections', async (t) => {
  const tmp = tempDir(t, 'cairn-metrics-');
  const src = join(tmp, 'src');
  await buildTree(src, { 'a.bin': file(1, 700_000), etc: { 'b.conf': file(2, 3000) } });
  const [dirPort, fdPort, sdPort] = await freeLoopbackPorts(3);
  const metrics = (port: number) => ({ listen: { address: '127.0.0.1', port } });
  const d = await startDaemonSet(t, join(tmp, 'conf'), {
    source: src,
    edit: {
      dir: (doc) => (doc.director.metrics = metrics(dirPort)),
      fd: (doc) => (doc.fd.metrics = metrics(fdPort)),
      sd: (doc) => (doc.sd.metrics = metrics(sdPort)),
    },
  });
  const before = Date.now() / 1000;
  const empty = await scrape(dirPort);
  assert.equal(empty.get('cairn_director_jobs{type="backup",state="running"}'), 0);
  assert.equal([...empty.keys()].some((k) => k.startsWith('cairn_job_last_success_timestamp_seconds')), false, 'no success before the first job');

  const run = d.console(['run', 'demo', '--level', 'full', '--wait', '--json']);
  assert.equal(run.json.status, 'ok', run.describe);
  const job = '{job="demo",client="local-fd"}';
  const dm = await scrape(dirPort);
  assert.equal(dm.get('cairn_director_jobs_ended_total{type="backup",status="ok"}'), 1);
  assert.ok((dm.get(`cairn_job_last_success_timestamp_seconds${job}`) ?? 0) >= Math.floor(before));
  assert.equal(dm.get(`cairn_job_last_success_files${job}`), run.json.files);
  assert.equal(dm.get(`cairn_job_last_success_bytes${job}`), run.json.bytes);
  assert.equal(dm.get('cairn_job_last_run_status{job="demo",client="local-fd",status="ok"}'), 1);
  assert.equal(dm.get('cairn_volumes{pool="Default",status="append"}'), 1);
  assert.ok((dm.get('cairn_volume_bytes{pool="Default",status="append"}') ?? 0) > 0);
  assert.ok((dm.get('cairn_peer_sessions_total{role="console"}') ?? 0) >= 1, 'the console connections that ended');
  assert.ok([...dm.keys()].some((k) => k.startsWith('cairn_build_info{daemon="cairn-dir",name="dir1"')));

  const sm = await scrape(sdPort);
  assert.ok((sm.get('cairn_peer_received_bytes_total{role="fd"}') ?? 0) > 100_000, 'the FD\'s data connection brought the backup\'s bytes');
  assert.equal(sm.get('cairn_sd_device_sessions{device="FileStorage",type="file"}'), 0);
  const fm = await scrape(fdPort);
  assert.equal(fm.get('cairn_fd_jobs{kind="backup"}'), 0);
  assert.ok((fm.get('cairn_peer_sessions_total{role="director"}') ?? 0) >= 1);

  // A restarted Director: the last success comes from the catalog; the counter of ended jobs starts again.
  assert.equal(await d.stop('dir'), 0);
  await d.start('dir');
  const again = await scrape(dirPort);
  assert.equal(again.get(`cairn_job_last_success_timestamp_seconds${job}`), dm.get(`cairn_job_last_success_timestamp_seconds${job}`));
  assert.equal(again.get('cairn_director_jobs_ended_total{type="backup",status="ok"}'), undefined);
  for (const k of ['dir', 'fd', 'sd'] as const) assert.equal(await d.stop(k), 0, d.log(k).slice(-2000));
});
