/**
 * cairn-bscan: rebuilds a catalog from volumes (catalog-rebuild.ts).
 *
 *   cairn-bscan --repo DIR                 a local repository: its volumes/ into its catalog.db (under its lock)
 *   cairn-bscan --catalog FILE VOLUME|DIR… a Director's SQLite catalog from the volumes or device folders named
 *   cairn-bscan --config cairn-dir.yaml VOLUME|DIR…   the catalog the Director's config names (SQLite or PostgreSQL)
 *
 * Idempotent: jobs and volumes already in the catalog are left alone and listed as skipped.
 * Encrypted jobs get their header and signed manifest from the volumes; `--keyring FILE` (repeatable)
 * adds later wraps of their data keys (after `cairn key rotate`), so `cairn restore --key NEW` works.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CairnError } from '../../plugin-api/index.js';
import { readKeyringFile, type KeyWrap } from '../../core/index.js';
import { Catalog, openConfiguredCatalog } from '../catalog/index.js';
import { loadConfig } from '../../config/index.js';
import { RepoLock } from '../local/repo-lock.js';
import { REPO_FILE } from '../local/repository.js';
import type { Output } from '../cli/output.js';
import { rebuildCatalog, type RebuildReport } from './catalog-rebuild.js';
import { parseToolArgs, runTool, volumeFiles } from './tool-cli.js';

const USAGE = 'usage: cairn-bscan --repo DIR [--keyring FILE]… [--json] | cairn-bscan --catalog FILE.db VOLUME|DIR… [--keyring FILE]… [--json] | cairn-bscan --config cairn-dir.yaml VOLUME|DIR… [--keyring FILE]… [--json]';

export async function bscan(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseToolArgs('cairn-bscan', argv, { repo: { type: 'string' }, catalog: { type: 'string' }, config: { type: 'string' }, wait: { type: 'boolean' }, keyring: { type: 'string', multiple: true } }, USAGE);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const wraps: Array<{ jobId: number; wrap: KeyWrap }> = ((values.keyring as string[] | undefined) ?? []).flatMap((f) => readKeyringFile(f));
  let report: RebuildReport;
  if (values.repo) {
    const repo = resolve(String(values.repo));
    if (!existsSync(join(repo, REPO_FILE))) throw new CairnError('CAIRN_E_REPO_NOT_FOUND', `no Cairn repository at ${repo}`, { repo });
    const lock = await RepoLock.acquire(repo, 'bscan', { wait: values.wait === true });
    try {
      report = await scanInto(join(repo, 'catalog.db'), volumeFiles([join(repo, 'volumes'), ...positionals]), wraps);
    } finally {
      lock.release();
    }
  } else if (values.catalog || values.config) {
    if (positionals.length === 0) throw new CairnError('CAIRN_E_USAGE', `cairn-bscan: name the volumes or device folders to read\n${USAGE}`, {});
    const volumes = volumeFiles(positionals);
    const catalog = values.config ? await openConfiguredCatalog(loadConfig('dir', String(values.config)).config.director.catalog) : await Catalog.open(resolve(String(values.catalog)));
    try {
      report = await rebuildCatalog(catalog, volumes, { wraps });
    } finally {
      await catalog.close();
    }
  } else {
    throw new CairnError('CAIRN_E_USAGE', `cairn-bscan: give --repo DIR or --catalog FILE\n${USAGE}`, {});
  }
  out.data(report, () => formatReport(report));
  return report.badBlocks.length ? 1 : 0;
}

async function scanInto(catalogFile: string, volumes: string[], wraps: Array<{ jobId: number; wrap: KeyWrap }>): Promise<RebuildReport> {
  const catalog = await Catalog.open(catalogFile);
  try {
    return await rebuildCatalog(catalog, volumes, { wraps });
  } finally {
    await catalog.close();
  }
}

function formatReport(r: RebuildReport): string {
  const lines = [];
  for (const v of r.volumes) lines.push(`volume ${v.name}: ${v.added ? 'added' : 'already in the catalog'} (${v.status}, ${v.committedBlocks} blocks, ${v.jobs} jobs)`);
  for (const j of r.jobs) {
    const enc = j.encryption ? `, encrypted (${j.encryption.cipher}, sealed for ${j.encryption.sealedFor.join(', ')}; signed manifest ${j.encryption.manifest ? 'found' : 'NOT found'})` : '';
    lines.push(`job ${j.jobId} ${j.name} (${j.client}, ${j.level}): ${j.added ? `added, ${j.status}, ${j.files} files${enc}` : 'already in the catalog'} on ${j.volumes.join(', ')}`);
  }
  if (r.keyWraps) lines.push(`${r.keyWraps} later key wrap(s) stored from the keyring`);
  for (const b of r.badBlocks) lines.push(`bad block: volume ${b.volume} block ${b.block}: ${b.reason}`);
  const added = r.jobs.filter((j) => j.added).length;
  lines.push(`${added} job(s) and ${r.volumes.filter((v) => v.added).length} volume(s) added; ${r.jobs.length - added} job(s) already known`);
  return lines.join('\n');
}

export function runBscan(): Promise<void> {
  const argv = process.argv.slice(2);
  return runTool(argv, (out) => bscan(argv, out));
}
