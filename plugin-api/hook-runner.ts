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

interface InFlight {
  hook: HookName;
  rawPath?: Uint8Array;
  since: number;
  deadline: number;
  reject: ((err: unknown) => void) | null;
}

function isThenable<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown })?.then === 'function';
}

export class HookRunner {
  readonly agent: string;
  readonly agentVersion: string;
  private readonly controller: AbortController;
  private readonly timeouts: Partial<Record<HookName, number>>;
  private flight: InFlight | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private onAbort: (() => void) | null = null;

  constructor(agent: string, agentVersion: string, options: HookRunnerOptions) {
    this.agent = agent;
    this.agentVersion = agentVersion;
    this.controller = options.controller;
    this.timeouts = options.timeouts ?? {};
  }

  /** The hook currently running, for status displays and hang reports. */
  current(): { hook: HookName; path?: string; since: number } | null {
    const f = this.flight;
    return f ? { hook: f.hook, path: f.rawPath === undefined ? undefined : displayPath(f.rawPath), since: f.since } : null;
  }

  timeoutOf(hook: HookName): number {
    return this.timeouts[hook] ?? HOOKS[hook].timeoutMs;
  }

  /** Runs one hook call under its timeout; wraps failures. */
  async call<T>(hook: HookName, fn: () => Promise<T> | T, facts: HookFacts = {}): Promise<T> {
    if (this.controller.signal.aborted) throw this.abortedError(hook, facts.path === undefined ? undefined : displayPath(facts.path));
    const now = Date.now();
    const flight: InFlight = { hook, rawPath: facts.path, since: now, deadline: now + this.timeoutOf(hook), reject: null };
    this.flight = flight;
    this.armWatchdog();
    try {
      const result = fn();
      if (!isThenable(result)) return result;
      // One promise the watchdog (or an abort) can reject, settled by the agent's otherwise: cheaper than Promise.race.
      return await new Promise<T>((resolve, reject) => {
        flight.reject = reject;
        result.then(resolve, reject);
      });
    } catch (err) {
      throw this.wrap(err, hook, facts.path === undefined ? undefined : displayPath(facts.path));
    } finally {
      flight.reject = null;
      if (this.flight === flight) this.flight = null;
    }
  }

  /**
   * One timer per runner, not one per call: a hook call costs a promise,
   * not a timer (a backup makes several calls per file). The watchdog wakes
   * at a fraction of the shortest timeout and rejects the call in flight
   * once it is past its deadline.
   */
  private armWatchdog(): void {
    if (this.watchdog) return;
    const minTimeout = Math.min(...(Object.keys(HOOKS) as HookName[]).map((h) => this.timeoutOf(h)));
    const every = Math.max(5, Math.min(1000, Math.floor(minTimeout / 4)));
    // Not unref'd: while a hook is in flight the watchdog keeps the process alive, so a hung agent
    // times out instead of letting an otherwise idle event loop exit mid-job. It stops when idle.
    this.watchdog = setInterval(() => this.check(), every);
    if (!this.onAbort) {
      this.onAbort = () => {
        const f = this.flight;
        if (f?.reject) f.reject(this.abortedError(f.hook, f.rawPath === undefined ? undefined : displayPath(f.rawPath)));
        this.stopWatchdog();
      };
      this.controller.signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  private check(): void {
    const f = this.flight;
    if (!f) {
      this.stopWatchdog(); // idle: re-armed by the next call
      return;
    }
    if (Date.now() < f.deadline || !f.reject) return;
    const path = f.rawPath === undefined ? undefined : displayPath(f.rawPath);
    const timeoutMs = this.timeoutOf(f.hook);
    const err = new CairnError(
      'CAIRN_E_AGENT_TIMEOUT',
      `agent ${this.agent} did not finish ${f.hook}${path ? ` for ${path}` : ''} within ${timeoutMs} ms`,
      { agent: this.agent, agentVersion: this.agentVersion, hook: f.hook, path, timeoutMs },
      { retryable: true },
    );
    const reject = f.reject;
    this.controller.abort(err);
    reject(err);
  }

  /** Stops the watchdog; call when the agent is done (the runner re-arms on the next call). */
  stopWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  /**
   * An agent's chunks as the host consumes them: a synchronous Iterable
   * (API 1.1: bytes already in memory) comes back as an array, taken at once;
   * an AsyncIterable goes through iterate(). Failures are wrapped either way.
   */
  chunks<T>(hook: HookName, make: () => AsyncIterable<T> | Iterable<T>, facts: HookFacts = {}): T[] | AsyncGenerator<T> {
    let source: AsyncIterable<T> | Iterable<T>;
    try {
      if (this.controller.signal.aborted) throw this.abortedError(hook, facts.path === undefined ? undefined : displayPath(facts.path));
      source = make();
      if (source === null || typeof source !== 'object' || ArrayBuffer.isView(source)) throw new TypeError(`${hook} returned ${source === null ? 'null' : ArrayBuffer.isView(source) ? 'a byte array' : typeof source}, not an iterable of chunks`);
      if (!(Symbol.asyncIterator in source)) {
        if (!(Symbol.iterator in source)) throw new TypeError(`${hook} returned an object that is neither an AsyncIterable nor an Iterable`);
        return Array.isArray(source) ? (source as T[]) : Array.from(source);
      }
    } catch (err) {
      throw this.wrap(err, hook, facts.path === undefined ? undefined : displayPath(facts.path));
    }
    const iterable = source;
    return this.iterate(hook, () => iterable, facts);
  }

  /**
   * Iterates an agent's async iterable with the hook's timeout applied to each
   * step (the time to produce one chunk), wrapping failures.
   */
  async *iterate<T>(hook: HookName, make: () => AsyncIterable<T>, facts: HookFacts = {}): AsyncGenerator<T> {
    // Making the iterator is synchronous for an async generator: wrap its failures, no timer needed.
    let it: AsyncIterator<T>;
    try {
      it = make()[Symbol.asyncIterator]();
    } catch (err) {
      throw this.wrap(err, hook, facts.path === undefined ? undefined : displayPath(facts.path));
    }
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
        // The timer is not unref'd: with a hung agent it may be the only thing keeping the loop alive.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([Promise.resolve(it.return()).catch(() => undefined), new Promise((r) => (timer = setTimeout(r, 1000)))]);
        clearTimeout(timer);
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
