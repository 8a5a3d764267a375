/**
 * Restore selection: which file versions make up the tree as at a job (its
 * chain Full → Differential → Incrementals, later versions winning, deletions
 * hiding), filtered by the paths asked for, grouped per job as file-index
 * ranges, and turned into a bootstrap per job from its job-media ranges.
 */
import { Buffer } from 'node:buffer';
import { displayPath, pathBytes } from '../../plugin-api/index.js';
import type { Bootstrap, JobMediaRange } from '../../sd/index.js';
import type { Catalog, CatalogTreeRow } from '../catalog/index.js';

export interface Selection {
  /** jobId → sorted file indexes selected from that job. */
  perJob: Map<number, number[]>;
  /** `jobId:fileIndex` → display path, for naming what did not come back. */
  names: Map<string, string>;
  count: number;
  bytes: number;
}

/** True when `p` is `filter` or lies under it (component-wise, on bytes). */
function underFilter(p: Uint8Array, filters: Buffer[]): boolean {
  if (filters.length === 0) return true;
  const b = Buffer.from(p.buffer, p.byteOffset, p.byteLength);
  return filters.some((f) => b.equals(f) || (b.length > f.length && b.subarray(0, f.length).equals(f) && (b[f.length] === 0x2f || f[f.length - 1] === 0x2f)));
}

export async function selectFiles(catalog: Catalog, chainIds: number[], paths: string[], onRow?: (r: CatalogTreeRow) => void): Promise<Selection> {
  const filters = paths.map((p) => pathBytes(p.length > 1 ? p.replace(/\/+$/, '') : p));
  const sel: Selection = { perJob: new Map(), names: new Map(), count: 0, bytes: 0 };
  const sources = filters.length ? filters.map((prefix) => catalog.treeAsAt(chainIds, { prefix })) : [catalog.treeAsAt(chainIds)];
  const seen = new Set<string>();
  const selectedPaths = new Set<string>();
  /** Hard links whose first member (the one holding the data) may lie outside the paths asked for. */
  const linkTargets: Buffer[] = [];
  const take = (row: CatalogTreeRow): void => {
    const key = `${row.jobId}:${row.fileIndex}`;
    if (seen.has(key)) return;
    seen.add(key);
    selectedPaths.add(Buffer.from(row.path).toString('latin1'));
    if (row.kind === 'hardlink' && row.hardlinkTarget) linkTargets.push(Buffer.from(row.hardlinkTarget));
    let list = sel.perJob.get(row.jobId);
    if (!list) sel.perJob.set(row.jobId, (list = []));
    list.push(row.fileIndex);
    sel.names.set(key, displayPath(row.path));
    sel.count++;
    sel.bytes += row.kind === 'file' ? row.stat.size : 0;
    onRow?.(row);
  };
  for (const rows of sources) {
    for await (const row of rows) if (underFilter(row.path, filters)) take(row);
  }
  // Like Bacula, restoring a hard link brings its first member along: the link has no data of its own.
  for (const target of linkTargets) {
    if (selectedPaths.has(target.toString('latin1'))) continue;
    for await (const row of catalog.treeAsAt(chainIds, { prefix: target })) if (Buffer.from(row.path).equals(target)) take(row);
  }
  for (const list of sel.perJob.values()) list.sort((a, b) => a - b);
  return sel;
}

/** Sorted indexes → inclusive ranges. */
export function toRanges(sorted: number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && i === last[1] + 1) last[1] = i;
    else out.push([i, i]);
  }
  return out;
}

/** The bootstrap for one job: its job-media ranges that hold any selected index; all of them when `indexes` is absent. */
export function bootstrapFor(media: JobMediaRange[], indexes?: number[]): Bootstrap {
  const ranges = indexes ? toRanges(indexes) : undefined;
  const entries: Bootstrap['entries'] = [];
  for (const m of media) {
    const wanted = ranges?.filter(([a, b]) => b >= m.firstIndex && a <= m.lastIndex);
    if (ranges && wanted!.length === 0) continue;
    entries.push({ volume: m.volume, sessionId: m.sessionId, startFile: m.startFile, startBlock: m.startBlock, endFile: m.endFile, endBlock: m.endBlock, fileIndexes: wanted });
  }
  return { entries };
}
