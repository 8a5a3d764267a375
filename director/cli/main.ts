/**
 * `cairn` — the console. In local mode (the default, no daemons) it runs
 * Director, FD and SD in this process against a repository folder.
 */
import { HOST_VERSION } from '../../core/index.js';
import { CairnError } from '../../plugin-api/index.js';
import { cmdBackup, cmdEstimate, cmdInit, cmdJobs, cmdLs, cmdRestore, cmdVerify, type CommonArgs } from './commands.js';
import { parseCommandLine, type Program } from './command-line.js';
import { makeOutput, type Output } from './output.js';
import { keepOptions } from './retention-commands.js';

/** The console's commands: what each takes, and what runs it. */
function program(out: Output): Program {
  const job = { name: 'job', required: true };
  /** Which backup: an id or "latest" (ls and restore, whose --job names the job in remote mode). */
  const backup = { name: 'backup', required: true };
  const as = <T>(fn: (a: T, out: Output) => Promise<number>) => (a: Record<string, unknown>) => fn(a as T, out);
  // The remote console is loaded only when used: config/ and net/ cost local commands start-up time for nothing.
  type Remote = typeof import('./remote-commands.js');
  const remote = () => import('./remote-commands.js');
  const retention = () => import('./retention-commands.js');
  /** With --config the command asks the Director; without, it runs in local mode. */
  const remoteOr =
    <L>(r: (m: Remote, a: Record<string, unknown>) => Promise<number>, l: (a: L, out: Output) => Promise<number>) =>
    async (a: Record<string, unknown>) =>
      a.config ? r(await remote(), a) : l(a as L, out);
  const remoteOnly = (name: string, r: (m: Remote, a: Record<string, unknown>) => Promise<number>) => async (a: Record<string, unknown>) => {
    const m = await remote();
    m.needConfig(a, name);
    return r(m, a);
  };
  return {
    name: 'cairn',
    version: HOST_VERSION,
    options: {
      repo: { type: 'string', describe: 'repository folder (default: $CAIRN_REPO or ~/.local/share/cairn/repo)' },
      config: { type: 'string', describe: 'console.yaml: talk to a running Director instead of a local repository' },
      json: { type: 'boolean', describe: 'print results as JSON on stdout' },
      wait: { type: 'boolean', describe: 'local mode: wait for the repository lock; with --config: wait for the job to end' },
    },
    commands: [
      {
        name: 'init',
        describe: 'create a repository (--encrypt: client-side encrypted; --vtape: a virtual tape device)',
        options: {
          encrypt: { type: 'boolean', describe: 'encrypt every backup on this machine before it is stored (docs/encryption.md)' },
          key: { type: 'string', describe: 'with --encrypt: the client key file (private or write-only); a new key is written there (mode 0600) when it does not exist' },
          'master-public-key': { type: 'string', array: true, describe: 'with --encrypt: a master recovery key (its public half) every job is also wrapped to' },
          cipher: { type: 'string', choices: ['aes-256-gcm', 'chacha20-poly1305'], describe: 'with --encrypt: the bulk cipher (default aes-256-gcm)' },
          vtape: { type: 'string', describe: 'use a vtape device instead of file volumes: a vtape file, or with --slots a changer folder (relative to the repository)' },
          slots: { type: 'number', describe: 'with --vtape: an autochanger with this many slots' },
          capacity: { type: 'number', describe: 'with --vtape: blank vtapes of this many bytes are created at first use' },
          'filemark-bytes': { type: 'number', describe: 'with --vtape: bytes per tape file (default 1 GiB)' },
          spool: { type: 'boolean', describe: 'with --vtape: spool job data to disk and despool it to the tape' },
        },
        run: as(cmdInit),
      },
      ...(['media', 'mount', 'unmount', 'label'] as const).map((op) => ({
        name: op,
        describe: {
          media: 'tape media: the drive, the slots, a pending mount request, the volumes',
          mount: 'load SLOT into the tape drive (changer), or re-read the tape an operator put in it; wakes a job waiting for media',
          unmount: 'unload the tape drive (back to its slot with a changer)',
          label: 'label the tape in the drive (or --slot) as NAME (default: the pool\'s label template); a labelled tape is overwritten only when recyclable',
        }[op],
        positionals: op === 'mount' ? [{ name: 'slot' }] : op === 'label' ? [{ name: 'name' }] : [],
        options: {
          storage: { type: 'string' as const, describe: 'with --config: the storage (SD) to ask' },
          device: { type: 'string' as const, describe: 'the SD device (default: its first tape device)' },
          ...(op === 'label' ? { pool: { type: 'string' as const, describe: 'the pool of the new volume (default: the repository\'s)' }, slot: { type: 'number' as const, describe: 'label the tape in this changer slot' } } : {}),
          ...(op === 'media' ? { scan: { type: 'boolean' as const, describe: 'load every tape whose label is not known yet and read it' } } : {}),
        },
        run: async (a: Record<string, unknown>) => (await import('./media-commands.js')).cmdMedia(op, { ...a, slot: a.slot === undefined ? undefined : Number(a.slot) } as never, out),
      })),
      {
        name: 'backup',
        describe: 'back up paths (or a --fileset) into the repository',
        positionals: [{ name: 'paths', variadic: true }],
        options: {
          level: { type: 'string', choices: ['full', 'incremental', 'differential'], default: 'incremental', describe: 'an Incremental with no base runs as Full' },
          fileset: { type: 'string', describe: 'fileset YAML file (include/exclude, options, agent lines)' },
          name: { type: 'string', describe: 'job name (default: derived from the paths or the fileset name)' },
          option: { type: 'string', array: true, describe: 'AGENT.KEY=VALUE: an agent option for this job (VALUE is JSON or text; { "env": NAME } / { "file": PATH } for secrets)' },
        },
        run: as(cmdBackup),
      },
      { name: 'jobs', describe: 'list jobs', options: { limit: { type: 'number', default: 50, describe: 'newest jobs shown' } }, run: remoteOr((m, a) => m.remoteJobs(a as never, out), cmdJobs) },
      {
        name: 'run',
        describe: 'run a job of the Director (needs --config)',
        positionals: [job],
        options: {
          level: { type: 'string', choices: ['full', 'incremental', 'differential'], describe: "override the job's level" },
          option: { type: 'string', array: true, describe: 'AGENT.KEY=VALUE: an agent option for this run (over the job entry and the fileset)' },
        },
        run: remoteOnly('run', (m, a) => m.remoteRun(a as never, out)),
      },
      { name: 'status', describe: 'status [dir | client NAME | storage NAME] (needs --config)', positionals: [{ name: 'what' }, { name: 'name' }], run: remoteOnly('status', (m, a) => m.remoteStatus(a as never, out)) },
      {
        name: 'estimate',
        describe: 'files and bytes a job would send at its level, nothing sent: a job of the Director (with --config), or PATHs in local mode',
        positionals: [{ name: 'target', variadic: true }],
        options: {
          level: { type: 'string', choices: ['full', 'incremental', 'differential'], describe: "the level to estimate (default: the job's)" },
          fileset: { type: 'string', describe: 'local mode: a fileset file instead of PATHs' },
        },
        run: remoteOr((m, a) => m.remoteEstimate({ ...a, job: ((a as { target?: string[] }).target ?? [])[0] } as never, out), cmdEstimate),
      },
      { name: 'wait', describe: 'wait for a running job and print its report; exit status as the job (needs --config)', positionals: [{ name: 'jobid', required: true }], run: remoteOnly('wait', (m, a) => m.remoteWait({ ...a, jobid: Number(a.jobid) } as never, out)) },
      { name: 'cancel', describe: 'cancel a running job (needs --config)', positionals: [{ name: 'jobid', required: true }], run: remoteOnly('cancel', (m, a) => m.remoteCancel({ ...a, jobid: Number(a.jobid) } as never, out)) },
      { name: 'messages', describe: "a job's log (needs --config)", positionals: [{ name: 'jobid', required: true }], run: remoteOnly('messages', (m, a) => m.remoteMessages({ ...a, jobid: Number(a.jobid) } as never, out)) },
      {
        name: 'quickstart',
        describe: 'write a working three-daemon config set into DIR (and --start the daemons)',
        positionals: [{ name: 'dir', required: true }],
        options: { source: { type: 'string', describe: 'what the demo job backs up (default: the current folder)' }, start: { type: 'boolean', describe: 'start cairn-sd, cairn-fd and cairn-dir in the background' } },
        run: async (a) => (await import('./quickstart-command.js')).cmdQuickstart(a as never, out),
      },
      {
        name: 'ls',
        describe: 'list the tree as at a backup job (id or "latest")',
        positionals: [backup, { name: 'path' }],
        options: { 'as-at': { type: 'string', describe: 'list the tree as it was at this time' }, job: { type: 'string', describe: 'with --config: the job name "latest" refers to' } },
        run: remoteOr((m, a) => m.remoteLs({ ...a, job: a.backup, jobName: a.job } as never, out), (a: Record<string, unknown>) => cmdLs({ ...a, job: a.backup } as never, out)),
      },
      {
        name: 'restore',
        describe: 'restore a backup job (id or "latest"), or what a --bootstrap file names, into --to',
        positionals: [{ name: 'backup' }, { name: 'paths', variadic: true }],
        options: {
          to: { type: 'string', required: true, describe: 'target folder' },
          bootstrap: { type: 'string', describe: 'restore what this bootstrap file names (docs/bootstrap.md), without the catalog' },
          'as-at': { type: 'string', describe: 'restore the tree as it was at this time (ISO 8601 or epoch seconds)' },
          replace: { type: 'string', choices: ['always', 'never', 'ifnewer', 'ifolder'], default: 'always' },
          'dry-run': { type: 'boolean', describe: 'list what would be restored' },
          job: { type: 'string', describe: 'with --config: the job name "latest" refers to' },
          client: { type: 'string', describe: 'with --config: restore onto this client instead of the one backed up' },
          copy: { type: 'number', describe: "with --config: 1 reads the job's mirrored copy (its job's mirrorDevice) instead of the primary volumes" },
          key: { type: 'string', array: true, describe: 'encrypted jobs: a private key file to open them with (the client key or a master key)' },
          option: { type: 'string', array: true, describe: 'AGENT.KEY=VALUE: an agent option for this restore (e.g. pipe.toFiles=true)' },
          keyring: { type: 'string', array: true, describe: 'with --bootstrap: a keyring file (cairn key rotate / export-keyring) with later wraps of the jobs\' data keys' },
        },
        run: remoteOr(
          (m, a) => {
            if (a.bootstrap) throw new CairnError('CAIRN_E_NOT_AVAILABLE', 'restore --bootstrap runs in local mode (or use cairn-bextract): the Director restores from its catalog', {});
            if (a.backup === undefined) throw new CairnError('CAIRN_E_USAGE', 'cairn restore needs its BACKUP argument (a job id or "latest")', { argument: 'backup' });
            return m.remoteRestore({ ...a, job: a.backup, jobName: a.job } as never, out);
          },
          (a: Record<string, unknown>) => cmdRestore({ ...a, job: a.backup } as never, out),
        ),
      },
      {
        name: 'verify',
        describe: 'verify a backup job (id or "latest"): live files, volumes or data against the catalog',
        positionals: [job],
        options: {
          level: {
            type: 'string',
            choices: ['catalog', 'volume', 'data'],
            default: 'data',
            describe: 'catalog: live files vs the catalog; volume: the SD checks blocks and records, no data moves, no key; data: the FD reads the data back and checks every digest',
          },
          'job-name': { type: 'string', describe: 'with --config: the job name "latest" refers to' },
          key: { type: 'string', array: true, describe: 'encrypted jobs: a private key file (data level); a key file whose fingerprint is the manifest\'s signer, public suffices (volume level)' },
        },
        run: remoteOr((m, a) => m.remoteVerify({ ...a, jobName: a.jobName } as never, out), cmdVerify),
      },
      {
        name: 'prune',
        describe: 'remove expired jobs and file records by the pools\' rules, recycle volumes no kept job uses',
        options: {
          'dry-run': { type: 'boolean', describe: 'list what would go and why (and which rule keeps each kept job)' },
          pool: { type: 'string', describe: 'act on this pool\'s jobs and volumes only' },
          ...keepOptions(),
        },
        run: remoteOr((m, a) => m.remotePrune(a as never, out), async (a: Record<string, unknown>) => (await retention()).cmdPrune(a as never, out)),
      },
      { name: 'protect', describe: 'never prune a job (id) or recycle a volume (name); --off undoes it', positionals: [{ name: 'target', required: true }], options: { off: { type: 'boolean', describe: 'remove the protection' } }, run: remoteOr((m, a) => m.remoteProtect(a as never, out), async (a: Record<string, unknown>) => (await retention()).cmdProtect(a as never, out)) },
      { name: 'volumes', describe: 'list volumes: state, bytes, jobs, last written, expiry', options: { pool: { type: 'string', describe: 'only this pool' } }, run: remoteOr((m, a) => m.remoteList('volumes', a as never, out), async (a: Record<string, unknown>) => (await retention()).cmdVolumes(a as never, out)) },
      { name: 'pools', describe: 'list pools: settings, volumes by state, bytes, jobs', run: remoteOr((m, a) => m.remoteList('pools', a as never, out), async (a: Record<string, unknown>) => (await retention()).cmdPools(a as never, out)) },
      {
        name: 'pool',
        describe: 'pool settings of a local repository',
        subcommands: [
          {
            name: 'set',
            describe: 'create or change a pool ("none" removes a setting)',
            positionals: [{ name: 'name', required: true }],
            options: {
              'label-format': { type: 'string', describe: 'volume names, e.g. Daily-${Year}${Month}-${Counter:3}' },
              'media-type': { type: 'string', describe: 'media type of the pool\'s volumes' },
              'max-volume-jobs': { type: 'string', describe: 'a volume is Used after N jobs' },
              'max-volume-bytes': { type: 'string', describe: 'a volume is Full at N bytes' },
              'volume-use-duration': { type: 'string', describe: 'a volume takes no new job this long after its first (e.g. 7d)' },
              'recycle-pool': { type: 'string', describe: 'where purged volumes go' },
              'job-retention': { type: 'string', describe: 'jobs expire this long after they ran (e.g. 30d, 6m, 1y)' },
              'file-retention': { type: 'string', describe: 'file records expire this long after the job ran' },
              'volume-retention': { type: 'string', describe: 'a volume is not recycled before this long after its last write' },
              'auto-prune': { type: 'string', choices: ['yes', 'no'], describe: 'prune after each job' },
              recycle: { type: 'string', choices: ['yes', 'no'], describe: 'truncate and reuse purged volumes' },
              'keep-none': { type: 'boolean', describe: 'remove the pool\'s keep rules' },
              default: { type: 'boolean', describe: 'backups write to this pool from now on' },
              ...keepOptions(),
            },
            run: async (a) => (await retention()).cmdPoolSet(a as never, out),
          },
        ],
      },
      {
        name: 'catalog-backup',
        describe: 'back up the catalog (a consistent copy, settings, bootstrap files, an emergency summary) as a job',
        options: { 'copy-to': { type: 'string', describe: 'also copy the dump and summary to this folder' } },
        run: async (a) => (await retention()).cmdCatalogBackup(a as never, out),
      },
      {
        name: 'catalog-restore',
        describe: 'cold start: rebuild the catalog from its backup on the volumes (or a --copy-to folder); --dir-config: a Director\'s',
        options: {
          from: { type: 'string', required: true, describe: 'a folder of volumes, or a folder written by catalog-backup --copy-to (a catalog job\'s copyTo)' },
          volumes: { type: 'string', describe: 'with a copy folder: where the volumes are' },
          force: { type: 'boolean', describe: 'replace the catalog of an existing repository (or the Director\'s non-empty catalog)' },
          'dir-config': { type: 'string', describe: 'put back the catalog this cairn-dir.yaml names (SQLite file or PostgreSQL database) instead of a local repository\'s; the Director must be stopped' },
          job: { type: 'string', describe: 'with --dir-config: the catalog job\'s name (default: the config\'s catalog jobs, then CatalogBackup)' },
        },
        run: async (a) => (await retention()).cmdCatalogRestore(a as never, out),
      },
      {
        name: 'key',
        describe: 'client-side encryption keys (docs/encryption.md)',
        subcommands: [
          {
            name: 'generate',
            describe: 'write a new key pair: FILE (private, mode 0600) and FILE.pub',
            options: {
              out: { type: 'string', describe: 'the private key file (default: a new file in ~/.config/cairn/keys)' },
              'write-only': { type: 'string', describe: 'also write a write-only key file (public halves and the signing secret: backs up, cannot restore)' },
              comment: { type: 'string', describe: 'a note stored in the key file' },
            },
            run: async (a) => (await import('./key-commands.js')).cmdKeyGenerate(a as never, out),
          },
          { name: 'show', describe: "a key file's kind, fingerprint and public halves", positionals: [{ name: 'file', required: true }], run: async (a) => (await import('./key-commands.js')).cmdKeyShow(a as never, out) },
          { name: 'fingerprint', describe: "a key file's fingerprint", positionals: [{ name: 'file', required: true }], run: async (a) => (await import('./key-commands.js')).cmdKeyFingerprint(a as never, out) },
          {
            name: 'add-master',
            describe: 'wrap new jobs (and, with --key, existing ones) to a master recovery key too',
            positionals: [{ name: 'file', required: true }],
            options: { key: { type: 'string', describe: "a private key that opens the existing jobs (to wrap them to the master too)" }, keyring: { type: 'string', describe: 'also write the new wraps to this keyring file' } },
            run: async (a) => (await import('./key-commands.js')).cmdKeyAddMaster(a as never, out),
          },
          {
            name: 'rotate',
            describe: "replace the repository's client key; existing jobs' data keys are re-wrapped (catalog + keyring file), volumes untouched; with --config: a client's, by its FD",
            options: {
              key: { type: 'string', describe: 'the current private key (default: the repository key file)' },
              new: { type: 'string', describe: 'an existing key file to rotate to (default: generate one); with --config required, its public half is what is sent' },
              out: { type: 'string', describe: 'where to write the generated key' },
              keyring: { type: 'string', describe: 'keyring file to write (default: keyring-<fingerprint>.json in the repository; with --config in the current folder)' },
              client: { type: 'string', describe: 'with --config: the client (FD) whose jobs are re-wrapped; its FD opens them with its current key' },
            },
            run: remoteOr((m, a) => m.remoteKeyRotate(a as never, out), async (a: Record<string, unknown>) => (await import('./key-commands.js')).cmdKeyRotate(a as never, out)),
          },
          {
            name: 'export-keyring',
            describe: "write every re-wrapped data key in the catalog to a keyring file (for restores from volumes alone)",
            positionals: [{ name: 'file', required: true }],
            run: async (a) => (await import('./key-commands.js')).cmdKeyExportKeyring(a as never, out),
          },
        ],
      },
      {
        name: 'plugin',
        describe: 'agent tools',
        subcommands: [
          {
            name: 'check',
            describe: 'run the conformance kit against an agent module',
            positionals: [{ name: 'path', required: true }],
            options: { include: { type: 'string', array: true, describe: 'a path the kit backs up with the agent' } },
            run: async (a) => (await import('./plugin-check.js')).cmdPluginCheck(a as never, out),
          },
        ],
      },
    ],
  };
}

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const out = makeOutput(json);
  try {
    const call = parseCommandLine(program(out), argv);
    if (call.kind === 'print') {
      process.stdout.write(`${call.text}\n`);
      return 0;
    }
    return await call.command.run!(call.args);
  } catch (err) {
    return out.fail(err);
  }
}

export async function runCli(): Promise<void> {
  const code = await main(process.argv.slice(2));
  await exitWhenWritten(code);
}

/**
 * The job is over and its report printed: exit now, even if an agent that hung still has I/O pending — but
 * only once stdout and stderr have handed what was written to the OS. On a pipe their writes are
 * asynchronous, and process.exit() drops what is still queued: a big JSON report (a restore naming 40,000
 * files) lost its tail, and with it the job's error.
 */
export async function exitWhenWritten(code: number): Promise<never> {
  await Promise.all([written(process.stdout), written(process.stderr)]);
  process.exit(code);
}

/** Resolves when everything written to `s` so far is with the OS (an empty write's callback comes after theirs). */
function written(s: NodeJS.WriteStream): Promise<void> {
  if (s.destroyed || s.writableEnded) return Promise.resolve();
  return new Promise((resolve) => s.write('', () => resolve()));
}
