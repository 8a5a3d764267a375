/**
 * The one guarded runner every agent call goes through (host and conformance
 * kit alike). It applies the hook's timeout, tracks what is in flight, and
 * wraps anything an agent throws as CAIRN_E_AGENT_FAILED with agent, hook,
 * path and the agent's own code as fields and the original as `cause`.
 * A hook past its timeout rejects with CAIRN_E_AGENT_TIMEOUT and aborts the
 * agent's signal so the agent can stop its I/O.
 */
import { CairnError, isCairnError } from './errors.js';
import { HOOKS, type HookName } from './hooks.js';
import { displayPath } from './paths.js';

export interface HookRunnerOptions {
  /** Aborted by the host when the job is cancelled; the runner also aborts it on a timeout. */
  readonly controller: AbortController;
  /** Per-hook overrides of HOOKS[hook].timeoutMs. */
  readonly timeouts?: Partial<Record<HookName, number>>;
}

export interface HookFacts {
  path?: Uint8Array;
}

export class HookRunner {
  readonly agent: string;
  readonly agentVersion: string;
  private readonly controller: AbortController;
  private readonly timeouts: Partial<Record<HookName, number>>;
  private inFlight: { hook: HookName; path?: string; since: number } | null = null;

  constructor(agent: string, agentVersion: string, options: HookRunnerOptions) {
    this.agent = agent;
    this.agentVersion = agentVersion;
    this.controller = options.controller;
    this.timeouts = options.timeouts ?? {};
  }

  /** The hook currently running, for status displays and hang reports. */
  current(): { hook: HookName; path?: string; since: number } | null {
    return this.inFlight;
  }

  timeoutOf(hook: HookName): number {
    return this.timeouts[hook] ?? HOOKS[hook].timeoutMs;
  }

  /** Runs one hook call under its timeout; wraps failures. */
  async call<T>(hook: HookName, fn: () => Promise<T> | T, facts: HookFacts = {}): Promise<T> {
    const path = facts.path === undefined ? undefined : displayPath(facts.path);
    if (this.controller.signal.aborted) throw this.abortedError(hook, path);
    this.inFlight = { hook, path, since: Date.now() };
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      const timeoutMs = this.timeoutOf(hook);
      const guard = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const err = new CairnError(
            'CAIRN_E_AGENT_TIMEOUT',
            `agent ${this.agent} did not finish ${hook}${path ? ` for ${path}` : ''} within ${timeoutMs} ms`,
            { agent: this.agent, agentVersion: this.agentVersion, hook, path, timeoutMs },
            { retryable: true },
          );
          this.controller.abort(err);
          reject(err);
        }, timeoutMs);
        timer.unref?.();
        onAbort = () => reject(this.abortedError(hook, path));
        this.controller.signal.addEventListener('abort', onAbort, { once: true });
      });
      return await Promise.race([Promise.resolve().then(fn), guard]);
    } catch (err) {
      throw this.wrap(err, hook, path);
    } finally {
      clearTimeout(timer);
      if (onAbort) this.controller.signal.removeEventListener('abort', onAbort);
      this.inFlight = null;
    }
  }

  /**
   * Iterates an agent's async iterable with the hook's timeout applied to each
   * step (the time to produce one chunk), wrapping failures.
   */
  async *iterate<T>(hook: HookName, make: () => AsyncIterable<T>, facts: HookFacts = {}): AsyncGenerator<T> {
    const iterable = await this.call(hook, () => make(), facts);
    const it = iterable[Symbol.asyncIterator]();
    let done = false;
    try {
      for (;;) {
        const step = await this.call(hook, () => it.next(), facts);
        if (step.done) {
          done = true;
          return;
        }
        yield step.value;
      }
    } finally {
      if (!done && typeof it.return === 'function') {
        // Consumer stopped early or a step failed: let the agent close its handles, without waiting forever.
        await Promise.race([Promise.resolve(it.return()).catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref?.())]);
      }
    }
  }

  private abortedError(hook: HookName, path?: string): CairnError {
    const reason = this.controller.signal.reason;
    if (isCairnError(reason)) return reason;
    return new CairnError('CAIRN_E_AGENT_ABORTED', `job cancelled while agent ${this.agent} ran ${hook}${path ? ` for ${path}` : ''}`, {
      agent: this.agent,
      hook,
      path,
    });
  }

  private wrap(err: unknown, hook: HookName, path?: string): CairnError {
    if (isCairnError(err) && (err.code === 'CAIRN_E_AGENT_TIMEOUT' || err.code === 'CAIRN_E_AGENT_ABORTED' || err.code === 'CAIRN_E_AGENT_FAILED')) {
      return err;
    }
    const agentCode = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : undefined;
    const text = err instanceof Error ? err.message : String(err);
    return new CairnError(
      'CAIRN_E_AGENT_FAILED',
      `agent ${this.agent} failed in ${hook}${path ? ` for ${path}` : ''}: ${text}`,
      { agent: this.agent, agentVersion: this.agentVersion, hook, path, agentCode },
      { cause: err },
    );
  }
}
