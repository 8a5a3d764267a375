/**
 * Adapts catalog rows to the plugin API's BaseFile (what an agent sees of its
 * base job), so the Director can hand treeAsAt() straight to BaseJob.files().
 */
import type { BaseFile } from '../../plugin-api/index.js';
import type { Row } from './driver.js';
import { baseFromRaw } from './row-codec.js';
import type { CatalogFileRow } from './types.js';

export function toBaseFile(r: CatalogFileRow): BaseFile {
  return {
    path: r.path,
    kind: r.kind,
    size: r.stat.size,
    mtimeNs: r.stat.mtimeNs,
    ctimeNs: r.stat.ctimeNs,
    ino: r.stat.ino,
    dev: r.stat.dev,
    mode: r.stat.mode,
  };
}

/** A BaseFile straight from a narrow catalog row (BASE_TREE_COLUMNS). */
export function baseFileFromRow(r: Row): BaseFile {
  return baseFromRaw(r);
}
