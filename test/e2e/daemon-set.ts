/**
 * A Director, an FD and an SD as three child processes on loopback ports
 * chosen at run time, configured by the quickstart (config/quickstart.ts),
 * optionally with TLS (PSK) on every connection. For the network
 * acceptance tests; not a test file itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, openSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, isAbsolute, join } from 'node:path';
import type { TestContext } from 'node:test';
import { createRequire } from 'node:module';
import { writeQuickstart, type QuickstartResult } from '../../config/index.js';
import { PROJECT_ROOT, cairn, type CairnRun } from './cli-runner.js';

type Kind = 'dir' | 'fd' | 'sd';

export interface DaemonSetOptions {
  source: string;
  /** TLS mode written into every connection's config (default: the quickstart's, off on loopback). */
  tls?: 'psk';
  /**
   * The SD opens no TCP port: the Director and the FD reach it by running `cairn-sd --stdio --config …`
   * (what `ssh storagehost cairn-sd --stdio` would run), which relays to the daemon's Unix socket.
   */
  sdOverStdio?: boolean;
  /** Edits to the written configs (parsed YAML objects), before the daemons start. */
  edit?: Partial<Record<Kind | 'console', (doc: any) => void>>;
}

export interface DaemonSet {
  dir: string;
  qs: QuickstartResult;
  /** Runs `cairn --config console.yaml ARGS…` to completion. */
  console(args: readonly string[]): CairnRun;
  start(kind: Kind): Promise<void>;
  /** Sends a signal and waits for the process to exit. */
  stop(kind: Kind, signal?: NodeJS.Signals): Promise<number | null>;
  log(kind: Kind): string;
}

const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');

function editYaml(file: string, fn: (doc: any) => void): void {
  const text = readFileSync(file, 'utf8');
  const doc = yaml.parse(text);
  fn(doc);
  writeFileSync(file, yaml.stringify(doc), { mode: 0o600 });
}

function portOpen(port: number | string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = typeof port === 'string' ? createConnection(port) : createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** Starts `cairn-KIND --config FILE --foreground`, its output appended to `log`, and waits until it listens on `port` (a TCP port or a Unix socket path). */
export async function spawnDaemon(kind: Kind, config: string, port: number | string, log: string): Promise<ChildProcess> {
  const out = openSync(log, 'a');
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', `cairn-${kind}.js`), '--config', config, '--foreground'], { cwd: PROJECT_ROOT, stdio: ['ignore', out, out] });
  const deadline = Date.now() + 30_000;
  while (!(await portOpen(port))) {
    if (child.exitCode !== null) throw new Error(`cairn-${kind} exited ${child.exitCode} at start:\n${readFileSync(log, 'utf8').slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`cairn-${kind} did not listen within 30 s:\n${readFileSync(log, 'utf8').slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

export { editYaml };

/** Every file under `dir` (recursively) whose name `match` accepts: the volumes, bootstrap files… daemons wrote. */
export function findFiles(dir: string, match: (name: string) => boolean, out: string[] = []): string[] {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) findFiles(p, match, out);
    else if (match(n)) out.push(p);
  }
  return out;
}

/**
 * Another File Daemon beside a set's own: its config is the set's cairn-fd.yaml under another name, port and
 * working directory (then `edit`), started in the background and killed when the test ends. The Director's
 * config must list it as a client of that name and port.
 */
export async function startExtraFd(t: TestContext, d: DaemonSet, o: { name: string; port: number; edit?: (doc: any) => void }): Promise<ChildProcess> {
  const conf = join(d.dir, `cairn-fd-${o.name}.yaml`);
  copyFileSync(d.qs.files.fd, conf);
  editYaml(conf, (doc) => {
    doc.fd.name = o.name;
    doc.fd.listen.port = o.port;
    doc.fd.workingDirectory = join(d.dir, `fd-${o.name}`);
    o.edit?.(doc);
  });
  const child = await spawnDaemon('fd', conf, o.port, join(d.dir, `fd-${o.name}.out`));
  t.after(() => child.kill('SIGKILL'));
  return child;
}

export async function startDaemonSet(t: TestContext, dir: string, o: DaemonSetOptions): Promise<DaemonSet> {
  const qs = await writeQuickstart(dir, { source: o.source });
  if (o.tls) {
    const tls = { mode: o.tls };
    editYaml(qs.files.dir, (d) => {
      d.director.tls = tls;
      for (const c of d.clients) c.tls = tls;
      for (const s of d.storages) s.tls = tls;
    });
    editYaml(qs.files.fd, (d) => (d.fd.tls = tls));
    editYaml(qs.files.sd, (d) => (d.sd.tls = tls));
    editYaml(qs.files.console, (d) => (d.director.tls = tls));
  }
  const ports: Record<Kind, number | string> = { ...qs.ports };
  if (o.sdOverStdio) {
    const command = [process.execPath, join(PROJECT_ROOT, 'bin', 'cairn-sd.js'), '--stdio', '--config', qs.files.sd];
    let storage = '';
    editYaml(qs.files.sd, (d) => {
      delete d.sd.listen;
      const wd: string = d.sd.workingDirectory;
      ports.sd = join(isAbsolute(wd) ? wd : join(dirname(qs.files.sd), wd), 'cairn-sd.sock');
    });
    editYaml(qs.files.dir, (d) => {
      const s = d.storages[0];
      delete s.address;
      delete s.port;
      s.command = command;
      storage = s.name;
    });
    editYaml(qs.files.fd, (d) => (d.storages = [{ name: storage, command }]));
  }
  for (const [k, fn] of Object.entries(o.edit ?? {})) editYaml(qs.files[k as Kind | 'console'], fn!);
  const children = new Map<Kind, ChildProcess>();
  const logs: Record<Kind, string> = { dir: join(dir, 'dir.out'), fd: join(dir, 'fd.out'), sd: join(dir, 'sd.out') };

  const start = async (kind: Kind): Promise<void> => {
    children.set(kind, await spawnDaemon(kind, qs.files[kind], ports[kind], logs[kind]));
  };
  const stop = (kind: Kind, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
    const child = children.get(kind);
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child?.exitCode ?? null);
    return new Promise((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.kill(signal);
    });
  };
  t.after(async () => {
    for (const k of ['dir', 'fd', 'sd'] as const) await stop(k, 'SIGKILL');
  });
  for (const k of ['sd', 'fd', 'dir'] as const) await start(k);
  return {
    dir,
    qs,
    console: (args) => cairn(null, ['--config', qs.files.console, ...args]),
    start,
    stop,
    log: (kind) => readFileSync(logs[kind], 'utf8'),
  };
}
