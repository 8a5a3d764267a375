/**
 * Runs a command the way job scripts and the pipe agent need: an argv list
 * (never a shell unless the argv asks for one), its stderr and stdout kept
 * line by line (the last 200 lines), the exit status reported — and on an FD
 * only commands its own config allows (`commands.allow`), whatever a
 * Director asks.
 */
import { spawn } from 'node:child_process';
import { CairnError } from '../plugin-api/index.js';

export interface CommandResult {
  exitCode: number | null;
  signal: string | null;
  /** The last lines of stdout and stderr, in order, each prefixed "out: " / "err: ". */
  lines: string[];
}

const KEEP_LINES = 200;

export function runCommand(argv: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; allow?: readonly string[]; /** Written to the command's stdin (else it reads nothing). */ input?: string } = {}): Promise<CommandResult> {
  if (argv.length === 0 || typeof argv[0] !== 'string' || argv[0] === '') throw new CairnError('CAIRN_E_COMMAND_INVALID', 'A command is a non-empty list: the program, then its arguments.', {});
  if (opts.allow && !opts.allow.includes(argv[0])) {
    throw new CairnError('CAIRN_E_COMMAND_NOT_ALLOWED', `This FD does not run ${argv[0]}: it is not in its config's commands.allow (${opts.allow.join(', ') || 'empty'}).`, { program: argv[0] });
  }
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 3_600_000, killSignal: 'SIGKILL' });
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined); // a command that does not read its input: EPIPE is not our failure
      child.stdin.end(opts.input);
    }
    const lines: string[] = [];
    const collect = (prefix: string) => {
      let rest = '';
      return (chunk: string) => {
        const parts = (rest + chunk).split('\n');
        rest = parts.pop() ?? '';
        for (const l of parts) lines.push(prefix + l);
        if (lines.length > KEEP_LINES) lines.splice(0, lines.length - KEEP_LINES);
      };
    };
    child.stdout!.setEncoding('utf8').on('data', collect('out: '));
    child.stderr!.setEncoding('utf8').on('data', collect('err: '));
    child.on('error', (err) => reject(new CairnError('CAIRN_E_COMMAND_FAILED', `Cannot run ${argv[0]}: ${err.message}.`, { program: argv[0], errno: (err as NodeJS.ErrnoException).code }, { cause: err })));
    child.on('close', (exitCode, signal) => resolve({ exitCode, signal, lines }));
  });
}
