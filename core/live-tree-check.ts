/**
 * Verify at level `catalog` on the File Daemon (Bacula's DiskToCatalog):
 * the live files of this host against the tree the catalog holds as at a
 * backup job. Each expected path is looked up (lstat, no symlink followed)
 * and compared — kind, mode, owner, size, modification time and, for a
 * regular file with a digest, the SHA-256 of its live bytes. Every directory
 * of the tree is listed afterwards to find entries the backup did not have,
 * minus what the fileset's exclude globs leave out. Nothing is written.
 * Local mode calls it in process; a Director's `verify live` order streams
 * the expected tree to the FD in pages (protocol.md §9).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Buffer } from 'node:buffer';
import { CairnError, displayPath, type FileKind } from '../plugin-api/index.js';

/** One path of the catalog's tree, as the check needs it. */
export interface ExpectedEntry {
  path: Uint8Array;
  kind: FileKind;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeNs: bigint;
  /** SHA-256 of the file's data stream, when the catalog has it. */
  digest?: Uint8Array | null;
  /** The backup job that holds this version. */
  jobId: number;
}

export interface LiveProblem {
  path: string;
  code: 'CAIRN_E_VERIFY_MISSING' | 'CAIRN_E_VERIFY_MODIFIED' | 'CAIRN_E_VERIFY_NEW';
  text: string;
}

export interface LiveCheckResult {
  checked: number;
  modified: number;
  missing: number;
  new: number;
  /** Files whose bytes were hashed, and how many bytes that was. */
  digests: number;
  bytes: number;
  /** At most MAX_LIVE_PROBLEMS; the counts above are complete. */
  problems: LiveProblem[];
}

/** Problems listed at most (a tree that changed entirely would otherwise flood the report). */
export const MAX_LIVE_PROBLEMS = 10_000;

const KIND_OF_MODE: Record<number, string> = { 0o100000: 'file', 0o040000: 'dir', 0o120000: 'symlink', 0o010000: 'fifo', 0o020000: 'chardev', 0o060000: 'blockdev', 0o140000: 'socket' };

export async function checkLiveTree(
  rows: AsyncIterable<ExpectedEntry>,
  o: { excludes?: readonly string[]; signal?: AbortSignal; onProgress?: (files: number, bytes: number) => void } = {},
): Promise<LiveCheckResult> {
  const r: LiveCheckResult = { checked: 0, modified: 0, missing: 0, new: 0, digests: 0, bytes: 0, problems: [] };
  const note = (p: LiveProblem) => {
    if (r.problems.length < MAX_LIVE_PROBLEMS) r.problems.push(p);
  };
  const known = new Set<string>();
  const dirs: Buffer[] = [];
  for await (const row of rows) {
    if (o.signal?.aborted) throw o.signal.reason ?? new CairnError('CAIRN_E_JOB_CANCELLED', 'the verify was cancelled', {});
    const p = Buffer.from(row.path);
    known.add(p.toString('latin1'));
    r.checked++;
    const diff = await compare(row, p);
    if (diff.kind === 'missing') {
      r.missing++;
      note({ path: displayPath(row.path), code: 'CAIRN_E_VERIFY_MISSING', text: 'in the backup, gone from the client' });
      continue;
    }
    r.bytes += diff.read;
    if (diff.read) r.digests++;
    if (diff.changes.length) {
      r.modified++;
      note({ path: displayPath(row.path), code: 'CAIRN_E_VERIFY_MODIFIED', text: `changed since job ${row.jobId}: ${diff.changes.join(', ')}` });
    }
    if (row.kind === 'dir' && diff.isDir) dirs.push(p);
    o.onProgress?.(r.checked, r.bytes);
  }
  const excludes = o.excludes ?? [];
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
      r.new++;
      note({ path: shown, code: 'CAIRN_E_VERIFY_NEW', text: 'on the client, not in the backup' });
    }
  }
  return r;
}

/** How one live path differs from its catalog row; `read` = bytes hashed. */
async function compare(row: ExpectedEntry, p: Buffer): Promise<{ kind: 'missing' } | { kind: 'present'; changes: string[]; read: number; isDir: boolean }> {
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
  if ((Number(st.mode) & 0o7777) !== (row.mode & 0o7777)) changes.push(`mode ${(row.mode & 0o7777).toString(8)} → ${(Number(st.mode) & 0o7777).toString(8)}`);
  if (Number(st.uid) !== row.uid) changes.push(`uid ${row.uid} → ${st.uid}`);
  if (Number(st.gid) !== row.gid) changes.push(`gid ${row.gid} → ${st.gid}`);
  if (liveKind === 'file' && Number(st.size) !== row.size) changes.push(`size ${row.size} → ${st.size}`);
  if (liveKind !== 'symlink' && st.mtimeNs !== row.mtimeNs) changes.push('mtime');
  let read = 0;
  if (liveKind === 'file' && row.digest && Number(st.size) === row.size) {
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

/** A glob matches the whole path or its last component (as the fs agent's excludes do). */
function matches(p: string, glob: string): boolean {
  const m = (path as unknown as { matchesGlob?: (p: string, g: string) => boolean }).matchesGlob;
  if (!m) return false;
  return m(p, glob) || m(path.basename(p), glob);
}
