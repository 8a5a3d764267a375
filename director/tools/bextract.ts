/**
 * cairn-bextract: restores straight from volumes, with no Director, no
 * catalog and no repository.
 *
 *   cairn-bextract VOLUME|DIR… --to DIR [--bootstrap FILE] [--job ID] [--include PATH]… [--key FILE]… [--keyring FILE]… [--replace …] [--json]
 *
 * With --bootstrap (and no --include) the file alone says what to read.
 * Otherwise the volumes are scanned into a throw-away catalog (bscan's
 * rebuild) and the tree as at --job (default: the newest successful backup
 * on the volumes) is restored by the same job control `cairn restore` uses,
 * limited to --include paths when given. The work happens in a temporary
 * local repository whose volumes/ only links to the volumes given; the
 * volumes are opened read-only and never changed.
 *
 * Encrypted jobs: each job's data key is unwrapped from its session start
 * label (or a keyring file's later wraps, after `cairn key rotate`) with the
 * private key given by --key, and its signed manifest (the session's MANIFEST
 * records) is verified, for every job of the restore before any session is
 * read — a wrong key is named before anything is written.
 */
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { CairnError, pathBytes, type ReplacePolicy } from '../../plugin-api/index.js';
import { readKeyFile, readKeyringFile } from '../../core/index.js';
import { LocalRepository, initRepository } from '../local/repository.js';
import { runRestoreJob } from '../jobs/restore-job.js';
import { parseBootstrap, sessionTail, type BootstrapDocument } from '../jobs/bootstrap-file.js';
import { runBootstrapRestore } from '../jobs/bootstrap-restore.js';
import type { ScanOptions } from '../../sd/index.js';
import { toRanges } from '../jobs/selection.js';
import type { JobReport } from '../jobs/job-report.js';
import type { Output } from '../cli/output.js';
import { orderVolumes, rebuildCatalog } from './catalog-rebuild.js';
import { parseToolArgs, runTool, volumeFiles } from './tool-cli.js';

const USAGE = 'usage: cairn-bextract VOLUME|DIR… --to DIR [--bootstrap FILE] [--job ID] [--include PATH]… [--key FILE]… [--keyring FILE]… [--replace always|never|ifnewer|ifolder] [--json]';
const REPLACE = ['always', 'never', 'ifnewer', 'ifolder'];

export async function bextract(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseToolArgs(
    'cairn-bextract',
    argv,
    {
      to: { type: 'string' }, bootstrap: { type: 'string' }, job: { type: 'string' }, include: { type: 'string', multiple: true }, replace: { type: 'string' },
      key: { type: 'string', multiple: true }, keyring: { type: 'string', multiple: true },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.to) throw new CairnError('CAIRN_E_USAGE', `cairn-bextract needs --to DIR\n${USAGE}`, { option: 'to' });
  if (positionals.length === 0) throw new CairnError('CAIRN_E_USAGE', `cairn-bextract: name the volumes or device folders to read\n${USAGE}`, {});
  const replace = (values.replace ?? 'always') as ReplacePolicy;
  if (!REPLACE.includes(replace)) throw new CairnError('CAIRN_E_USAGE', `--replace takes one of ${REPLACE.join(', ')}`, { option: 'replace' });
  const includes = (values.include as string[] | undefined) ?? [];
  // Keys are read (and their file modes checked) before any volume is.
  const keys = ((values.key as string[] | undefined) ?? []).map((f) => readKeyFile(f));
  const wraps = ((values.keyring as string[] | undefined) ?? []).flatMap((f) => readKeyringFile(f));
  const doc = values.bootstrap ? parseBootstrap(readFileSync(String(values.bootstrap), 'utf8'), String(values.bootstrap)) : null;
  const volumes = await orderVolumes(volumeFiles(positionals));

  const work = mkdtempSync(join(tmpdir(), 'cairn-bextract-'));
  try {
    const repoPath = join(work, 'repo');
    initRepository(repoPath);
    // The SD finds a volume by its name: link each volume file under the name its label gives.
    for (const v of volumes) symlinkSync(v.path, join(repoPath, 'volumes', v.label.volumeName));
    const repo = await LocalRepository.open(repoPath, { logger: pino({ level: 'silent' }) });
    const scan = (volume: string, opts: ScanOptions) => repo.sd.scanVolume(volume, opts);
    let report: JobReport;
    try {
      if (doc && includes.length === 0) {
        report = await runBootstrapRestore(repo, { bootstrap: doc, to: String(values.to), replace, keys, wraps, scan });
      } else {
        // The rebuilt catalog holds each encrypted job's header and manifest (from the volumes) and the keyring's wraps.
        await rebuildCatalog(repo.catalog, volumes.map((v) => v.path), { wraps });
        if (doc) {
          report = await runBootstrapRestore(repo, { bootstrap: await narrow(repo, doc, includes), to: String(values.to), replace, keys, wraps, scan });
        } else {
          const job = await pickJob(repo, values.job as string | undefined);
          report = await runRestoreJob(repo, { job, to: String(values.to), paths: includes, replace, keys });
        }
      }
    } finally {
      await repo.close();
    }
    out.report(report);
    return report.exitCode;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function pickJob(repo: LocalRepository, spec: string | undefined) {
  if (spec !== undefined && spec !== 'latest') {
    const id = Number(spec);
    const job = Number.isInteger(id) ? await repo.catalog.getJob(id) : null;
    if (!job || job.type !== 'backup') throw new CairnError('CAIRN_E_JOB_NOT_FOUND', `no backup job ${spec} on the volumes given`, { jobId: spec });
    return job;
  }
  const job = (await repo.catalog.listJobs({ type: 'backup', limit: 1000 })).find((j) => j.status === 'ok' || j.status === 'warning');
  if (!job) throw new CairnError('CAIRN_E_JOB_NOT_FOUND', 'no successful backup on the volumes given', {});
  return job;
}

/** The bootstrap's file indexes narrowed to the paths under `includes` (from the catalog rebuilt from the volumes). */
async function narrow(repo: LocalRepository, doc: BootstrapDocument, includes: string[]): Promise<BootstrapDocument> {
  const prefixes = includes.map((p) => Buffer.from(pathBytes(p.length > 1 ? p.replace(/\/+$/, '') : p)));
  const under = (path: Uint8Array): boolean => {
    const b = Buffer.from(path);
    return prefixes.some((f) => b.equals(f) || (b.length > f.length && b.subarray(0, f.length).equals(f) && b[f.length] === 0x2f));
  };
  const sessions = [];
  for (const s of doc.sessions) {
    const wanted: number[] = [];
    const inRanges = (i: number) => s.entries.some((e) => !e.fileIndexes || e.fileIndexes.some(([a, b]) => i >= a && i <= b));
    for await (const f of repo.catalog.filesOfJob(s.jobId)) if (inRanges(f.fileIndex) && under(f.path)) wanted.push(f.fileIndex);
    if (wanted.length === 0) continue;
    const ranges = toRanges(wanted);
    const entries = s.entries
      .map((e) => ({ ...e, fileIndexes: ranges.filter(([a, b]) => !e.fileIndexes || e.fileIndexes.some(([x, y]) => b >= x && a <= y)) }))
      .filter((e) => e.fileIndexes.length > 0);
    // The session's last range stays known (its manifest is read there) when narrowing drops it.
    const tail = s.tail ?? sessionTail(s.entries, entries);
    sessions.push({ ...s, entries, ...(tail ? { tail } : {}) });
  }
  return { ...doc, sessions };
}

export function runBextract(): Promise<void> {
  const argv = process.argv.slice(2);
  return runTool(argv, (out) => bextract(argv, out));
}
