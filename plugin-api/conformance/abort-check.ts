/**
 * The abort check: start a backup, abort the job's controller in the middle
 * of a readData (or of nextFile when nothing has data), then require that the
 * runner reports CAIRN_E_AGENT_ABORTED and that the agent's own iterator
 * (or nextFile) settles — ends or rejects — within a bounded time.
 */
import { Buffer } from 'node:buffer';
import { isCairnError } from '../errors.js';
import { HookRunner } from '../hook-runner.js';
import type { DataChunk } from '../types.js';
import { describe, type DriveEnv } from './kit-driver.js';
import { kitContext } from './mock-host.js';

/** Whether p settles within ms. The timer is not unref'ed: a hung agent must not let the process exit mid-check. */
function within<T>(p: Promise<T>, ms: number): Promise<'settled' | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), ms)));
  const settled = p.then(
    () => 'settled' as const,
    () => 'settled' as const,
  );
  return Promise.race([settled, hung]).finally(() => clearTimeout(timer));
}

export async function abortProblems(
  env: DriveEnv,
  job: { include: readonly string[]; exclude: readonly string[]; options: Record<string, unknown> },
  target: Uint8Array | null,
  boundMs: number,
): Promise<string[]> {
  const { mod } = env;
  const problems: string[] = [];
  const kc = kitContext(mod.manifest, env.api, env.platform, job.include, env.commands);
  const runner = new HookRunner(mod.manifest.name, mod.manifest.version, { controller: kc.controller, timeouts: env.timeouts });
  const agent = await mod.createAgent(kc.ctx);
  await runner.call('prepareBackup', () => agent.prepareBackup({ jobId: 700, jobName: 'conformance-abort', level: 'full', state: null, options: job.options, include: job.include, exclude: job.exclude }));
  const expectAborted = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
      problems.push(`${what} after the abort did not reject`);
    } catch (err) {
      if (!isCairnError(err) || err.code !== 'CAIRN_E_AGENT_ABORTED') problems.push(`${what} after the abort gave ${describe(err)}, not CAIRN_E_AGENT_ABORTED`);
    }
  };
  let aborted = false;
  while (target) {
    const e = await runner.call('nextFile', () => agent.nextFile());
    if (e === null) {
      problems.push(`the entry ${Buffer.from(target).toString('utf8')} was not seen again`);
      break;
    }
    const hit = Buffer.compare(Buffer.from(e.path), Buffer.from(target)) === 0;
    for (const s of e.streams) {
      const raw = asyncIteratorOf(agent.readData(e, s));
      if (!hit) {
        for (;;) if ((await runner.call('readData', () => raw.next(), { path: e.path })).done) break;
        continue;
      }
      await runner.call('readData', () => raw.next(), { path: e.path });
      kc.controller.abort();
      aborted = true;
      await expectAborted('readData through the runner', () => runner.call('readData', () => raw.next(), { path: e.path }));
      if ((await within<IteratorResult<DataChunk>>(raw.next(), boundMs)) === 'hung') problems.push(`the agent's readData iterator did not end or reject within ${boundMs} ms of the abort`);
      if (raw.return && (await within(Promise.resolve(raw.return(undefined)), boundMs)) === 'hung') problems.push(`the agent's readData iterator did not return within ${boundMs} ms of the abort`);
      break;
    }
    if (hit) break;
  }
  if (!aborted) {
    kc.controller.abort();
    await expectAborted('nextFile through the runner', () => runner.call('nextFile', () => agent.nextFile()));
    if ((await within(Promise.resolve().then(() => agent.nextFile()), boundMs)) === 'hung') problems.push(`the agent's nextFile did not settle within ${boundMs} ms of the abort`);
  }
  if (!kc.ctx.signal.aborted) problems.push('the context signal was not aborted');
  if (agent.jobEnded) {
    const after = new HookRunner(mod.manifest.name, mod.manifest.version, { controller: new AbortController(), timeouts: env.timeouts });
    try {
      await after.call('jobEnded', () => agent.jobEnded!('cancelled'));
    } catch (err) {
      problems.push(`jobEnded('cancelled') failed: ${describe(err)}`);
    }
  }
  return problems;
}

/** An agent's readData result as an async iterator (API 1.1 agents may return a synchronous Iterable). */
function asyncIteratorOf<T>(source: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> {
  if (Symbol.asyncIterator in source) return source[Symbol.asyncIterator]();
  const it = source[Symbol.iterator]();
  return { next: async () => it.next(), return: async (v?: unknown) => it.return?.(v) ?? { done: true, value: v as T } };
}
