/**
 * Local-mode console commands for retention (docs/retention.md): `prune`,
 * `protect`, `volumes`, `pools` and `pool set`; and for catalog protection
 * (docs/cold-start.md): `catalog-backup` and `catalog-restore`. Each opens the repository
 * like the job commands (commands.ts withRepo); prune and protect take the
 * write lock, a dry run and the listings do not.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CairnError } from '../../plugin-api/index.js';
import type { KeepRules, PoolSettings } from '../catalog/index.js';
import { REPO_FILE, checkPoolSettings, defaultRepoPath, writeRepoSettings } from '../local/repository.js';
import { RepoLock } from '../local/repo-lock.js';
import { runCatalogBackup } from '../local/catalog-backup.js';
import { restoreDirectorCatalog } from '../tools/director-catalog-restore.js';
import { restoreCatalog } from '../local/catalog-restore.js';
import type { PruneReport } from '../retention/prune-run.js';
import { poolRows, volumeRows } from '../retention/reports.js';
import { protectionText, setProtection } from '../retention/protection.js';
import { withRepo, type CommonArgs } from './commands.js';
import { humanBytes, type Output } from './output.js';

export const KEEP_COUNTS = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
export const KEEP_WITHINS = ['within', 'within-hourly', 'within-daily', 'within-weekly', 'within-monthly', 'within-yearly'] as const;

/** The --keep-* options of prune and pool set. */
export function keepOptions(): Record<string, { type: 'string'; describe: string }> {
  const o: Record<string, { type: 'string'; describe: string }> = {};
  for (const k of KEEP_COUNTS) o[`keep-${k}`] = { type: 'string', describe: `keep the last N ${k === 'last' ? '' : `${k} `}jobs (N or "unlimited")` };
  for (const k of KEEP_WITHINS) o[`keep-${k}`] = { type: 'string', describe: `keep ${k === 'within' ? 'all' : k.slice(7)} jobs newer than DURATION (e.g. 1y5m7d2h) before the newest` };
  return o;
}

const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** KeepRules from parsed --keep-* arguments, or undefined when none was given. */
export function keepFromArgs(args: Record<string, unknown>): KeepRules | undefined {
  const k: KeepRules = {};
  let any = false;
  for (const name of KEEP_COUNTS) {
    const v = args[camel(`keep-${name}`)] as string | undefined;
    if (v === undefined) continue;
    const n = v === 'unlimited' ? -1 : Number(v);
    if (!Number.isInteger(n) || n < -1) throw new CairnError('CAIRN_E_USAGE', `--keep-${name} takes a whole number or "unlimited", not "${v}"`, { option: `keep-${name}`, value: v });
    k[name] = n;
    any = true;
  }
  for (const name of KEEP_WITHINS) {
    const v = args[camel(`keep-${name}`)] as string | undefined;
    if (v === undefined) continue;
    (k as Record<string, unknown>)[camel(name)] = v;
    any = true;
  }
  return any ? k : undefined;
}

export function pruneText(r: PruneReport): string {
  const lines: string[] = [`${r.dryRun ? 'would ' : ''}remove ${r.remove.length} job(s), prune the files of ${r.pruneFiles.length}, purge ${r.volumes.filter((v) => v.action === 'purge').length} volume(s) (as at ${r.now})`];
  for (const j of r.jobs) {
    const what = `job ${j.id} ${j.name} ${j.level ?? j.type} ${j.startedAt}`;
    lines.push(`  ${j.action === 'remove' ? (r.dryRun ? 'would remove' : 'removed') : j.action === 'prune-files' ? 'files pruned' : 'keep'}  ${what}: ${j.reasons.join('; ')}`);
  }
  for (const v of r.volumes.filter((x) => x.action !== 'keep')) lines.push(`  ${v.action}  volume ${v.name} (${v.pool}${v.moveTo ? ` → ${v.moveTo}` : ''}): ${v.reasons.join('; ')}`);
  for (const t of r.truncated) lines.push(`  truncated volume ${t.volume}: ${humanBytes(t.bytesBefore)} → ${humanBytes(t.bytesAfter)}`);
  for (const d of r.deferred) lines.push(`  deferred volume ${d.volume}: ${d.reason} [${d.code}]`);
  return lines.join('\n');
}

export async function cmdPrune(args: CommonArgs & Record<string, unknown> & { dryRun: boolean; pool?: string }, out: Output): Promise<number> {
  const keep = keepFromArgs(args);
  const report = await withRepo(args, 'prune', !args.dryRun, out, (repo) =>
    repo.prune({ dryRun: args.dryRun, keep, scope: args.pool ? (p) => p === args.pool : undefined }),
  );
  out.data(report, () => pruneText(report));
  return 0;
}

export async function cmdProtect(args: CommonArgs & { target: string; off: boolean }, out: Output): Promise<number> {
  return withRepo(args, 'protect', true, out, async (repo) => {
    const r = await setProtection(repo.catalog, args.target, !args.off);
    out.data(r, () => protectionText(r));
    return 0;
  });
}

export function volumesText(rows: Array<Record<string, unknown>>): string {
  return [
    'Volume               Pool         Status   Bytes        Jobs  Last written              Expires                   Prot  Recycled',
    ...rows.map((v) =>
      `${String(v.name).padEnd(20)} ${String(v.pool).padEnd(12)} ${String(v.status).padEnd(8)} ${humanBytes(Number(v.bytes)).padEnd(12)} ${String(v.jobs).padEnd(5)} ${String(v.lastWritten ?? '-').padEnd(25)} ${String(v.expiresAt ?? (Array.isArray(v.heldBy) && v.heldBy.length ? 'kept by rules' : '-')).padEnd(25)} ${v.protected ? 'yes ' : 'no  '}  ${v.recycleCount}`,
    ),
  ].join('\n');
}

export async function cmdVolumes(args: CommonArgs & { pool?: string }, out: Output): Promise<number> {
  return withRepo(args, 'volumes', false, out, async (repo) => {
    const rows = (await volumeRows(repo, join(repo.path, 'volumes'))).filter((v) => !args.pool || v.pool === args.pool);
    out.data(rows, () => volumesText(rows));
    return 0;
  });
}

export function poolsText(rows: Array<Record<string, unknown>>): string {
  const lines = ['Pool         Volumes  States                          Bytes        Jobs  Last written              Settings'];
  for (const p of rows) {
    const states = Object.entries(p.states as Record<string, number>).map(([k, n]) => `${k} ${n}`).join(', ');
    lines.push(`${String(p.name).padEnd(12)} ${String(p.volumes).padEnd(8)} ${states.padEnd(31)} ${humanBytes(Number(p.bytes)).padEnd(12)} ${String(p.jobs).padEnd(5)} ${String(p.lastWritten ?? '-').padEnd(25)} ${JSON.stringify(p.settings)}`);
  }
  return lines.join('\n');
}

export async function cmdPools(args: CommonArgs, out: Output): Promise<number> {
  return withRepo(args, 'pools', false, out, async (repo) => {
    const rows = await poolRows(repo.catalog);
    out.data(rows, () => poolsText(rows));
    return 0;
  });
}

/** `pool set NAME --key value …`: edits the pool in the repository file (`none` removes a setting). */
export async function cmdPoolSet(args: CommonArgs & Record<string, unknown> & { name: string }, out: Output): Promise<number> {
  return withRepo(args, 'pool', true, out, async (repo) => {
    const settings = { ...repo.settings, pools: { ...(repo.settings.pools ?? {}) } };
    const pool: PoolSettings = { ...(settings.pools[args.name] ?? {}) };
    const set = (key: keyof PoolSettings, raw: unknown, kind: 'text' | 'int' | 'bool') => {
      if (raw === undefined) return;
      if (raw === 'none') {
        delete pool[key];
        return;
      }
      if (kind === 'int') {
        const n = Number(raw);
        if (!Number.isSafeInteger(n) || n < 1) throw new CairnError('CAIRN_E_USAGE', `--${String(key)} takes a whole number ≥ 1 or "none", not "${String(raw)}"`, { option: key, value: raw });
        pool[key] = n;
      } else if (kind === 'bool') {
        if (raw !== 'yes' && raw !== 'no') throw new CairnError('CAIRN_E_USAGE', `--${String(key)} takes yes or no`, { option: key, value: raw });
        pool[key] = raw === 'yes';
      } else pool[key] = String(raw);
    };
    for (const k of ['labelFormat', 'mediaType', 'volumeUseDuration', 'recyclePool', 'jobRetention', 'fileRetention', 'volumeRetention'] as const) set(k, args[k], 'text');
    for (const k of ['maxVolumeJobs', 'maxVolumeBytes'] as const) set(k, args[k], 'int');
    for (const k of ['autoPrune', 'recycle'] as const) set(k, args[k], 'bool');
    const keep = keepFromArgs(args);
    if (keep) pool.keep = { ...(pool.keep ?? {}), ...keep };
    if (args.keepNone) delete pool.keep;
    checkPoolSettings(args.name, pool);
    settings.pools[args.name] = pool;
    if (args.default) settings.pool = args.name;
    writeRepoSettings(repo.path, settings);
    await repo.catalog.setPool(args.name, pool);
    out.data({ pool: args.name, settings: pool, default: settings.pool === args.name }, () => `pool ${args.name}: ${JSON.stringify(pool)}${settings.pool === args.name ? ' (backups write here)' : ''}`);
    return 0;
  });
}

export async function cmdCatalogBackup(args: CommonArgs & { copyTo?: string }, out: Output): Promise<number> {
  const result = await withRepo(args, 'catalog-backup', true, out, (repo) =>
    runCatalogBackup(repo, {
      staging: join(repo.path, 'catalog-backup'),
      pool: repo.settings.catalogPool ?? repo.pool,
      extras: [{ from: join(repo.path, REPO_FILE), as: REPO_FILE }, { from: join(repo.path, 'bootstraps'), as: 'bootstraps' }],
      copyTo: args.copyTo ? resolve(args.copyTo) : undefined,
    }),
  );
  if (args.json) process.stdout.write(JSON.stringify({ ...result.report, catalogBackup: { files: result.files, copiedTo: result.copiedTo } }) + '\n');
  else {
    out.report(result.report);
    process.stdout.write(`  Catalog backup:   ${result.files.join(', ')}${result.copiedTo ? `; copied to ${result.copiedTo}` : ''}\n`);
  }
  return result.report.exitCode;
}

export async function cmdCatalogRestore(args: CommonArgs & { from: string; volumes?: string; force: boolean; dirConfig?: string; job?: string }, out: Output): Promise<number> {
  if (args.dirConfig) return cmdDirectorCatalogRestore({ ...args, dirConfig: args.dirConfig }, out);
  if (args.job) throw new CairnError('CAIRN_E_USAGE', '--job goes with --dir-config (a local repository\'s catalog job is always CatalogBackup)', { option: 'job' });
  const repo = defaultRepoPath(args.repo);
  const lock = existsSync(join(repo, REPO_FILE)) ? await RepoLock.acquire(repo, 'catalog-restore', { wait: args.wait }) : null;
  try {
    const r = await restoreCatalog({ from: args.from, repo, force: args.force, volumes: args.volumes });
    out.data(r, () =>
      [
        `catalog restored into ${r.repo} from ${'copy' in r.source ? `the copy in ${r.source.copy}` : `catalog backup job ${r.source.jobId} of ${r.source.startedAt} (volumes ${r.source.volumes.join(', ')})`}`,
        `  ${r.jobs} jobs, ${r.volumes} volumes in the catalog; next SD session id ${r.nextSessionId}`,
        ...r.adopted.map((a) => `  volume ${a.volume}: holds ${a.bytes} bytes the catalog did not count (was ${a.was}); marked Used so nothing overwrites it`),
        `next: \`cairn jobs --repo ${r.repo}\`, then \`cairn restore JOB --repo ${r.repo} --to TARGET\``,
      ].join('\n'),
    );
    return 0;
  } finally {
    lock?.release();
  }
}

async function cmdDirectorCatalogRestore(args: { from: string; volumes?: string; force: boolean; dirConfig: string; job?: string }, out: Output): Promise<number> {
  const r = await restoreDirectorCatalog({ config: resolve(args.dirConfig), from: args.from, volumes: args.volumes, force: args.force, job: args.job });
  out.data(r, () =>
    [
      `Director catalog (${r.catalog}) restored from ${'copy' in r.source ? `the copy in ${r.source.copy}` : `catalog job ${r.source.jobId} of ${r.source.startedAt} (volumes ${r.source.volumes.join(', ')})`}`,
      `  ${r.jobs} jobs, ${r.volumes} volumes in the catalog${r.reconciled ? `; next SD session id ${r.nextSessionId}` : '; volumes not checked (give --volumes with a copy folder)'}`,
      ...r.adopted.map((a) => `  volume ${a.volume}: holds ${a.bytes} bytes the catalog did not count (was ${a.was}); marked Used so nothing overwrites it`),
      `  the job's copy of the config and the emergency-restore summary: ${r.kept}`,
      'next: start cairn-dir, then `cairn --config console.yaml jobs` and `cairn --config console.yaml restore JOB --to TARGET --wait`',
    ].join('\n'),
  );
  return 0;
}
