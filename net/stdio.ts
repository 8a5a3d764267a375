/**
 * Byte streams over pipes: stdioDuplex joins a process's stdin and stdout
 * into one Duplex (`cairn-sd --stdio`, run as `ssh host cairn-sd --stdio`;
 * nothing else may write to stdout then), and spawnDuplex starts a command
 * (no shell) and joins its stdout and stdin, passing its stderr on line by
 * line. A child that exits non-zero or by a signal ends the stream with
 * CAIRN_E_NET_PEER_EXIT. The handshake runs over these like over TCP; there
 * is no admission line and no TLS (ssh carries its own).
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { Duplex, type Readable, type Writable } from 'node:stream';
import { CairnError } from '../plugin-api/index.js';

/** A Duplex reading `input` and writing `output`, honouring back-pressure both ways. */
class PipeDuplex extends Duplex {
  private holdEnd = false;
  private inputEnded = false;

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
  ) {
    super();
    input.on('data', (chunk: Buffer | string) => {
      if (!this.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)) input.pause();
    });
    input.on('end', () => {
      this.inputEnded = true;
      if (!this.holdEnd) this.push(null);
    });
    input.on('error', (err) => this.destroy(err));
    output.on('error', (err) => this.destroy(err));
    input.pause();
  }

  /** The readable side ends only when finishEnd() says so (a child's exit status decides first). */
  holdEndUntilFinished(): void {
    this.holdEnd = true;
  }

  finishEnd(): void {
    this.holdEnd = false;
    if (this.inputEnded) this.push(null);
  }

  override _read(): void {
    this.input.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.output.write(chunk)) cb();
    else this.output.once('drain', () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.output.end(() => cb());
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.input.pause();
    cb(err);
  }
}

/** stdin and stdout as one stream. */
export function stdioDuplex(stdin: Readable = process.stdin, stdout: Writable = process.stdout): Duplex {
  return new PipeDuplex(stdin, stdout);
}

export interface SpawnDuplexOptions {
  /** Each line the child writes to stderr (without the newline). */
  onStderr?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Starts argv[0] with argv[1..] (no shell); its stdout and stdin become `stream`. */
export function spawnDuplex(argv: readonly string[], opts: SpawnDuplexOptions = {}): { stream: Duplex; child: ChildProcess } {
  if (argv.length === 0) throw new CairnError('CAIRN_E_NET_CONFIG', 'spawnDuplex needs a command.', {});
  const spawnOpts: SpawnOptions = { stdio: ['pipe', 'pipe', 'pipe'], shell: false, env: opts.env, cwd: opts.cwd };
  const child = spawn(argv[0], argv.slice(1), spawnOpts);
  const stream = new PipeDuplex(child.stdout!, child.stdin!);
  stream.holdEndUntilFinished();
  let pending = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    pending += text;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      opts.onStderr?.(pending.slice(0, nl).replace(/\r$/, ''));
      pending = pending.slice(nl + 1);
    }
  });
  child.stderr!.on('end', () => {
    if (pending) opts.onStderr?.(pending);
    pending = '';
  });
  child.stdin!.on('error', () => undefined); // EPIPE after the child died: reported by its exit below
  child.once('error', (err: NodeJS.ErrnoException) => {
    stream.destroy(new CairnError('CAIRN_E_NET_SPAWN', `Cannot start ${argv[0]}: ${err.message}.`, { command: argv[0], errno: err.code }, { cause: err }));
  });
  child.once('close', (code, signal) => {
    if (code === 0) {
      stream.finishEnd();
      return;
    }
    if (stream.destroyed) return;
    const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
    stream.destroy(new CairnError('CAIRN_E_NET_PEER_EXIT', `${argv[0]} ${how}.`, { command: argv[0], exitCode: code, signal }, { retryable: true }));
  });
  return { stream, child };
}
