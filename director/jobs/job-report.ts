/**
 * The job report: what every job prints (text or --json) and stores in the
 * catalog. Exit codes per outcome are fixed and documented (docs/cli.md):
 * OK 0, OK with warnings 1, usage/config error 2, Error 3, Cancelled 4,
 * repository locked 5.
 */
import type { JobStatus } from '../../plugin-api/index.js';

export const EXIT_CODES: Record<JobStatus, number> = { ok: 0, warning: 1, error: 3, cancelled: 4 };

export interface ReportProblem {
  path?: string;
  code: string;
  text: string;
  volume?: string;
  block?: number;
}

export interface JobReport {
  jobId: number;
  name: string;
  type: 'backup' | 'restore' | 'verify';
  level?: string;
  /** Set when the level differs from the one asked for, with the reason. */
  levelUpgraded?: { from: string; reason: string };
  status: JobStatus;
  exitCode: number;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  files: number;
  deleted?: number;
  bytes: number;
  storedBytes?: number;
  /** bytes per second over the job's duration */
  rate: number;
  volumes?: string[];
  /** A mirrored backup: the copy's device and volumes (restore it with `--copy 1`). */
  mirror?: Array<{ device: string; volumes: string[] }>;
  baseJobId?: number;
  chain?: number[];
  where?: string;
  /** An encrypted backup: its cipher, the fingerprints its data key was wrapped to, and its manifest's signer. */
  encryption?: { cipher: string; sealedFor: string[]; signer: string };
  /**
   * Backup: `log` when one of its agents restores log-type (manifest
   * restoreKind, plugin API 1.3), so a restore as at a time reads through
   * the first backup that ended after it. Absent for `files`.
   */
  restoreKind?: 'log';
  /** Restore: the time log-type agents recovered up to (ISO 8601). */
  recoveryTarget?: string;
  warnings: ReportProblem[];
  problems: ReportProblem[];
  /** Backup jobs: the bootstrap file written after the job (docs/bootstrap.md). */
  bootstrap?: string;
  /** Verify jobs: the level and what was counted (blocks, records, files changed…). */
  verify?: { level: 'catalog' | 'volume' | 'data'; [count: string]: unknown };
  error?: { code: string; message: string; [fact: string]: unknown };
}

export function statusWord(s: JobStatus): string {
  return { ok: 'OK', warning: 'OK -- with warnings', error: 'Error', cancelled: 'Cancelled' }[s];
}

/** Bytes for a person: 1.5 MiB. */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** The text form, Bacula-like, for a terminal. */
export function formatReport(r: JobReport): string {
  const lines = [
    `  Job:              ${r.jobId} (${r.name})`,
    `  Type:             ${r.type}${r.level ? ` ${r.level}` : ''}`,
  ];
  if (r.levelUpgraded) lines.push(`  Level:            upgraded from ${r.levelUpgraded.from}: ${r.levelUpgraded.reason}`);
  if (r.baseJobId) lines.push(`  Based on job:     ${r.baseJobId}`);
  if (r.chain && r.chain.length) lines.push(`  Jobs read:        ${r.chain.join(', ')}`);
  if (r.where) lines.push(`  Restored to:      ${r.where}`);
  if (r.recoveryTarget) lines.push(`  Recovery target:  ${r.recoveryTarget}`);
  lines.push(
    `  Start / end:      ${r.startedAt} / ${r.endedAt} (${(r.durationMs / 1000).toFixed(1)} s)`,
    `  Files:            ${r.files}${r.deleted ? ` (+${r.deleted} deletions recorded)` : ''}`,
    `  Bytes:            ${humanBytes(r.bytes)}${r.storedBytes !== undefined ? ` (stored ${humanBytes(r.storedBytes)})` : ''}`,
    `  Rate:             ${humanBytes(r.rate)}/s`,
  );
  if (r.volumes?.length) lines.push(`  Volumes:          ${r.volumes.join(', ')}`);
  for (const w of r.warnings.slice(0, 50)) lines.push(`  Warning:          ${w.path ? `${w.path}: ` : ''}${w.text}${w.code ? ` [${w.code}]` : ''}`);
  if (r.warnings.length > 50) lines.push(`  …and ${r.warnings.length - 50} more warnings (see --json)`);
  for (const p of r.problems.slice(0, 50)) lines.push(`  Failed:           ${p.path ?? '(unknown file)'}: ${p.text}${p.volume ? ` (volume ${p.volume}, block ${p.block})` : ''} [${p.code}]`);
  if (r.problems.length > 50) lines.push(`  …and ${r.problems.length - 50} more (see --json)`);
  if (r.error) lines.push(`  Error:            ${r.error.message} [${r.error.code}]`);
  lines.push(`  Status:           ${statusWord(r.status)}`);
  return lines.join('\n');
}
