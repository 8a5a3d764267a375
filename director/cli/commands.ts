/**
 * The local-mode console commands. Each opens the repository, takes the
 * write lock where it writes, runs one job and prints its report.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CairnError, displayPath, pathBytes, type Level, type ReplacePolicy } from '../../plugin-api/index.js';
import { parseFileset, filesetFromObject, parseOptionArgs, readKeyFile, readKeyringFile, type Fileset } from '../../core/index.js';
import { LocalRepository, REPO_FILE, defaultRepoPath, initRepository } from '../local/repository.js';
import { RepoLock } from '../local/repo-lock.js';
import { runBackupJob } from '../jobs/backup-job.js';
import { estimateJob, formatEstimate } from '../jobs/estimate-job.js';
import { runRestoreJob, runVerifyJob } from '../jobs/restore-job.js';
import { resolveBackupJob, resolveRestorePoint } from '../jobs/resolve-job.js';
import { runVolumeVerifyJob } from '../jobs/verify-volume-job.js';
import { parseBootstrap } from '../jobs/bootstrap-file.js';
import { runBootstrapRestore } from '../jobs/bootstrap-restore.js';
import { runCatalogVerifyJob } from '../jobs/verify-catalog-job.js';
import type { JobReport } from '../jobs/job-report.js';
import { humanBytes, type Output } from './output.js';

export interface CommonArgs {
  repo?: string;
  json: boolean;
  wait: boolean;
}

export async function withRepo<T>(args: CommonArgs, command: string, write: boolean, out: Output, fn: (repo: LocalRepository) => Promise<T>): Promise<T> {
  const path = defaultRepoPath(args.repo);
  if (!existsSync(join(path, REPO_FILE))) {
    if (command !== 'backup') {
      throw new CairnError('CAIRN_E_REPO_NOT_FOUND', `no Cairn repository at ${path} (create one with \`cairn init --repo ${path}\`, or pass --repo / set CAIRN_REPO)`, { repo: path });
    }
    initRepository(path);
  }
  const lock = write
    ? await RepoLock.acquire(path, command, { wait: args.wait, onWait: (h) => !args.json && process.stderr.write(`cairn: waiting for pid ${h.pid} (${h.command}) to release ${path}\n`) })
    : null;
  try {
    const repo = await LocalRepository.open(path);
    try {
      if (lock) await repo.recoverInterruptedJobs();
      return await fn(repo);
    } finally {
      await repo.close();
    }
  } finally {
    lock?.release();
    out.endProgress();
  }
}

function cancelSignal(): AbortSignal {
  const c = new AbortController();
  const onSig = () => c.abort(new CairnError('CAIRN_E_JOB_CANCELLED', 'cancelled by signal', {}));
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  return c.signal;
}

export async function cmdInit(args: CommonArgs & { encrypt?: boolean; key?: string; masterPublicKey?: string[]; cipher?: string; vtape?: string; slots?: number; capacity?: number; filemarkBytes?: number; spool?: boolean }, out: Output): Promise<number> {
  const device = args.vtape
    ? { type: 'vtape' as const, path: args.vtape, ...(args.slots !== undefined ? { slots: args.slots } : {}), ...(args.capacity !== undefined ? { capacity: args.capacity } : {}), ...(args.filemarkBytes !== undefined ? { filemarkBytes: args.filemarkBytes } : {}), ...(args.spool ? { spool: true } : {}) }
    : undefined;
  // Tape blocks: the SD's tape default, 256 KiB (docs/tape.md); file volumes keep the repository's 1 MiB.
  const settings = device ? { device, blockSize: 256 * 1024 } : {};
  if (args.encrypt) return (await import('./key-commands.js')).cmdInitEncrypted(args, out, settings);
  if (args.key || args.masterPublicKey?.length) throw new CairnError('CAIRN_E_USAGE', '--key and --master-public-key go with --encrypt', {});
  const path = defaultRepoPath(args.repo);
  const { created } = initRepository(path, settings);
  const repo = await LocalRepository.open(path);
  await repo.close();
  out.data({ repo: path, created }, () => (created ? `created repository ${path}` : `repository ${path} already exists`));
  return 0;
}

/** The fileset of a local command: a --fileset file, or PATHs as one fs agent line. */
function filesetOfArgs(args: { paths: string[]; fileset?: string }): Fileset {
  if (args.fileset) {
    if (args.paths.length) throw new CairnError('CAIRN_E_USAGE', 'give either PATHs or --fileset, not both', {});
    return parseFileset(readFileSync(args.fileset, 'utf8'), args.fileset);
  }
  if (!args.paths.length) throw new CairnError('CAIRN_E_USAGE', 'nothing to back up: give one or more PATHs or --fileset FILE', {});
  const include = args.paths.map((p) => resolve(p));
  return filesetFromObject({ name: `paths-${createHash('sha256').update(include.join('\0')).digest('hex').slice(0, 8)}`, include }, 'command line');
}

/** `cairn estimate PATH… | --fileset FILE [--level L] [--name N]`: what `cairn backup` would send, nothing read or sent. */
export async function cmdEstimate(args: CommonArgs & { target?: string[]; fileset?: string; level?: Level; name?: string }, out: Output): Promise<number> {
  const fileset = filesetOfArgs({ paths: args.target ?? [], fileset: args.fileset });
  const r = await withRepo(args, 'estimate', false, out, (repo) => estimateJob(repo, { fileset, jobName: args.name ?? fileset.name, level: args.level ?? 'incremental', signal: cancelSignal() }));
  out.data(r, () => formatEstimate(r));
  return 0;
}

export async function cmdBackup(args: CommonArgs & { paths: string[]; fileset?: string; level: Level; name?: string; option?: string[] }, out: Output): Promise<number> {
  const agentOptions = parseOptionArgs(args.option);
  const fileset = filesetOfArgs(args);
  const jobName = args.name ?? fileset.name;
  const started = Date.now();
  const report = await withRepo(args, 'backup', true, out, (repo) =>
    runBackupJob(repo, {
      fileset,
      jobName,
      level: args.level,
      agentOptions,
      signal: cancelSignal(),
      onProgress: (c) => {
        if (!out.live) return;
        const rate = c.bytes / Math.max((Date.now() - started) / 1000, 0.001);
        out.progress({ op: 'backup', files: c.files, bytes: c.bytes, rate }, () => `backup: ${c.files} files, ${humanBytes(c.bytes)} (${humanBytes(rate)}/s)`);
      },
    }),
  );
  out.endProgress();
  out.report(report);
  return report.exitCode;
}

export async function cmdJobs(args: CommonArgs & { limit: number }, out: Output): Promise<number> {
  return withRepo(args, 'jobs', false, out, async (repo) => {
    const jobs = await repo.catalog.listJobs({ limit: args.limit });
    // Retention as a prune would see it now: when job retention lets each job go, and whether a rule keeps it.
    const plan = new Map((await repo.prune({ dryRun: true })).jobs.map((j) => [j.id, j]));
    const rows = jobs.map((j) => ({ ...j, report: undefined, expiresAt: plan.get(j.id)?.expiresAt ?? null, retention: { action: plan.get(j.id)?.action, reasons: plan.get(j.id)?.reasons } }));
    out.data(rows, () =>
      [
        'JobId  Name                  Type     Level         Status    Files      Bytes        Started                   Expires',
        ...rows.map((j) =>
          `${String(j.id).padEnd(6)} ${j.name.slice(0, 21).padEnd(21)} ${j.type.padEnd(8)} ${(j.level ?? '-').padEnd(13)} ${j.status.padEnd(9)} ${String(j.files).padEnd(10)} ${humanBytes(j.bytes).padEnd(12)} ${j.startedAt.toISOString()}  ${j.protected ? 'protected' : j.expiresAt ?? (j.retention.action === 'remove' ? 'at next prune' : '-')}`,
        ),
      ].join('\n'),
    );
    return 0;
  });
}

export async function cmdLs(args: CommonArgs & { job: string; path?: string; asAt?: string }, out: Output): Promise<number> {
  return withRepo(args, 'ls', false, out, async (repo) => {
    const { job } = await resolveRestorePoint(repo.catalog, args.job, { asAt: args.asAt ? parseTime(args.asAt) : undefined });
    const chain = (await repo.catalog.restoreChain(job)).map((j) => j.id);
    const prefix = args.path ? pathBytes(args.path.length > 1 ? args.path.replace(/\/+$/, '') : args.path) : undefined;
    const rows = [];
    for await (const r of repo.catalog.treeAsAt(chain, prefix ? { prefix } : {})) {
      const entry = { path: displayPath(r.path), kind: r.kind, size: r.stat.size, mode: r.stat.mode, mtime: new Date(Number(r.stat.mtimeNs / 1_000_000n)).toISOString(), jobId: r.jobId };
      if (args.json) rows.push(entry);
      else process.stdout.write(`${modeString(r.kind, r.stat.mode)} ${String(r.stat.size).padStart(12)} ${entry.mtime} ${entry.path}${r.linkTarget ? ` -> ${displayPath(r.linkTarget)}` : ''}\n`);
    }
    if (args.json) process.stdout.write(JSON.stringify({ jobId: job.id, chain, files: rows }) + '\n');
    return 0;
  });
}

export async function cmdRestore(
  args: CommonArgs & { job?: string; to: string; paths: string[]; asAt?: string; replace: ReplacePolicy; dryRun: boolean; key?: string[]; keyring?: string[]; bootstrap?: string; option?: string[] },
  out: Output,
): Promise<number> {
  const agentOptions = parseOptionArgs(args.option);
  const started = Date.now();
  if (args.keyring?.length && !args.bootstrap) throw new CairnError('CAIRN_E_USAGE', '--keyring goes with --bootstrap (a restore from the catalog takes later wraps from the catalog)', { option: 'keyring' });
  if (args.bootstrap) {
    if (args.job !== undefined || args.paths.length || args.asAt || args.dryRun) throw new CairnError('CAIRN_E_USAGE', 'restore --bootstrap FILE takes no job, paths, --as-at or --dry-run: the file names what to restore', {});
    const file = args.bootstrap;
    const doc = parseBootstrap(readFileSync(file, 'utf8'), file);
    const keys = await (await import('./key-commands.js')).restoreKeys(args.key, defaultRepoPath(args.repo), args.json);
    const wraps = (args.keyring ?? []).flatMap((f) => readKeyringFile(f));
    const report = await withRepo(args, 'restore', true, out, (repo) =>
      runBootstrapRestore(repo, {
        bootstrap: doc, to: args.to, replace: args.replace, signal: cancelSignal(), keys, wraps, scan: (volume, opts) => repo.sd.scanVolume(volume, opts),
        onFile: (_p, bytes) => out.live && out.progress({ op: 'restore', bytes, rate: bytes / Math.max((Date.now() - started) / 1000, 0.001) }, () => `restore: ${humanBytes(bytes)}`),
      }),
    );
    out.endProgress();
    out.report(report);
    return report.exitCode;
  }
  if (args.job === undefined) throw new CairnError('CAIRN_E_USAGE', 'cairn restore needs its BACKUP argument (a job id or "latest"), or --bootstrap FILE', { argument: 'backup' });
  const listing: string[] = [];
  const keys = args.dryRun ? [] : await (await import('./key-commands.js')).restoreKeys(args.key, defaultRepoPath(args.repo), args.json);
  const report: JobReport & { entries?: string[] } = await withRepo(args, 'restore', !args.dryRun, out, async (repo) => {
    const { job, recoveryTarget } = await resolveRestorePoint(repo.catalog, args.job as string, { asAt: args.asAt ? parseTime(args.asAt) : undefined });
    return runRestoreJob(repo, {
      onVolumes: (v) => process.stderr.write(args.json ? `${JSON.stringify({ event: 'volumes', op: 'restore', volumes: v })}\n` : `cairn: this restore reads ${v.length} volume(s): ${v.join(', ')}\n`),
      job,
      recoveryTarget,
      to: args.to,
      paths: args.paths,
      replace: args.replace,
      agentOptions,
      dryRun: args.dryRun,
      keys,
      onListEntry: args.json ? (r) => listing.push(displayPath(r.path)) : (r) => process.stdout.write(`${displayPath(r.path)}\n`),
      signal: cancelSignal(),
      onFile: (_p, bytes) => {
        if (!out.live) return;
        const rate = bytes / Math.max((Date.now() - started) / 1000, 0.001);
        out.progress({ op: 'restore', bytes, rate }, () => `restore: ${humanBytes(bytes)} (${humanBytes(rate)}/s)`);
      },
    });
  });
  out.endProgress();
  if (args.dryRun && args.json) report.entries = listing;
  out.report(report);
  return report.exitCode;
}

export async function cmdVerify(args: CommonArgs & { job: string; level: 'catalog' | 'volume' | 'data'; key?: string[] }, out: Output): Promise<number> {
  const keys = args.level === 'data' || args.level === undefined ? await (await import('./key-commands.js')).restoreKeys(args.key, defaultRepoPath(args.repo), args.json) : [];
  // Volume level: no key opens anything; a key file (a public one suffices) whose fingerprint is the signer's anchors the manifest's signature.
  const signerKeys = args.level === 'volume' ? (args.key ?? []).map((f) => readKeyFile(f)) : [];
  const report = await withRepo(args, 'verify', false, out, async (repo) => {
    const job = await resolveBackupJob(repo.catalog, args.job);
    if (args.level === 'volume') return runVolumeVerifyJob(repo, job, { signerKeys });
    if (args.level === 'catalog') return runCatalogVerifyJob(repo, job);
    return runVerifyJob(repo, job, cancelSignal(), { keys });
  });
  out.report(report);
  return report.exitCode;
}

function parseTime(s: string): Date {
  const d = /^\d+$/.test(s) ? new Date(Number(s) * 1000) : new Date(s);
  if (Number.isNaN(d.getTime())) throw new CairnError('CAIRN_E_USAGE', `--as-at "${s}" is not a time (use ISO 8601, e.g. 2026-11-22T10:00:00Z, or epoch seconds)`, { asAt: s });
  return d;
}

function modeString(kind: string, mode: number): string {
  const t = { file: '-', dir: 'd', symlink: 'l', hardlink: 'h', fifo: 'p', chardev: 'c', blockdev: 'b', socket: 's', deleted: 'D' }[kind] ?? '?';
  const rwx = (m: number) => `${m & 4 ? 'r' : '-'}${m & 2 ? 'w' : '-'}${m & 1 ? 'x' : '-'}`;
  return t + rwx(mode >> 6) + rwx(mode >> 3) + rwx(mode);
}
