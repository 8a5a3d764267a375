/**
 * The virtual paths and entries a pglog backup reports, and their reading
 * back at restore. Per cluster (option `cluster`), under /pglog/<cluster>/:
 *   base.tar             the base backup (pg_basebackup -Ft, one tar, no WAL)
 *   wal/<name>           a WAL segment or timeline history file, by its own name
 *   backups/<jobId>      no data; its meta describes what that job shipped
 * Names are unique per segment and per job, so the restore's tree of a chain
 * (merged by path) holds the chain's one base and all its WAL.
 */
import { Buffer } from 'node:buffer';
import { pathBytes, type FileEntry, type StreamDesc } from '../../plugin-api/index.js';

export const ROOT = '/pglog';

/** What a backup job shipped, as the meta of its backups/<jobId> entry. */
export interface BackupLabel {
  jobId: number;
  level: string;
  /** True when the job holds a base backup (a Full, or an Incremental/Differential forced to take one). */
  hasBase: boolean;
  systemId: string;
  timeline: number;
  segmentSize: number;
  serverVersion: string;
  /** First and last WAL segment the job shipped (null when there was no new WAL). */
  firstSegment: string | null;
  lastSegment: string | null;
  /** Server time (ISO 8601) just before the final WAL switch: commits up to it are in the shipped WAL. */
  walEnd: string;
  base?: {
    startLsn: string;
    startSegment: string;
    checkpointLsn: string;
    /** Server time (ISO 8601) once pg_basebackup had finished: the base is consistent by then. */
    consistentBy: string;
    tarBytes: number;
  };
}

export type ParsedPath =
  | { cluster: string; kind: 'base' }
  | { cluster: string; kind: 'wal'; name: string }
  | { cluster: string; kind: 'label'; jobId: number };

function fileEntry(path: string, size: number, mtimeMs: number, streams: StreamDesc[], meta?: Record<string, unknown>): FileEntry {
  const ns = BigInt(Math.round(mtimeMs)) * 1_000_000n;
  return {
    path: pathBytes(path),
    kind: 'file',
    stat: { mode: 0o100600, uid: 0, gid: 0, size, mtimeNs: ns, atimeNs: ns, ctimeNs: ns, dev: 0n, ino: 0n, nlink: 1, rdev: 0 },
    streams,
    ...(meta ? { meta } : {}),
  };
}

export function baseEntry(cluster: string, startedMs: number): FileEntry {
  return fileEntry(`${ROOT}/${cluster}/base.tar`, 0, startedMs, [{ index: 0, name: 'base', layout: 'sequential' }]);
}

export function walEntry(cluster: string, name: string, size: number, mtimeMs: number): FileEntry {
  return fileEntry(`${ROOT}/${cluster}/wal/${name}`, size, mtimeMs, [{ index: 0, name: 'wal', layout: 'sequential', size }], { segment: name });
}

export function labelEntry(cluster: string, label: BackupLabel, nowMs: number): FileEntry {
  return fileEntry(`${ROOT}/${cluster}/backups/${label.jobId}`, 0, nowMs, [], label as unknown as Record<string, unknown>);
}

export function parsePath(path: Uint8Array): ParsedPath | null {
  const p = Buffer.from(path.buffer, path.byteOffset, path.byteLength).toString('utf8');
  const m = /^\/pglog\/([A-Za-z0-9_][A-Za-z0-9_.-]{0,62})\/(?:(base\.tar)|wal\/([0-9A-F]{24}|[0-9A-F]{8}\.history)|backups\/(\d+))$/.exec(p);
  if (!m) return null;
  if (m[2]) return { cluster: m[1], kind: 'base' };
  if (m[3]) return { cluster: m[1], kind: 'wal', name: m[3] };
  return { cluster: m[1], kind: 'label', jobId: Number(m[4]) };
}
