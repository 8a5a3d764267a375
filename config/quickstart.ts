/**
 * The quickstart generator: four configuration files (Director, File Daemon,
 * Storage Daemon, console) that work together on one machine, on free
 * loopback ports, with fresh random secrets and everything under one folder.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CairnError } from '../plugin-api/index.js';
import { freeLoopbackPorts } from './free-ports.js';
import { SCHEMA_BASE_URL } from './schemas/common.js';

export interface QuickstartPorts {
  dir: number;
  fd: number;
  sd: number;
}

export interface QuickstartOptions {
  /** What the demo job backs up (made absolute). */
  source: string;
  /** Ports to use instead of free ones found now. */
  ports?: Partial<QuickstartPorts>;
}

export interface QuickstartResult {
  files: { dir: string; fd: string; sd: string; console: string };
  ports: QuickstartPorts;
}

const secret = (): string => randomBytes(24).toString('base64url');
/** A YAML double-quoted scalar (JSON strings are valid YAML). */
const q = (s: string): string => JSON.stringify(s);
const header = (schema: string, what: string): string =>
  `# yaml-language-server: $schema=${SCHEMA_BASE_URL}${schema}.schema.json\n# ${what}, written by the Cairn quickstart (docs/config.md). It holds secrets: keep it mode 0600.\n`;

export async function writeQuickstart(dir: string, options: QuickstartOptions): Promise<QuickstartResult> {
  const root = resolve(dir);
  const files = { dir: join(root, 'cairn-dir.yaml'), fd: join(root, 'cairn-fd.yaml'), sd: join(root, 'cairn-sd.yaml'), console: join(root, 'console.yaml') };
  for (const f of Object.values(files)) {
    if (existsSync(f)) throw new CairnError('CAIRN_E_CONFIG_EXISTS', `${f} already exists; the quickstart does not overwrite configuration files (move it away or pick another folder)`, { file: f });
  }
  const given = options.ports ?? {};
  const missing = (['dir', 'fd', 'sd'] as const).filter((k) => given[k] === undefined);
  const found = await freeLoopbackPorts(missing.length);
  const ports = { ...given } as QuickstartPorts;
  missing.forEach((k, i) => (ports[k] = found[i]));

  const source = resolve(options.source);
  const work = { dir: join(root, 'dir'), fd: join(root, 'fd'), sd: join(root, 'sd'), volumes: join(root, 'volumes') };
  for (const d of Object.values(work)) mkdirSync(d, { recursive: true, mode: 0o700 });
  const pw = { console: secret(), fd: secret(), sd: secret() };

  const texts: Record<keyof typeof files, string> = {
    dir: `${header('cairn-dir', 'Director configuration')}
director:
  name: dir1
  listen: { address: 127.0.0.1, port: ${ports.dir} }
  workingDirectory: ${q(work.dir)}
  catalog: { engine: sqlite, path: catalog.db }
consoles:
  - name: admin
    password: ${q(pw.console)}
clients:
  - name: local-fd
    address: 127.0.0.1
    port: ${ports.fd}
    password: ${q(pw.fd)}
storages:
  - name: File1
    address: 127.0.0.1
    port: ${ports.sd}
    password: ${q(pw.sd)}
    device: FileStorage
    mediaType: File
pools:
  - name: Default
    labelFormat: 'Default-\${Counter:4}'
filesets:
  - name: demo
    include: [${q(source)}]
schedules:
  - name: nightly
    run: ['daily at 23:05']
jobs:
  - name: demo
    client: local-fd
    fileset: demo
    storage: File1
    pool: Default
    level: incremental
    # schedule: nightly      # uncomment to run the job every night at 23:05
`,
    fd: `${header('cairn-fd', 'File Daemon configuration')}
fd:
  name: local-fd
  listen: { address: 127.0.0.1, port: ${ports.fd} }
  workingDirectory: ${q(work.fd)}
directors:
  - name: dir1
    password: ${q(pw.fd)}
`,
    sd: `${header('cairn-sd', 'Storage Daemon configuration')}
sd:
  name: File1
  listen: { address: 127.0.0.1, port: ${ports.sd} }
  workingDirectory: ${q(work.sd)}
directors:
  - name: dir1
    password: ${q(pw.sd)}
devices:
  - name: FileStorage
    type: file
    mediaType: File
    path: ${q(work.volumes)}
`,
    console: `${header('cairn-console', 'Console configuration')}
console: { name: admin }
director:
  name: dir1
  address: 127.0.0.1
  port: ${ports.dir}
  password: ${q(pw.console)}
`,
  };
  for (const k of Object.keys(files) as Array<keyof typeof files>) writeFileSync(files[k], texts[k], { flag: 'wx', mode: 0o600 });
  return { files, ports };
}
