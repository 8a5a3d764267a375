/**
 * runConformance: the plugin API's conformance kit. Runs an agent module
 * against a mock host (no daemons; data spooled under the scratch folder;
 * every call through the HookRunner) and reports named checks:
 * manifest, hooks, version-negotiation, call-order, restore-round-trip,
 * state-round-trip, abort, error-wrapping. docs/plugin-api.md §Conformance.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { CairnError, isCairnError } from '../errors.js';
import { HookRunner } from '../hook-runner.js';
import type { HookName } from '../hooks.js';
import type { AgentModule } from '../types.js';
import type { PlatformFileServices } from '../platform.js';
import { API_VERSIONS, formatVersion, type ApiVersion } from '../version.js';
import { comparePathsTreeOrder, displayPath } from '../paths.js';
import { Buffer } from 'node:buffer';
import { describe, driveBackup, driveRestore, type DriveEnv } from './kit-driver.js';
import { hookProblems, manifestProblems, negotiationProblems } from './manifest-check.js';
import { KitCatalog, Spool, kitContext, type BackedUpFile, type KitJob } from './mock-host.js';
import { nodePlatformFileServices } from './node-platform.js';
import { compareBackups } from './tree-compare.js';
import { abortProblems } from './abort-check.js';

export interface ConformanceOptions {
  /** Include roots for the agent's backups (absolute paths for filesystem agents). */
  readonly include: readonly string[];
  readonly exclude?: readonly string[];
  /** A writable folder; the kit works in a fresh subfolder and removes it afterwards. */
  readonly scratch: string;
  /** Agent options for backups (validated by the agent, not the kit). */
  readonly options?: Record<string, unknown>;
  readonly restoreOptions?: Record<string, unknown>;
  /** Platform services handed to the agent; default nodePlatformFileServices(). */
  readonly platform?: PlatformFileServices;
  /** API versions the kit's host speaks; default every version this plugin-api defines. */
  readonly hostVersions?: readonly ApiVersion[];
  readonly timeouts?: Partial<Record<HookName, number>>;
  /** Changes the source between the first Full and the Incrementals that follow. */
  readonly mutate?: () => Promise<void>;
  /** Compares a restored tree with the source as it is now (agents the kit cannot compare itself). */
  readonly compare?: (restoredWhere: string) => Promise<{ ok: boolean; message: string }>;
  /** How long an agent may take to stop after an abort (default 5000 ms). */
  readonly abortWithinMs?: number;
  /** Programs the kit's command service (ctx.commands, API 1.5) may run; default none. */
  readonly commands?: readonly string[];
  /** Keep the kit's working folder (for debugging). */
  readonly keepScratch?: boolean;
}

export interface ConformanceCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly message: string;
  readonly skipped?: boolean;
}

export interface ConformanceReport {
  readonly agent: string;
  readonly version: string;
  readonly api: string;
  readonly checks: ConformanceCheck[];
  readonly ok: boolean;
}

export const CONFORMANCE_CHECKS = ['manifest', 'hooks', 'version-negotiation', 'call-order', 'restore-round-trip', 'state-round-trip', 'abort', 'error-wrapping'] as const;
export type ConformanceCheckName = (typeof CONFORMANCE_CHECKS)[number];

const AGENT_CODES = new Set(['CAIRN_E_AGENT_FAILED', 'CAIRN_E_AGENT_TIMEOUT', 'CAIRN_E_AGENT_ABORTED']);

function summary(lines: readonly string[], max = 8): string {
  return lines.length <= max ? lines.join('; ') : `${lines.slice(0, max).join('; ')}; … and ${lines.length - max} more`;
}

export async function runConformance(mod: AgentModule, opts: ConformanceOptions): Promise<ConformanceReport> {
  // The HookRunner's timeout timers are unref'ed: with a hung agent and nothing else pending, the
  // process would exit mid-check. Keep the event loop alive until the report is written.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  try {
    return await runChecks(mod, opts);
  } finally {
    clearInterval(keepAlive);
  }
}

async function runChecks(mod: AgentModule, opts: ConformanceOptions): Promise<ConformanceReport> {
  const checks: ConformanceCheck[] = [];
  const add = (name: ConformanceCheckName, ok: boolean, message: string, skipped = false): void => {
    checks.push(skipped ? { name, ok, message, skipped } : { name, ok, message });
  };
  const notRun = (why: string): void => {
    for (const n of CONFORMANCE_CHECKS) if (!checks.some((c) => c.name === n)) add(n, false, `not run: ${why}`);
  };
  const report = (): ConformanceReport => ({
    agent: String(mod?.manifest?.name ?? '?'),
    version: String(mod?.manifest?.version ?? '?'),
    api: String(mod?.manifest?.api ?? '?'),
    checks,
    ok: checks.every((c) => c.ok),
  });

  const mp = manifestProblems(mod);
  add('manifest', mp.length === 0, mp.length === 0 ? `${mod.manifest.name} ${mod.manifest.version}, api ${mod.manifest.api}, format ${mod.manifest.formatMajor}` : summary(mp));
  if (mp.length > 0) {
    notRun('the manifest is invalid');
    return report();
  }
  const m = mod.manifest;
  const host = opts.hostVersions ?? API_VERSIONS;
  const [api, np] = negotiationProblems(m, host);
  add('version-negotiation', np.length === 0, np.length === 0 ? `negotiated ${formatVersion(api!)} with a host speaking ${host.map(formatVersion).join(', ')}; an impossible host is refused` : summary(np));
  if (!api) {
    notRun('no common API version');
    return report();
  }
  const platform = opts.platform ?? nodePlatformFileServices();
  try {
    const probe = await mod.createAgent(kitContext(m, api, platform, opts.include, opts.commands).ctx);
    const hp = hookProblems(probe);
    add('hooks', hp.length === 0, hp.length === 0 ? 'all required hooks are functions' : summary(hp));
    if (hp.length > 0) {
      notRun('required hooks are missing');
      return report();
    }
  } catch (err) {
    add('hooks', false, `createAgent threw: ${describe(err)}`);
    notRun('createAgent failed');
    return report();
  }

  await fsp.mkdir(opts.scratch, { recursive: true });
  const work = await fsp.mkdtemp(path.join(opts.scratch, 'cairn-kit-'));
  const spool = await Spool.create(work);
  const env: DriveEnv = { mod, api, platform, spool, timeouts: opts.timeouts, errors: [], commands: opts.commands };
  const catalog = new KitCatalog();
  const options = opts.options ?? {};
  const restoreOptions = opts.restoreOptions ?? {};
  const exclude = opts.exclude ?? [];
  const filesKind = (m.restoreKind ?? 'files') === 'files';
  const compareOwner = process.getuid?.() === 0;
  const mtimeToleranceNs = platform.available.utimensat ? 0n : 2000n;

  const backup = async (level: 'full' | 'incremental' | 'differential', outcome: 'ok' | 'error', include = opts.include, ex = exclude): Promise<{ job: KitJob; base?: KitJob; violations: string[] }> => {
    const base = catalog.baseFor(level);
    const lvl = base ? level : 'full';
    const run = await driveBackup(env, { jobId: catalog.jobs.length + 1, level: lvl, base: base ? catalog.baseJob(base) : undefined, state: base?.state ?? null, options, include, exclude: ex, outcome });
    const job = catalog.add(lvl, run.files);
    job.status = outcome;
    job.state = outcome === 'ok' ? run.state : null; // a failed job never advances state
    return { job, base, violations: run.violations };
  };

  /** Restores `files` under a fresh folder and compares with `expected` (or opts.compare). */
  const restoreAndCompare = async (label: string, files: BackedUpFile[], expected: BackedUpFile[]): Promise<{ ok: boolean; message: string; skipped?: boolean }> => {
    const where = path.join(work, label);
    const r = await driveRestore(env, files, where, restoreOptions);
    const problems = [...r.violations];
    const errors = r.messages.filter((x) => x.level === 'error');
    for (const e of errors) problems.push(`restore error for ${e.path ?? '?'}: ${e.text}`);
    if (opts.compare) {
      const c = await opts.compare(where);
      if (!c.ok) problems.push(c.message);
    } else if (filesKind) {
      const again = await driveBackup(env, { jobId: 900, level: 'full', state: null, options, include: opts.include.map((i) => path.join(where, i)), exclude: [], outcome: 'ok' });
      const explained = new Set(r.messages.filter((x) => x.path !== undefined).map((x) => x.path!));
      problems.push(...again.violations, ...compareBackups(expected, again.files, { prefix: where, mtimeToleranceNs, compareOwner, explained }));
    } else {
      return { ok: problems.length === 0, message: problems.length ? summary(problems) : 'restore ran; no compare callback for a log agent, content not compared', skipped: true };
    }
    return { ok: problems.length === 0, message: problems.length ? summary(problems) : `${files.length} entries restored and equal` };
  };

  try {
    // Full A, driven in the documented order.
    let jobA: KitJob | null = null;
    try {
      const a = await backup('full', 'ok');
      jobA = a.job;
      const notes = a.violations;
      const order = a.job.files.every((f, i, all) => i === 0 || comparePathsTreeOrder(all[i - 1].entry.path, f.entry.path) < 0);
      const orderNote = filesKind && !order ? ' (note: entries were not in tree order)' : '';
      add('call-order', notes.length === 0, notes.length === 0 ? `${a.job.files.length} entries, every stream read to its end, nextFile stays null${orderNote}` : summary(notes));
    } catch (err) {
      add('call-order', false, `backup failed: ${describe(err)}`);
    }

    if (jobA) {
      try {
        const r = await restoreAndCompare('restore-full', catalog.tree([jobA]), jobA.files);
        add('restore-round-trip', r.ok, r.message, r.skipped);
      } catch (err) {
        add('restore-round-trip', false, `restore failed: ${describe(err)}`);
      }

      try {
        const withData = jobA.files.filter((f) => f.streams.some((s) => s.logicalSize > 0)).sort((x, y) => y.streams[0].logicalSize - x.streams[0].logicalSize)[0];
        const ap = await abortProblems(env, { include: opts.include, exclude, options }, withData?.entry.path ?? null, opts.abortWithinMs ?? 5000);
        add('abort', ap.length === 0, ap.length === 0 ? `the agent stopped ${withData ? `mid readData of ${displayPath(withData.entry.path)}` : 'in nextFile'} and the runner reported CAIRN_E_AGENT_ABORTED` : summary(ap));
      } catch (err) {
        add('abort', false, `failed: ${describe(err)}`);
      }

      try {
        if (opts.mutate) await opts.mutate();
        const b = await backup('incremental', 'error');
        const problems: string[] = [...b.violations];
        if (b.base !== jobA) problems.push('kit: job B did not get the Full as its base');
        const c = await backup('incremental', 'ok');
        if (c.base !== jobA) problems.push('kit: after a failed job, the Incremental did not get the last successful job as its base');
        const d = await backup('differential', 'ok');
        if (d.base !== jobA) problems.push('kit: the Differential did not get the last successful Full as its base');
        problems.push(...c.violations, ...d.violations);
        const current = await driveBackup(env, { jobId: 800, level: 'full', state: null, options, include: opts.include, exclude, outcome: 'ok' });
        const rc = await restoreAndCompare('restore-incremental', catalog.tree(catalog.chain(c.job)), current.files);
        if (!rc.ok) problems.push(`Full + Incremental (after a failed job): ${rc.message}`);
        const rd = await restoreAndCompare('restore-differential', catalog.tree(catalog.chain(d.job)), current.files);
        if (!rd.ok) problems.push(`Full + Differential: ${rd.message}`);
        add(
          'state-round-trip',
          problems.length === 0,
          problems.length ? summary(problems) : `failed job's state discarded; Incremental (${c.job.files.length} entries) and Differential (${d.job.files.length}) on the Full restore the current tree`,
          rc.skipped,
        );
      } catch (err) {
        add('state-round-trip', false, `failed: ${describe(err)}`);
      }
    }

    add('error-wrapping', ...(await wrappingCheck(m.name, env.errors)));
  } finally {
    await spool.close();
    if (!opts.keepScratch) await fsp.rm(work, { recursive: true, force: true });
  }
  notRun('the first Full backup failed');
  return report();
}

/** The runner wraps a throwing hook properly, and every agent failure seen in the run was an Error wrapped with its facts. */
export async function wrappingCheck(agent: string, seen: readonly unknown[]): Promise<[boolean, string]> {
  const problems: string[] = [];
  const sentinel = Object.assign(new Error('conformance probe'), { code: 'E_CONFORMANCE_PROBE' });
  const runner = new HookRunner(agent, '0.0.0', { controller: new AbortController() });
  try {
    await runner.call('nextFile', () => {
      throw sentinel;
    }, { path: Buffer.from('/probe') });
    problems.push('runner: a throwing hook did not reject');
  } catch (err) {
    const e = err as CairnError;
    if (!isCairnError(e) || e.code !== 'CAIRN_E_AGENT_FAILED') problems.push(`runner: a throwing hook came out as ${describe(err)}, not CAIRN_E_AGENT_FAILED`);
    else {
      if (e.fields.agent !== agent || e.fields.hook !== 'nextFile' || e.fields.path !== '/probe' || e.fields.agentCode !== 'E_CONFORMANCE_PROBE') problems.push('runner: wrapped error lacks agent/hook/path/agentCode');
      if (e.cause !== sentinel) problems.push('runner: wrapped error does not keep the original as cause');
    }
  }
  for (const err of seen) {
    if (!isCairnError(err) || !AGENT_CODES.has(err.code)) {
      problems.push(`an agent failure came out unwrapped: ${describe(err)}`);
      continue;
    }
    if (err.fields.agent !== agent || typeof err.fields.hook !== 'string') problems.push(`${err.code} lacks agent/hook facts`);
    if (err.code === 'CAIRN_E_AGENT_FAILED' && !(err.cause instanceof Error)) problems.push(`the agent threw a non-Error value in ${String(err.fields.hook)} (${String(err.cause)}); throw Error or CairnError objects`);
  }
  const failures = seen.length === 0 ? 'no agent failures during the run' : `${seen.length} agent failure(s) during the run, all wrapped`;
  return [problems.length === 0, problems.length ? summary(problems) : `a throwing hook becomes CAIRN_E_AGENT_FAILED with agent, hook, path, agentCode and cause; ${failures}`];
}
