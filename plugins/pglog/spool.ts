/**
 * The spool folder the cluster's archive_command copies WAL into: what it
 * holds, waiting for a segment to arrive, and removing what no later backup
 * needs. Files are named as PostgreSQL names them; anything else (a copy in
 * progress, `*.tmp`) is ignored and never deleted.
 */
import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CairnError } from '../../plugin-api/index.js';
import { parseSegmentName, segmentOf, spoolKind } from './wal-segment.js';
import type { ArchiverStatus } from './server.js';

/** Names of the WAL files (segments, `.history`, `.backup`, `.partial`) in the spool. */
export async function listSpool(dir: string): Promise<Set<string>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new CairnError('CAIRN_E_PGLOG_SPOOL', `cannot read the WAL spool folder ${dir}: ${(err as Error).message}`, { spool: dir, errno: (err as NodeJS.ErrnoException).code }, { cause: err });
  }
  return new Set(names.filter((n) => spoolKind(n) !== 'other'));
}

export interface WaitOptions {
  timeoutMs: number;
  signal: AbortSignal;
  /** The archiver's status, for the message when the segment does not come. */
  archiver: () => Promise<ArchiverStatus>;
}

/**
 * Resolves once `name` is archived: it is in the spool (archive_command
 * renames a finished copy into place, so presence means complete), or the
 * archiver reports it or a later segment done — a switch with no WAL
 * written since the last one names a segment archived long ago, which a
 * committed Full may have removed from the spool since (whether a segment a
 * backup must ship is really there is checked afterwards, walToShip).
 * Polls: 50 ms at first, then up to 1 s between looks.
 */
export async function waitForSegment(dir: string, name: string, o: WaitOptions): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  let delay = 50;
  for (;;) {
    try {
      await stat(join(dir, name));
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new CairnError('CAIRN_E_PGLOG_SPOOL', `cannot look for ${name} in the WAL spool folder ${dir}: ${(err as Error).message}`, { spool: dir, segment: name }, { cause: err });
      }
    }
    const a = await o.archiver().catch(() => null);
    const done = a?.lastArchived ? segmentOf(a.lastArchived) : null;
    // Same-width uppercase hex: string order is (timeline, segment) order.
    if (done !== null && done >= name) return;
    if (Date.now() >= deadline) {
      const failing = a?.lastFailed ? `; the archiver's last failure was ${a.lastFailed} at ${a.lastFailedTime} (${a.failedCount} failures in all, see the server log)` : '';
      const last = a?.lastArchived ? `; last archived: ${a.lastArchived}` : '';
      throw new CairnError(
        'CAIRN_E_PGLOG_ARCHIVE_TIMEOUT',
        `WAL segment ${name} did not reach the spool ${dir} within ${Math.round(o.timeoutMs / 1000)} s of the WAL switch${last}${failing}: check archive_command`,
        { segment: name, spool: dir, lastArchived: a?.lastArchived ?? undefined, lastFailed: a?.lastFailed ?? undefined },
      );
    }
    await sleep(Math.min(delay, Math.max(1, deadline - Date.now())), undefined, { signal: o.signal });
    delay = Math.min(delay * 2, 1000);
  }
}

/**
 * Removes every spooled segment (and its `.backup`/`.partial` files) at or
 * before `boundary` on its timeline or an earlier one. `.history` files stay
 * (they are tiny and describe the timelines). Returns the names removed.
 */
export async function cleanSpool(dir: string, boundary: string, segmentSize: number): Promise<string[]> {
  const b = parseSegmentName(boundary, segmentSize);
  const removed: string[] = [];
  for (const name of await listSpool(dir)) {
    const seg = segmentOf(name);
    if (!seg) continue;
    const id = parseSegmentName(seg, segmentSize);
    if (id.timeline > b.timeline || id.segNo > b.segNo) continue;
    try {
      await unlink(join(dir, name));
      removed.push(name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return removed.sort();
}
