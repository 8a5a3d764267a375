/**
 * The AgentContext inside an agent's own process (process isolation): the
 * same members the in-process host gives (core/agent-context.ts), served
 * across the IPC channel. log and jobMessage become EVENT frames; progress
 * is summed and sent with the next reply (or every 250 ms); the signal
 * aborts on the host's ABORT frame; isIncluded runs here on the line's
 * include/exclude rules; chunkBuffer hands out recycled memory that is
 * taken back once its frame is written; commands runs only the host's
 * commands.allow; the base tree of an Incremental is read from the host
 * in pages.
 */
import type { Socket } from 'node:net';
import {
  CairnError,
  createCommandService,
  nodePlatformFileServices,
  type AgentContext,
  type AgentManifest,
  type ApiVersion,
  type BaseFile,
  type BaseJob,
  type BackupJob,
  type JobMessageLevel,
  type PlatformFileServices,
} from '../plugin-api/index.js';
import { platformFileServices } from '../native/index.js';
import { includeMatcher } from './agent-context.js';
import { ChunkBuffers } from './chunk-buffers.js';
import { Kind, sendControl, sendFrame } from './ipc-frames.js';

/** What the host sends with `create`. */
export interface CreateArgs {
  api: ApiVersion;
  host: { name: string; version: string };
  jobId: number;
  include: string[];
  exclude: string[];
  allowCommands: string[];
  /** Which platform services the host itself uses: the addon's, or the pure-Node ones. */
  platform: 'native' | 'node';
}

/** A BackupJob as it crosses the channel: the base job's file iterator replaced by a reference. */
export type WireJob = Omit<BackupJob, 'base'> & { base?: { jobId: number; level: BaseJob['level']; startedAt: Date; ref: number } };

/** Events the child sends (EVENT frames). */
export type ChildEvent =
  | { t: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string; facts?: Record<string, unknown> }
  | { t: 'msg'; level: JobMessageLevel; text: string; path?: Uint8Array; code?: string }
  | { t: 'progress'; bytes: number; file?: Uint8Array };

export interface BasePage {
  rows?: BaseFile[];
  done?: boolean;
  error?: string;
}

export interface ChildContext {
  readonly ctx: AgentContext;
  abort(reason: { code: string; message: string }): void;
  flushProgress(): void;
  /** A chunk's frame was written: its chunk buffer may be handed out again. */
  chunkDone(data: Uint8Array): void;
  /** Asks the host for the next page of a base-files cursor. */
  nextBasePage(baseRef: number, cursor: number): Promise<BasePage>;
  basePage(cursor: number, page: BasePage): void;
  newCursor(): number;
  /** The line's include/exclude rules, from prepareBackup's job (what the host's isIncluded uses). */
  setRules(include: readonly string[], exclude: readonly string[]): void;
}

const PROGRESS_EVERY_MS = 250;

export function childContext(manifest: AgentManifest, a: CreateArgs, sock: Socket): ChildContext {
  const controller = new AbortController();
  const chunks = new ChunkBuffers();
  const event = (e: ChildEvent): void => {
    try {
      sendControl(sock, Kind.EVENT, 0, e);
    } catch {
      // facts that cannot be cloned: send the message alone
      if (e.t === 'log') sendControl(sock, Kind.EVENT, 0, { ...e, facts: undefined });
    }
  };
  let bytes = 0;
  let lastFile: Uint8Array | undefined;
  let timer: NodeJS.Timeout | null = null;
  const flushProgress = (): void => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (bytes === 0 && lastFile === undefined) return;
    event({ t: 'progress', bytes, file: lastFile });
    bytes = 0;
    lastFile = undefined;
  };
  const progressSoon = (): void => {
    if (timer) return;
    timer = setTimeout(flushProgress, PROGRESS_EVERY_MS);
    timer.unref();
  };
  const log = (level: 'debug' | 'info' | 'warn' | 'error') => (msg: string, facts?: Record<string, unknown>) => event({ t: 'log', level, msg: String(msg), facts });
  const jobMessage = (level: JobMessageLevel, text: string, facts?: { path?: Uint8Array; code?: string }): void =>
    event({ t: 'msg', level, text: String(text), path: facts?.path ? Uint8Array.from(facts.path) : undefined, code: facts?.code });
  const platform: PlatformFileServices = a.platform === 'native' ? platformFileServices() : nodePlatformFileServices();
  const pages = new Map<number, (p: BasePage) => void>();
  let included = includeMatcher(a.include, a.exclude);
  let cursors = 0;
  const ctx: AgentContext = Object.freeze({
    agent: Object.freeze({ name: manifest.name, version: manifest.version }),
    api: a.api,
    host: Object.freeze({ ...a.host }),
    log: Object.freeze({ debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }),
    jobMessage,
    progress: Object.freeze({
      bytes: (n: number) => {
        bytes += n;
        progressSoon();
      },
      file: (p: Uint8Array) => {
        lastFile = Uint8Array.from(p);
        progressSoon();
      },
    }),
    signal: controller.signal,
    isIncluded: (path: Uint8Array | string) => included(path),
    platform,
    chunkBuffer: (size: number) => chunks.take(size),
    commands: createCommandService({ allow: a.allowCommands, signal: controller.signal, onStderr: (label, line) => jobMessage('info', `${label}: ${line}`) }),
  });
  return {
    ctx,
    abort: (r) => controller.abort(new CairnError(r.code, r.message, {})),
    flushProgress,
    chunkDone: (data) => chunks.done(data),
    newCursor: () => ++cursors,
    setRules: (include, exclude) => (included = includeMatcher(include, exclude)),
    nextBasePage(baseRef, cursor) {
      return new Promise<BasePage>((resolve) => {
        pages.set(cursor, resolve);
        sendFrame(sock, Kind.BASE_NEXT, cursor, { ref: baseRef });
      });
    },
    basePage(cursor, page) {
      const r = pages.get(cursor);
      pages.delete(cursor);
      r?.(page);
    },
  };
}

/** BaseJob inside the child: files() reads the host's base tree in pages, in tree order, once per call. */
export function remoteBaseJob(wire: NonNullable<WireJob['base']>, cx: ChildContext): BaseJob {
  return {
    jobId: wire.jobId,
    level: wire.level,
    startedAt: wire.startedAt,
    async *files(): AsyncGenerator<BaseFile> {
      const cursor = cx.newCursor();
      for (;;) {
        const page = await cx.nextBasePage(wire.ref, cursor);
        if (page.error) throw new CairnError('CAIRN_E_FD_PIPELINE', `the host could not read the base files: ${page.error}`, {});
        yield* page.rows ?? [];
        if (page.done) return;
      }
    },
  };
}
