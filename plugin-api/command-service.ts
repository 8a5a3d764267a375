/**
 * The command service hosts hand agents (AgentContext.commands, API 1.5):
 * one implementation, used by cairn-fd's plugin host, by an agent's own
 * process under process isolation (core/agent-child.ts) and by the
 * conformance kit's mock host. It starts only programs whose argv[0] is on
 * the allow-list the host passes in — the host's own configuration, never
 * the agent's options — with an argv list (no shell unless argv[0] is one),
 * sends every stderr line to the host's job log, and kills what is still
 * running when the job's signal aborts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { basename } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { CairnError } from './errors.js';
import type { CommandExit, CommandOptions, CommandService, RunningCommand } from './types.js';

export interface CommandServiceOptions {
  /** Programs (argv[0], exact string) that may run. */
  readonly allow: readonly string[];
  /** Receives every stderr line of every program, with the program's label. */
  onStderr(label: string, line: string): void;
  /** When it aborts, every program still running is killed. */
  readonly signal?: AbortSignal;
}

/** stderr lines kept for CommandExit.stderrTail. */
const TAIL_LINES = 20;
/** A stderr "line" longer than this is cut into pieces (a program writing binary to stderr must not grow memory). */
const MAX_LINE_CHARS = 4096;
/** Between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 2000;

export function createCommandService(o: CommandServiceOptions): CommandService {
  const allowed = Object.freeze([...o.allow]);
  const running = new Set<ChildProcess>();
  o.signal?.addEventListener('abort', () => {
    for (const child of running) terminate(child);
  }, { once: true });
  return Object.freeze({
    allowed,
    spawn(argv: readonly string[], options: CommandOptions = {}): RunningCommand {
      if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== 'string') || argv[0] === '') {
        throw new CairnError('CAIRN_E_COMMAND_INVALID', 'A command is a non-empty list of strings: the program, then its arguments.', {});
      }
      const program = argv[0];
      if (!allowed.includes(program)) {
        throw new CairnError('CAIRN_E_COMMAND_NOT_ALLOWED', `This host does not run ${program}: it is not in its commands.allow (${allowed.join(', ') || 'empty'}).`, { program });
      }
      if (o.signal?.aborted) throw new CairnError('CAIRN_E_COMMAND_FAILED', `Not starting ${program}: the job was cancelled.`, { program });
      const label = options.label ?? basename(program);
      const child = spawn(program, argv.slice(1), {
        stdio: [options.stdin ?? 'ignore', options.stdout ?? 'ignore', 'pipe'],
        env: options.env ? { ...process.env, ...options.env } : process.env,
        cwd: options.cwd,
      });
      running.add(child);
      let startError: CairnError | null = null;
      const tail: string[] = [];
      const decoder = new StringDecoder('utf8');
      let partial = '';
      const line = (text: string): void => {
        tail.push(text);
        if (tail.length > TAIL_LINES) tail.shift();
        o.onStderr(label, text);
      };
      child.stderr!.on('data', (b: Buffer) => {
        const parts = (partial + decoder.write(b)).split('\n');
        partial = parts.pop() ?? '';
        for (const p of parts) line(p.replace(/\r$/, ''));
        while (partial.length > MAX_LINE_CHARS) {
          line(partial.slice(0, MAX_LINE_CHARS));
          partial = partial.slice(MAX_LINE_CHARS);
        }
      });
      const closed = new Promise<CommandExit>((resolve, reject) => {
        child.once('error', (err) => {
          startError = new CairnError('CAIRN_E_COMMAND_FAILED', `Cannot run ${program}: ${err.message}.`, { program, errno: (err as NodeJS.ErrnoException).code }, { cause: err });
        });
        child.once('close', (exitCode, signal) => {
          running.delete(child);
          const rest = partial + decoder.end();
          if (rest) line(rest);
          if (startError) reject(startError);
          else resolve({ exitCode, signal, stderrTail: [...tail] });
        });
      });
      closed.catch(() => undefined);
      // A write to a program that has exited fails with EPIPE on the stream: reported by write(), not thrown as an event.
      child.stdin?.on('error', () => undefined);
      const stdout = child.stdout;
      return Object.freeze({
        program,
        stdout: {
          async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
            if (!stdout) return;
            for await (const chunk of stdout) yield chunk as Buffer;
          },
        },
        write(chunk: Uint8Array): Promise<void> {
          const stdin = child.stdin;
          if (!stdin) return Promise.reject(new CairnError('CAIRN_E_COMMAND_INVALID', `${program} was started without stdin: 'pipe'.`, { program }));
          return new Promise<void>((resolve, reject) => {
            // Resolved once the pipe took the bytes (the callback): the caller may reuse the chunk then.
            stdin.write(chunk, (err) => {
              if (!err) return resolve();
              reject(startError ?? new CairnError('CAIRN_E_COMMAND_FAILED', `${program} no longer reads its input (${err.message}); it may have exited.`, { program, errno: (err as NodeJS.ErrnoException).code }, { cause: err }));
            });
          });
        },
        end(): Promise<void> {
          const stdin = child.stdin;
          if (!stdin || stdin.writableEnded) return Promise.resolve();
          return new Promise<void>((resolve) => stdin.end(() => resolve()));
        },
        wait: () => closed,
        kill: () => terminate(child),
      });
    },
  });
}

function terminate(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const t = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }, KILL_GRACE_MS);
  t.unref();
  child.once('exit', () => clearTimeout(t));
}
