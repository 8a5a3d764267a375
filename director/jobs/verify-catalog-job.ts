/**
 * Verify at level `catalog` (Bacula's DiskToCatalog): the live files of the
 * client against the tree the catalog holds as at a backup job — what
 * changed since that backup. Each path of the tree is looked up (lstat, no
 * symlink followed) and compared: kind, mode, owner, size, modification time
 * and, for regular files with a digest, the SHA-256 of the live bytes. Every
 * directory of the tree is listed to find entries the backup did not have
 * (minus what the fileset's exclude globs leave out). Nothing is restored and
 * no volume is read. Runs where the client's files are: local mode.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Buffer } from 'node:buffer';
import { CairnError, displayPath, isCairnError } from '../../plugin-api/index.js';
import { parseFileset } from '../../core/index.js';
import type { CatalogJob, CatalogTreeRow } from '../catalog/index.js';
import type { JobPlumbing } from './job-plumbing.js';
import { EXIT_CODES, type JobReport, type ReportProblem } from './job-report.js';

const KIND_OF_MODE: Record<number, string> = { 0o100000: 'file', 0o040000: 'dir', 0o120000: 'symlink', 0o010000: 'fifo', 0o020000: 'chardev', 0o060000: 'blockdev', 0o140000: 'socket' };

export async function runCatalogVerifyJob(repo: JobPlumbing, job: CatalogJob): Promise<JobReport> {
  const catalog = repo.catalog;
  const started = new Date();
  const jobId = await catalog.createJob({ name: job.name, type: 'verify', level: null, client: repo.clientName, startedAt: started });
  const problems: ReportProblem[] = [];
  const counts = { checked: 0, modified: 0, missing: 0, new: 0, digests: 0 };
  let bytes = 0;
  let chain: number[] = [];
  let error: CairnError | undefined;
  try {
    chain = (await catalog.restoreChain(job)).map((j) => j.id);
    const excludes = await excludeGlobs(repo, job);
    const known = new Set<string>();
    const dirs: Buffer[] = [];
    for await (const row of catalog.treeAsAt(chain)) {
      const p = Buffer.from(row.path);
      known.add(p.toString('latin1'));
      counts.checked++;
      const diff = await compare(row, p);
      if (diff.kind === 'missing') {
        counts.missing++;
        problems.push({ path: displayPath(row.path), code: 'CAIRN_E_VERIFY_MISSING', text: 'in the backup, gone from the client' });
        continue;
      }
      bytes += diff.read;
      if (diff.read) counts.digests++;
      if (diff.changes.length) {
        counts.modified++;
        problems.push({ path: displayPath(row.path), code: 'CAIRN_E_VERIFY_MODIFIED', text: `changed since job ${row.jobId}: ${diff.changes.join(', ')}` });
      }
      if (row.kind === 'dir' && diff.isDir) dirs.push(p);
    }
    for (const d of dirs) {
      let names: Buffer[];
      try {
        names = await readdir(d, { encoding: 'buffer' });
      } catch {
        continue;
      }
      for (const n of names) {
        const child = Buffer.concat([d, Buffer.from(d[d.length - 1] === 0x2f ? '' : '/'), n]);
        if (known.has(child.toString('latin1'))) continue;
        const shown = displayPath(child);
        if (excludes.some((g) => matches(shown, g))) continue;
        counts.new++;
        problems.push({ path: shown, code: 'CAIRN_E_VERIFY_NEW', text: `on the client, not in the backup as at job ${job.id}` });
      }
    }
  } catch (err) {
    error = isCairnError(err) ? err : new CairnError('CAIRN_E_JOB_FAILED', (err as Error).message, { jobId }, { cause: err });
  }
  const status = error || problems.length ? 'error' : 'ok';
  const ended = new Date();
  const durationMs = Math.max(1, ended.getTime() - started.getTime());
  const report: JobReport = {
    jobId, name: job.name, type: 'verify', level: 'catalog', status, exitCode: EXIT_CODES[status], startedAt: started.toISOString(), endedAt: ended.toISOString(), durationMs,
    files: counts.checked, bytes, rate: Math.round((bytes * 1000) / durationMs), baseJobId: job.id, chain, warnings: [], problems,
    verify: { level: 'catalog', ...counts },
    error: error
      ? { code: error.code, message: error.message }
      : problems.length ? { code: 'CAIRN_E_VERIFY_FAILED', message: `${counts.modified} modified, ${counts.missing} missing, ${counts.new} new since job ${job.id}` } : undefined,
  };
  for (const p of problems.slice(0, 1000)) await catalog.addJobLog(jobId, { level: 'error', code: p.code, path: p.path ? Buffer.from(p.path) : undefined, text: p.text });
  await catalog.finishJob(jobId, { status, endedAt: ended, files: counts.checked, bytes, errors: problems.length, report: report as unknown as Record<string, unknown> });
  return report;
}

/** How one live path differs from its catalog row; `read` = bytes hashed. */
async function compare(row: CatalogTreeRow, p: Buffer): Promise<{ kind: 'missing' } | { kind: 'present'; changes: string[]; read: number; isDir: boolean }> {
  let st;
  try {
    st = await lstat(p, { bigint: true });
  } catch {
    return { kind: 'missing' };
  }
  const liveKind = KIND_OF_MODE[Number(st.mode) & 0o170000] ?? 'unknown';
  const wantKind = row.kind === 'hardlink' ? 'file' : row.kind;
  const changes: string[] = [];
  if (liveKind !== wantKind) return { kind: 'present', changes: [`kind ${wantKind} → ${liveKind}`], read: 0, isDir: false };
  if ((Number(st.mode) & 0o7777) !== (row.stat.mode & 0o7777)) changes.push(`mode ${(row.stat.mode & 0o7777).toString(8)} → ${(Number(st.mode) & 0o7777).toString(8)}`);
  if (Number(st.uid) !== row.stat.uid) changes.push(`uid ${row.stat.uid} → ${st.uid}`);
  if (Number(st.gid) !== row.stat.gid) changes.push(`gid ${row.stat.gid} → ${st.gid}`);
  if (liveKind === 'file' && Number(st.size) !== row.stat.size) changes.push(`size ${row.stat.size} → ${st.size}`);
  if (liveKind !== 'symlink' && st.mtimeNs !== row.stat.mtimeNs) changes.push('mtime');
  let read = 0;
  if (liveKind === 'file' && row.digest && Number(st.size) === row.stat.size) {
    const h = createHash('sha256');
    try {
      for await (const chunk of createReadStream(p)) {
        h.update(chunk as Buffer);
        read += (chunk as Buffer).length;
      }
      if (!h.digest().equals(Buffer.from(row.digest))) changes.push('content (SHA-256)');
    } catch (err) {
      changes.push(`unreadable: ${(err as Error).message}`);
    }
  }
  return { kind: 'present', changes, read, isDir: liveKind === 'dir' };
}

/** The exclude globs of the job's fileset (every agent line), when the catalog has its text. */
async function excludeGlobs(repo: JobPlumbing, job: CatalogJob): Promise<string[]> {
  if (!job.fileset || !job.filesetHash) return [];
  const fs = await repo.catalog.findFileset(job.fileset, job.filesetHash);
  if (!fs || !fs.text) return [];
  try {
    return parseFileset(fs.text).agents.flatMap((a) => a.exclude);
  } catch {
    return [];
  }
}

/** A glob matches the whole path or its last component (as the fs agent's excludes do). */
function matches(p: string, glob: string): boolean {
  const m = (path as unknown as { matchesGlob?: (p: string, g: string) => boolean }).matchesGlob;
  if (!m) return false;
  return m(p, glob) || m(path.basename(p), glob);
}
