/**
 * What each daemon's metrics endpoint shows (docs/metrics.md), built fresh
 * for every scrape from the parts' own state: the Director's running and
 * ended jobs, each configured job's last run and last success (from the
 * catalog, so they survive a restart) and its volumes; the Storage Daemon's
 * devices, sessions and tape counters; the File Daemon's running jobs; and,
 * for all three, connections ended and bytes moved by peer role.
 */
import { HOST_VERSION, type FdService } from '../core/index.js';
import type { DirectorService } from '../director/index.js';
import type { StorageDaemon } from '../sd/index.js';
import { MetricsText, type Sample } from './metrics-text.js';
import type { ConnectionTotals } from './peers.js';

const JOB_TYPES = ['backup', 'restore', 'verify'] as const;
const ALL_LEVELS = ['full', 'differential', 'incremental'] as const;
const secs = (d: Date | null | undefined): number => (d ? d.getTime() / 1000 : 0);

/** Build info, start time and connection totals: every daemon has them. */
export function commonMetrics(m: MetricsText, o: { daemon: 'dir' | 'fd' | 'sd'; name: string; startedAt: Date; totals: ConnectionTotals }): void {
  m.gauge('cairn_build_info', 'Always 1; the labels say which daemon, its name, Cairn\'s version and Node\'s.', [{ labels: { daemon: `cairn-${o.daemon}`, name: o.name, version: HOST_VERSION, node: process.version }, value: 1 }]);
  m.gauge('cairn_start_time_seconds', 'When this daemon started (Unix seconds).', secs(o.startedAt));
  const rows = o.totals.rows();
  m.counter('cairn_peer_sessions_total', 'Authenticated connections that ended, by peer role.', rows.map((r) => ({ labels: { role: r.role }, value: r.sessions })));
  m.counter('cairn_peer_received_bytes_total', 'Bytes received on connections that ended, by peer role.', rows.map((r) => ({ labels: { role: r.role }, value: r.bytesIn })));
  m.counter('cairn_peer_sent_bytes_total', 'Bytes sent on connections that ended, by peer role.', rows.map((r) => ({ labels: { role: r.role }, value: r.bytesOut })));
}

export async function directorMetrics(m: MetricsText, dir: DirectorService): Promise<void> {
  const now = dir.jobs();
  const held: Sample[] = [];
  for (const type of JOB_TYPES) {
    for (const state of ['running', 'waiting'] as const) held.push({ labels: { type, state }, value: now.filter((j) => j.type === type && j.state === state).length });
  }
  m.gauge('cairn_director_jobs', 'Jobs the Director holds now, by type and state (waiting: for a concurrency slot).', held);
  m.counter('cairn_director_jobs_ended_total', 'Jobs that ended since the Director started, by type and status (ok, warning, error, cancelled).', dir.endedTotals().map((e) => ({ labels: { type: e.type, status: e.status }, value: e.count })));

  const lastRun: Sample[] = [];
  const lastStatus: Sample[] = [];
  const lastOk: Sample[] = [];
  const okBytes: Sample[] = [];
  const okFiles: Sample[] = [];
  const okDuration: Sample[] = [];
  for (const job of dir.config.jobs) {
    const labels = { job: job.name, client: job.client };
    const [last] = await dir.catalog.listJobs({ name: job.name, type: 'backup', limit: 1 });
    if (last) {
      lastRun.push({ labels, value: secs(last.endedAt ?? last.startedAt) });
      lastStatus.push({ labels: { ...labels, status: last.status }, value: 1 });
    }
    const good = await dir.catalog.lastSuccessfulJob({ client: job.client, name: job.name, levels: ALL_LEVELS });
    if (good) {
      lastOk.push({ labels, value: secs(good.endedAt) });
      okBytes.push({ labels, value: good.bytes });
      okFiles.push({ labels, value: good.files });
      okDuration.push({ labels, value: good.endedAt ? (good.endedAt.getTime() - good.startedAt.getTime()) / 1000 : 0 });
    }
  }
  m.gauge('cairn_job_last_run_timestamp_seconds', 'When each configured job\'s latest backup ended (or started, while it runs).', lastRun);
  m.gauge('cairn_job_last_run_status', 'Each configured job\'s latest backup: 1 with its status as a label (running, ok, warning, error, cancelled).', lastStatus);
  m.gauge('cairn_job_last_success_timestamp_seconds', 'When each configured job last ended OK or OK with warnings: alert when it is too old.', lastOk);
  m.gauge('cairn_job_last_success_bytes', 'Bytes of each configured job\'s last successful backup.', okBytes);
  m.gauge('cairn_job_last_success_files', 'Files of each configured job\'s last successful backup.', okFiles);
  m.gauge('cairn_job_last_success_duration_seconds', 'How long each configured job\'s last successful backup took.', okDuration);

  const byPoolState = new Map<string, { pool: string; status: string; count: number; bytes: number }>();
  for (const v of await dir.catalog.listVolumes()) {
    const k = `${v.pool}\t${v.status}`;
    const e = byPoolState.get(k) ?? { pool: v.pool, status: v.status, count: 0, bytes: 0 };
    e.count++;
    e.bytes += v.committedBytes;
    byPoolState.set(k, e);
  }
  const vols = [...byPoolState.values()];
  m.gauge('cairn_volumes', 'Volumes in the catalog, by pool and state (append, full, used, purged, recycle, error…).', vols.map((v) => ({ labels: { pool: v.pool, status: v.status }, value: v.count })));
  m.gauge('cairn_volume_bytes', 'Bytes the catalog counts on volumes, by pool and state.', vols.map((v) => ({ labels: { pool: v.pool, status: v.status }, value: v.bytes })));
}

export function storageMetrics(m: MetricsText, sd: StorageDaemon): void {
  const s = sd.status();
  m.gauge('cairn_sd_connections', 'Connections open now.', s.connections);
  const dev = (f: (d: (typeof s.devices)[number]) => number | undefined): Sample[] =>
    s.devices.flatMap((d) => {
      const v = f(d);
      return v === undefined ? [] : [{ labels: { device: d.name, type: d.type }, value: v }];
    });
  m.gauge('cairn_sd_device_sessions', 'Sessions (append or read) using each device now.', dev((d) => d.sessions));
  m.gauge('cairn_sd_device_sessions_waiting', 'Sessions waiting for a slot of each device (its maxConcurrentJobs).', dev((d) => d.waiting));
  m.gauge('cairn_sd_device_waiting_for_media', '1 while a job waits for a tape to be mounted on the device (see its mount request).', dev((d) => (d.media ? Number(d.media.state === 'waiting-for-media') : undefined)));
  m.counter('cairn_sd_tape_blocks_written_total', 'Tape blocks written since the SD started.', dev((d) => d.media?.counters.blocksWritten));
  m.counter('cairn_sd_tape_blocks_read_total', 'Tape blocks read since the SD started.', dev((d) => d.media?.counters.blocksRead));
  m.counter('cairn_sd_tape_loads_total', 'Tapes loaded into the drive since the SD started.', dev((d) => d.media?.counters.loads));
}

export function fileDaemonMetrics(m: MetricsText, fd: FdService): void {
  const jobs = fd.jobs();
  m.gauge('cairn_fd_jobs', 'Jobs running on this File Daemon now, by kind.', ['backup', 'restore', 'verify'].map((kind) => ({ labels: { kind }, value: jobs.filter((j) => j.kind === kind).length })));
  m.gauge('cairn_fd_job_bytes', 'Bytes so far of each running job.', jobs.map((j) => ({ labels: { job_id: j.jobId, kind: j.kind }, value: j.bytes })));
  m.gauge('cairn_fd_job_files', 'Files so far of each running job.', jobs.map((j) => ({ labels: { job_id: j.jobId, kind: j.kind }, value: j.files })));
}

/** A collect function for startMetricsServer: common metrics plus the daemon's own. */
export function collector(common: Parameters<typeof commonMetrics>[1], own: (m: MetricsText) => void | Promise<void>): () => Promise<string> {
  return async () => {
    const m = new MetricsText();
    commonMetrics(m, common);
    await own(m);
    return m.toString();
  };
}
