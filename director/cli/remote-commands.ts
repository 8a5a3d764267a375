/**
 * The console against a running Director (`cairn --config console.yaml …`):
 * each command opens one authenticated connection (docs/protocol.md §10),
 * asks, prints the answer (text, or JSON with --json) and exits with the
 * job's exit status where a job was waited for.
 */
import { resolve } from 'node:path';
import { CairnError, type Level, type ReplacePolicy } from '../../plugin-api/index.js';
import { loadConfig } from '../../config/index.js';
import { connect } from '../../net/index.js';
import { ControlChannel } from '../../sd/index.js';
import type { JobReport } from '../jobs/job-report.js';
import { formatEstimate, type EstimateReport } from '../jobs/estimate-job.js';
import { humanBytes, type Output } from './output.js';

export interface RemoteArgs {
  config: string;
  json: boolean;
  wait: boolean;
}

async function withDirector<T>(args: RemoteArgs, out: Output, fn: (ch: ControlChannel) => Promise<T>, onProgress?: (p: { files: number; bytes: number }) => void): Promise<T> {
  const { config: c } = loadConfig('console', args.config);
  const conn = await connect({
    host: c.director.address,
    port: c.director.port,
    tls: c.director.tls,
    role: 'console',
    name: c.console.name,
    secret: c.director.password,
    expectServer: c.director.name,
    service: 'cairn-dir',
  });
  const ch = new ControlChannel(conn.stream, {
    peer: `the Director ${c.director.name}`,
    onNotification: (type, body) => {
      if (type === 'progress' && onProgress) onProgress(body as { files: number; bytes: number });
    },
  });
  try {
    return await fn(ch);
  } finally {
    out.endProgress();
    await ch.close();
  }
}

/** Waits for a job, showing files, bytes, rate and (when the last run's size is known) an ETA. */
async function waitFor(args: RemoteArgs, out: Output, jobId: number, expectBytes?: number): Promise<number> {
  const started = Date.now();
  const report = await withDirector(
    args,
    out,
    async (ch) => (await ch.request(`wait JobId=${jobId}`)).body as JobReport,
    (p) => {
      if (!out.live) return;
      const secs = Math.max((Date.now() - started) / 1000, 0.001);
      const rate = p.bytes / secs;
      const etaSeconds = expectBytes && rate > 0 && expectBytes > p.bytes ? Math.ceil((expectBytes - p.bytes) / rate) : undefined;
      out.progress({ op: 'job', jobId, files: p.files, bytes: p.bytes, rate, etaSeconds }, () => `job ${jobId}: ${p.files} files, ${humanBytes(p.bytes)} (${humanBytes(rate)}/s${etaSeconds !== undefined ? `, ETA ${etaSeconds} s` : ''})`);
    },
  );
  out.report(report);
  return report.exitCode ?? 3;
}

export async function remoteRun(args: RemoteArgs & { job: string; level?: Level; option?: string[] }, out: Output): Promise<number> {
  const r = await withDirector(args, out, async (ch) => {
    const last = ((await ch.request('jobs', { limit: 20 })).body as Array<{ name: string; status: string; bytes: number }>).find((j) => j.name === args.job && j.status === 'ok');
    const body = (await ch.request('run', { job: args.job, level: args.level, options: args.option })).body as { jobId: number };
    return { jobId: body.jobId, expect: last?.bytes };
  });
  if (!args.wait) {
    out.data({ jobId: r.jobId }, () => `job ${args.job} started: job id ${r.jobId}`);
    return 0;
  }
  return waitFor(args, out, r.jobId, r.expect);
}

export async function remoteRestore(
  args: RemoteArgs & { job: string; jobName?: string; to: string; paths: string[]; asAt?: string; replace: ReplacePolicy; client?: string; copy?: number; option?: string[] },
  out: Output,
): Promise<number> {
  const to = resolve(args.to);
  const { jobId } = await withDirector(args, out, async (ch) =>
    (await ch.request('restore', { job: args.job, jobName: args.jobName, asAt: args.asAt, to, paths: args.paths, replace: args.replace, client: args.client, copy: args.copy, options: args.option })).body as { jobId: number },
  );
  if (!args.wait) {
    out.data({ jobId }, () => `restore started: job id ${jobId}`);
    return 0;
  }
  return waitFor(args, out, jobId);
}

export async function remoteVerify(args: RemoteArgs & { job: string; jobName?: string; level: string }, out: Output): Promise<number> {
  const { jobId } = await withDirector(args, out, async (ch) => (await ch.request('verify', { job: args.job, jobName: args.jobName, level: args.level })).body as { jobId: number });
  if (!args.wait) {
    out.data({ jobId }, () => `verify started: job id ${jobId}`);
    return 0;
  }
  return waitFor(args, out, jobId);
}

export async function remoteStatus(args: RemoteArgs & { what?: string; name?: string }, out: Output): Promise<number> {
  if (args.what === 'client' || args.what === 'storage') {
    if (!args.name) throw new CairnError('CAIRN_E_USAGE', `status ${args.what} needs a NAME`, {});
    const what = args.what;
    const body = await withDirector(args, out, async (ch) => (await ch.request(`status ${what}`, { name: args.name })).body as Record<string, unknown>);
    out.data(body, () => `${what} ${args.name}: ${JSON.stringify(body)}`);
    return 0;
  }
  if (args.what && args.what !== 'dir') throw new CairnError('CAIRN_E_USAGE', `status takes dir, client NAME or storage NAME, not "${args.what}"`, { what: args.what });
  const s = await withDirector(args, out, async (ch) => (await ch.request('status')).body as { name: string; version: string; uptimeMs: number; running: Array<{ jobId: number | null; name: string; type: string; state: string; progress: { files: number; bytes: number } }> });
  out.data(s, () =>
    [
      `Director ${s.name} (cairn ${s.version}), up ${Math.round(s.uptimeMs / 1000)} s`,
      s.running.length ? 'Running jobs:' : 'No jobs running.',
      ...s.running.map((j) => `  ${String(j.jobId ?? '-').padEnd(6)} ${j.name.padEnd(20)} ${j.type.padEnd(8)} ${j.state.padEnd(8)} ${j.progress.files} files, ${humanBytes(j.progress.bytes)}`),
    ].join('\n'),
  );
  return 0;
}

export async function remoteJobs(args: RemoteArgs & { limit: number }, out: Output): Promise<number> {
  const jobs = await withDirector(args, out, async (ch) => (await ch.request('jobs', { limit: args.limit })).body as Array<{ id: number; name: string; type: string; level: string | null; status: string; files: number; bytes: number; startedAt: string }>);
  out.data(jobs, () =>
    [
      'JobId  Name                  Type     Level         Status    Files      Bytes        Started',
      ...jobs.map((j) => `${String(j.id).padEnd(6)} ${j.name.slice(0, 21).padEnd(21)} ${j.type.padEnd(8)} ${(j.level ?? '-').padEnd(13)} ${j.status.padEnd(9)} ${String(j.files).padEnd(10)} ${humanBytes(j.bytes).padEnd(12)} ${j.startedAt}`),
    ].join('\n'),
  );
  return 0;
}

/** `cairn estimate JOB [--level L]`: files and bytes the job would send, nothing sent. */
export async function remoteEstimate(args: RemoteArgs & { job: string; level?: Level }, out: Output): Promise<number> {
  const r = await withDirector(args, out, async (ch) => (await ch.request('estimate', { job: args.job, level: args.level })).body as EstimateReport);
  out.data(r, () => formatEstimate(r));
  return 0;
}

/** `cairn wait JOBID`: waits for a running job of the Director (progress meanwhile) and prints its report. */
export function remoteWait(args: RemoteArgs & { jobid: number }, out: Output): Promise<number> {
  return waitFor(args, out, args.jobid);
}

export async function remoteCancel(args: RemoteArgs & { jobid: number }, out: Output): Promise<number> {
  await withDirector(args, out, (ch) => ch.request(`cancel JobId=${args.jobid}`));
  out.data({ jobId: args.jobid, cancelled: true }, () => `job ${args.jobid}: cancel requested`);
  return 0;
}

export async function remoteMessages(args: RemoteArgs & { jobid: number }, out: Output): Promise<number> {
  const log = await withDirector(args, out, async (ch) => (await ch.request(`messages JobId=${args.jobid}`)).body as Array<{ level: string; code?: string; path?: string; text: string; at?: string }>);
  out.data(log, () => log.map((e) => `${e.level.padEnd(7)} ${e.code ?? ''} ${e.path ? `${e.path}: ` : ''}${e.text}`).join('\n') || `no messages for job ${args.jobid}`);
  return 0;
}

export async function remoteLs(args: RemoteArgs & { job: string; path?: string; asAt?: string; jobName?: string }, out: Output): Promise<number> {
  const r = await withDirector(args, out, async (ch) => (await ch.request('ls', { job: args.job, path: args.path, asAt: args.asAt, jobName: args.jobName })).body as { jobId: number; files: Array<{ path: string; size: number; mtime: string; kind: string }> });
  out.data(r, () => r.files.map((f) => `${f.kind.padEnd(8)} ${String(f.size).padStart(12)} ${f.mtime} ${f.path}`).join('\n'));
  return 0;
}

export function needConfig(args: { config?: string }, command: string): string {
  if (!args.config) throw new CairnError('CAIRN_E_USAGE', `"${command}" talks to a Director: give --config console.yaml (written by \`cairn quickstart DIR\`)`, { command });
  return args.config;
}

/** `volumes` / `pools` through the Director. */
export async function remoteList(what: 'volumes' | 'pools', args: RemoteArgs & { pool?: string }, out: Output): Promise<number> {
  const rows = await withDirector(args, out, async (ch) => (await ch.request(what, { pool: args.pool })).body as Array<Record<string, unknown>>);
  const { poolsText, volumesText } = await import('./retention-commands.js');
  out.data(rows, () => (what === 'volumes' ? volumesText(rows) : poolsText(rows)));
  return 0;
}

/** `prune` through the Director. */
export async function remotePrune(args: RemoteArgs & Record<string, unknown> & { dryRun: boolean; pool?: string }, out: Output): Promise<number> {
  const { keepFromArgs, pruneText } = await import('./retention-commands.js');
  const report = await withDirector(args, out, async (ch) => (await ch.request('prune', { dryRun: args.dryRun, pool: args.pool, keep: keepFromArgs(args) })).body as import('../retention/prune-run.js').PruneReport);
  out.data(report, () => pruneText(report));
  return 0;
}

/**
 * `key rotate --client NAME --new FILE` through the Director: the client's FD re-wraps its jobs' data keys to the
 * new key's public half (protocol.md §10); the console writes the keyring it gets back. Then the FD's
 * encryption.keyFile is switched to the new private key.
 */
export async function remoteKeyRotate(args: RemoteArgs & { client?: string; new?: string; keyring?: string }, out: Output): Promise<number> {
  if (!args.client || !args.new) throw new CairnError('CAIRN_E_USAGE', 'key rotate with --config needs --client NAME (whose jobs) and --new FILE (the key to rotate to; only its public half is sent)', {});
  const { describeKey, publicKeyOf, readKeyFile, writeKeyringFile } = await import('../../core/index.js');
  const next = readKeyFile(resolve(args.new));
  const d = describeKey(publicKeyOf(next));
  type Reply = { client: string; to: string; rewrapped: number; skipped: number; failed: Array<{ jobId: number; code: string; message: string }>; keyring: Array<{ jobId: number; wrap: import('../../core/index.js').KeyWrap }> };
  const r = await withDirector(args, out, async (ch) => (await ch.request('key rotate', { client: args.client, recipient: { boxPublicKey: d.boxPublicKey, signPublicKey: d.signPublicKey } })).body as Reply);
  const keyring = resolve(args.keyring ?? `keyring-${r.to.slice(0, 8)}.json`);
  writeKeyringFile(keyring, r.keyring);
  const { keyring: _wraps, ...summary } = r;
  out.data({ ...summary, keyring }, () =>
    [
      `client ${r.client}: data keys of ${r.rewrapped} job(s) wrapped to key ${r.to} (catalog, and keyring ${keyring})${r.skipped ? `; ${r.skipped} already were` : ''}`,
      ...r.failed.map((f) => `  job ${f.jobId}: not re-wrapped: ${f.code}: ${f.message}`),
      `next: set encryption.keyFile in ${r.client}'s cairn-fd.yaml to the new private key and restart cairn-fd`,
    ].join('\n'),
  );
  return r.failed.length ? 1 : 0;
}

/** `protect TARGET [--off]` through the Director: a job never pruned, a volume never recycled. */
export async function remoteProtect(args: RemoteArgs & { target: string; off: boolean }, out: Output): Promise<number> {
  const { protectionText } = await import('../retention/protection.js');
  const r = await withDirector(args, out, async (ch) => (await ch.request('protect', { target: args.target, off: args.off })).body as import('../retention/protection.js').ProtectionResult);
  out.data(r, () => protectionText(r));
  return 0;
}

/** Tape media commands through the Director (protocol.md §10): media, mount, unmount, label on a storage's SD. */
export async function remoteMedia(op: 'media' | 'mount' | 'unmount' | 'label', args: RemoteArgs & { storage?: string; device?: string; slot?: number; name?: string; pool?: string; scan?: boolean }, out: Output): Promise<Record<string, unknown>> {
  if (!args.storage) throw new CairnError('CAIRN_E_USAGE', `${op} with --config needs --storage NAME (the Director's storages[].name)`, {});
  return withDirector(args, out, async (ch) => (await ch.request(op, { storage: args.storage, device: args.device, slot: args.slot, name: args.name, pool: args.pool, scan: args.scan })).body as Record<string, unknown>);
}
