/**
 * `cairn quickstart DIR [--source PATH] [--start]`: writes a working
 * three-daemon config set (config/quickstart.ts) and, with --start, starts
 * cairn-sd, cairn-fd and cairn-dir in the background, waits until each
 * listens, and prints their pids and the console command line to use.
 */
import { execFileSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { fileURLToPath } from 'node:url';
import { CairnError } from '../../plugin-api/index.js';
import { writeQuickstart } from '../../config/index.js';
import type { Output } from './output.js';

const BIN = fileURLToPath(new URL('../../../bin/', import.meta.url));

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

async function waitListening(port: number, what: string, log: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (await portOpen(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new CairnError('CAIRN_E_DAEMON_START', `${what} did not start listening on 127.0.0.1:${port} within 20 s; see its log ${log}`, { port, log });
}

export async function cmdQuickstart(args: { dir: string; source?: string; start: boolean; json: boolean }, out: Output): Promise<number> {
  const r = await writeQuickstart(args.dir, { source: args.source ?? process.cwd() });
  const pids: Record<string, number> = {};
  if (args.start) {
    for (const [kind, file, port] of [['sd', r.files.sd, r.ports.sd], ['fd', r.files.fd, r.ports.fd], ['dir', r.files.dir, r.ports.dir]] as const) {
      const said = execFileSync(process.execPath, [`${BIN}cairn-${kind}.js`, '--config', file], { encoding: 'utf8' });
      pids[kind] = Number(/pid (\d+)/.exec(said)?.[1] ?? 0);
      await waitListening(port, `cairn-${kind}`, /log (\S+)/.exec(said)?.[1] ?? 'in its working directory');
    }
  }
  const consoleLine = `cairn --config ${r.files.console}`;
  out.data({ files: r.files, ports: r.ports, pids: args.start ? pids : undefined, console: consoleLine }, () =>
    [
      `wrote ${r.files.dir}, ${r.files.fd}, ${r.files.sd}, ${r.files.console} (mode 0600: they hold fresh secrets)`,
      args.start ? `started cairn-sd (pid ${pids.sd}), cairn-fd (pid ${pids.fd}), cairn-dir (pid ${pids.dir}) on 127.0.0.1 ports ${r.ports.sd}, ${r.ports.fd}, ${r.ports.dir}` : `start the daemons: cairn-sd --config ${r.files.sd}; cairn-fd --config ${r.files.fd}; cairn-dir --config ${r.files.dir}`,
      `then: ${consoleLine} run demo --wait`,
      `and:  ${consoleLine} restore latest --job demo --to OUT --wait`,
    ].join('\n'),
  );
  return 0;
}
