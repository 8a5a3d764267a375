/**
 * Conversions between catalog rows (types.ts) and column values. Drivers may
 * return integers as number, bigint or string and booleans as 0/1 or
 * true/false; these helpers accept all of them. dev and ino are unsigned
 * 64-bit on the host but stored in a signed BIGINT, so they wrap on the way in
 * and unwrap on the way out.
 */
import { Buffer } from 'node:buffer';
import { type BaseFile, type FileKind, treeKey } from '../../plugin-api/index.js';
import type { Row, SqlValue } from './driver.js';
import type { CatalogFileRow, CatalogJob, CatalogTreeRow, CatalogVolume } from './types.js';

export function toNum(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') return Number(v);
  throw new TypeError(`expected an integer column, got ${typeof v}`);
}
export function toNumOrNull(v: unknown): number | null {
  return v == null ? null : toNum(v);
}
export function toBig(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' || typeof v === 'string') return BigInt(v);
  throw new TypeError(`expected an integer column, got ${typeof v}`);
}
export function toBool(v: unknown): boolean {
  return v === true || v === 1 || v === 1n || v === '1' || v === 't';
}
export function toBytes(v: unknown): Buffer | null {
  if (v == null) return null;
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw new TypeError(`expected a blob column, got ${typeof v}`);
}
export function toDateOrNull(v: unknown): Date | null {
  return v == null ? null : new Date(toNum(v));
}
export function jsonOrNull<T>(v: unknown): T | null {
  return v == null ? null : (JSON.parse(String(v)) as T);
}
export function bytes(v: Uint8Array | null | undefined): Buffer | null {
  return v == null ? null : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

const U64 = (v: unknown): bigint => BigInt.asUintN(64, toBig(v));
const I64 = (v: bigint): bigint => BigInt.asIntN(64, v);

export const FILE_KINDS: readonly FileKind[] = ['file', 'dir', 'symlink', 'hardlink', 'fifo', 'chardev', 'blockdev', 'socket', 'deleted'];

/** Column order used by insertFiles; must match fileParams(). */
export const FILE_COLUMNS = [
  'job_id', 'file_index', 'path', 'tree_key', 'agent', 'kind', 'deleted', 'mode', 'uid', 'gid', 'size',
  'mtime_ns', 'atime_ns', 'ctime_ns', 'dev', 'ino', 'nlink', 'rdev', 'link_target', 'hardlink_target', 'meta', 'digest',
] as const;

export function fileParams(jobId: number, r: CatalogFileRow): SqlValue[] {
  const s = r.stat;
  return [
    jobId, r.fileIndex, bytes(r.path), treeKey(r.path), r.agent, r.kind, r.kind === 'deleted', s.mode, s.uid, s.gid, s.size,
    s.mtimeNs, s.atimeNs, s.ctimeNs, I64(s.dev), I64(s.ino), s.nlink, s.rdev,
    bytes(r.linkTarget), bytes(r.hardlinkTarget), r.meta == null ? null : JSON.stringify(r.meta), bytes(r.digest),
  ];
}

export function fileFromRow(row: Row): CatalogFileRow {
  return {
    fileIndex: toNum(row.file_index),
    path: toBytes(row.path) as Buffer,
    agent: String(row.agent),
    kind: String(row.kind) as FileKind,
    stat: {
      mode: toNum(row.mode),
      uid: toNum(row.uid),
      gid: toNum(row.gid),
      size: toNum(row.size),
      mtimeNs: toBig(row.mtime_ns),
      atimeNs: toBig(row.atime_ns),
      ctimeNs: toBig(row.ctime_ns),
      dev: U64(row.dev),
      ino: U64(row.ino),
      nlink: toNum(row.nlink),
      rdev: toNum(row.rdev),
    },
    linkTarget: toBytes(row.link_target),
    hardlinkTarget: toBytes(row.hardlink_target),
    meta: jsonOrNull<Record<string, unknown>>(row.meta),
    digest: toBytes(row.digest),
  };
}

export function baseFromRaw(row: Row): BaseFile {
  return {
    path: toBytes(row.path) as Buffer,
    kind: String(row.kind) as FileKind,
    size: toNum(row.size),
    mtimeNs: toBig(row.mtime_ns),
    ctimeNs: toBig(row.ctime_ns),
    ino: U64(row.ino),
    dev: U64(row.dev),
    mode: toNum(row.mode),
  };
}

export function treeRowFromRow(row: Row): CatalogTreeRow {
  return Object.assign(fileFromRow(row), { jobId: toNum(row.job_id) });
}

export function jobFromRow(row: Row): CatalogJob {
  return {
    id: toNum(row.id),
    name: String(row.name),
    type: String(row.type) as CatalogJob['type'],
    level: row.level == null ? null : (String(row.level) as CatalogJob['level']),
    client: String(row.client),
    fileset: row.fileset == null ? null : String(row.fileset),
    filesetHash: row.fileset_hash == null ? null : String(row.fileset_hash),
    pool: row.pool == null ? null : String(row.pool),
    status: String(row.status) as CatalogJob['status'],
    startedAt: new Date(toNum(row.started_at)),
    endedAt: toDateOrNull(row.ended_at),
    files: toNum(row.files),
    bytes: toNum(row.bytes),
    readBytes: toNum(row.read_bytes),
    errors: toNum(row.errors),
    sessionId: toNumOrNull(row.session_id),
    report: jsonOrNull<Record<string, unknown>>(row.report),
    protected: row.protected == null ? false : toBool(row.protected),
    filesPruned: row.files_pruned == null ? false : toBool(row.files_pruned),
    logChain: row.log_chain == null ? false : toBool(row.log_chain),
  };
}

export function volumeFromRow(row: Row): CatalogVolume {
  return {
    name: String(row.name),
    pool: String(row.pool),
    mediaType: String(row.media_type),
    status: String(row.status) as CatalogVolume['status'],
    committedBytes: toNum(row.committed_bytes),
    committedBlocks: toNum(row.committed_blocks),
    jobs: toNum(row.jobs),
    firstWritten: toDateOrNull(row.first_written),
    lastWritten: toDateOrNull(row.last_written),
    label: jsonOrNull<Record<string, unknown>>(row.label),
    protected: row.protected == null ? false : toBool(row.protected),
    recycleCount: row.recycle_count == null ? 0 : toNum(row.recycle_count),
    purgedAt: toDateOrNull(row.purged_at),
  };
}
