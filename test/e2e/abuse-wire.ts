/**
 * Raw-wire helpers for the daemon abuse test (daemon-abuse.test.ts): a peer
 * that writes arbitrary bytes to a daemon's port (or to an authenticated
 * stream) and reads back u32-length frames and how the connection ended; a
 * console run as a live child (`cairn --config … ARGS`) that resolves with
 * its timings; and polling a daemon's JSON log for a line. Not a test file
 * itself (no `.test.` in its name).
 */
import { spawn } from 'node:child_process';
import { connect as tcpConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { offerHandshake, type PeerRole } from '../../net/index.js';
import { CAIRN_BIN, PROJECT_ROOT, lastJson } from './cli-runner.js';

/** How a connection ended: the peer closed it (FIN), reset it, or it was still open at the deadline. */
export type Ending = 'closed' | 'reset' | 'timeout';

/** A frame: u32 BE length then the payload (a status line before and during the handshake, a control message after). */
export function frame(payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

/** A bare u32 BE word (a length that promises more than follows, or a signal). */
export function word(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

/** One end of a connection driven byte by byte. Reads everything the daemon sends, frame by frame. */
export class RawPeer {
  private buf = Buffer.alloc(0);
  private closedFlag = false;
  private resetFlag = false;
  private finFlag = false;
  private waiters: Array<() => void> = [];
  private readonly closedP: Promise<void>;

  constructor(readonly stream: Duplex) {
    stream.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      this.poke();
    });
    stream.on('end', () => {
      this.finFlag = true;
      this.poke();
    });
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') this.resetFlag = true;
    });
    this.closedP = new Promise((resolve) =>
      stream.once('close', () => {
        this.closedFlag = true;
        this.poke();
        resolve();
      }),
    );
    stream.resume();
  }

  /** A raw TCP connection to 127.0.0.1:port (nothing read or sent yet). */
  static open(port: number, host = '127.0.0.1'): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = tcpConnect({ host, port }, () => {
        s.off('error', reject);
        resolve(new RawPeer(s));
      });
      s.once('error', reject);
    });
  }

  private poke(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** The daemon ended its side (FIN received). */
  get gotFin(): boolean {
    return this.finFlag;
  }

  /** Waits until the daemon ended its side or closed (at most timeoutMs); true if it did. */
  async waitFin(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.finFlag && !this.closedFlag && Date.now() < deadline) {
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, Math.max(1, deadline - Date.now())).unref();
      });
    }
    return this.finFlag || this.closedFlag;
  }

  /** Writes bytes; resolves when the stream took them (a write error, e.g. after the daemon closed, resolves too). */
  write(bytes: Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.stream.destroyed || this.stream.writableEnded) return resolve();
      this.stream.write(bytes, () => resolve());
    });
  }

  /** The next whole frame's payload, or null if the connection ended (or the deadline passed) first. */
  async nextFrame(timeoutMs = 15_000): Promise<Buffer | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.buf.length >= 4) {
        const len = this.buf.readUInt32BE(0);
        if (len & 0x80000000) {
          // a signal (HEARTBEAT after the handshake): no payload; skip it
          this.buf = this.buf.subarray(4);
          continue;
        }
        if (this.buf.length >= 4 + len) {
          const f = this.buf.subarray(4, 4 + len);
          this.buf = this.buf.subarray(4 + len);
          return f;
        }
      }
      if (this.closedFlag || Date.now() >= deadline) return null;
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, Math.max(1, deadline - Date.now())).unref();
      });
    }
  }

  /** Every frame until the connection ends (their payloads as text), and how it ended. */
  async drain(timeoutMs = 15_000): Promise<{ texts: string[]; ending: Ending; leftover: number }> {
    const texts: string[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = await this.nextFrame(Math.max(1, deadline - Date.now()));
      if (f === null) break;
      texts.push(f.toString('latin1'));
    }
    const ending = await this.ending(Math.max(1, deadline - Date.now()));
    return { texts, ending, leftover: this.buf.length };
  }

  /** Waits for the close (at most timeoutMs) and says how the connection ended. */
  async ending(timeoutMs: number): Promise<Ending> {
    if (!this.closedFlag) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.closedP, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
    }
    if (!this.closedFlag) return 'timeout';
    return this.resetFlag ? 'reset' : 'closed';
  }

  /** Half-closes our side (FIN). */
  end(): void {
    if (!this.stream.writableEnded) this.stream.end();
  }

  /** Drops the connection hard (TCP RST where the platform allows). */
  reset(): void {
    const s = this.stream as Duplex & { resetAndDestroy?: () => void };
    if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
    else this.stream.destroy();
  }

  destroy(): void {
    this.stream.destroy();
  }
}

function readExactly(s: Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      s.off('readable', tryRead);
      s.off('close', onClose);
      if (err) reject(err);
    };
    const onClose = (): void => done(new Error('closed before the admission line'));
    const tryRead = (): void => {
      const b = s.read(n) as Buffer | null;
      if (b) {
        done();
        resolve(b);
      }
    };
    s.on('readable', tryRead);
    s.once('close', onClose);
    tryRead();
  });
}

/**
 * An authenticated session (TLS off) on a socket that stays half-open: when the daemon ends its side, ours stays
 * open until the test closes it (allowHalfOpen), the way a careless or hostile peer behaves. Resolves with the
 * peer, or with the daemon's refusal line when admission refused the connection.
 */
export async function halfOpenSession(port: number, who: { role: PeerRole; name: string; secret: string }): Promise<{ peer: RawPeer } | { refused: string }> {
  const s = tcpConnect({ host: '127.0.0.1', port, allowHalfOpen: true });
  s.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    s.once('connect', () => resolve());
    s.once('error', reject);
  });
  const head = await readExactly(s, 4);
  const line = (await readExactly(s, head.readUInt32BE(0))).toString('latin1');
  if (!line.startsWith('1000 ')) {
    s.destroy();
    return { refused: line };
  }
  await offerHandshake(s, who);
  return { peer: new RawPeer(s) };
}

export interface TimedRun {
  status: number | null;
  stdout: string;
  stderr: string;
  json: any;
  startedAt: number;
  endedAt: number;
  describe: string;
}

/** Runs `cairn ARGS…` (or another bin/ program) as a live child, so the test's event loop keeps running meanwhile. */
export function runLive(args: readonly string[], opts: { bin?: string; timeoutMs?: number } = {}): Promise<TimedRun> {
  const bin = opts.bin ?? CAIRN_BIN;
  const startedAt = performance.now();
  const child = spawn(process.execPath, [bin, ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const killer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(killer);
      const endedAt = performance.now();
      resolve({ status, stdout, stderr, json: lastJson(stdout), startedAt, endedAt, describe: `${bin} ${args.join(' ')} → ${status}\n--- stdout ---\n${stdout.slice(-3000)}\n--- stderr ---\n${stderr.slice(-3000)}` });
    });
  });
}

/** The JSON lines of a pino log that parse (others are skipped). */
export function logLines(text: string): Array<Record<string, any>> {
  const out: Array<Record<string, any>> = [];
  for (const l of text.split('\n')) {
    if (!l.startsWith('{')) continue;
    try {
      out.push(JSON.parse(l));
    } catch {
      // a partial last line
    }
  }
  return out;
}

/** Polls `read()` (a daemon's log) until a JSON line satisfies `match`; throws after timeoutMs. */
export async function waitForLogLine(read: () => string, match: (l: Record<string, any>) => boolean, timeoutMs = 10_000): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = logLines(read()).find(match);
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`no matching log line within ${timeoutMs} ms; log tail:\n${read().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
