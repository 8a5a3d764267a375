/**
 * `cairn` — the console. In local mode (the default, no daemons) it runs
 * Director, FD and SD in this process against a repository folder.
 */
import { HOST_VERSION } from '../../core/index.js';
import { cmdBackup, cmdInit, cmdJobs, cmdLs, cmdRestore, cmdVerify, type CommonArgs } from './commands.js';
import { parseCommandLine, type Program } from './command-line.js';
import { makeOutput, type Output } from './output.js';

/** The console's commands: what each takes, and what runs it. */
function program(out: Output): Program {
  const job = { name: 'job', required: true };
  /** Which backup: an id or "latest" (ls and restore, whose --job names the job in remote mode). */
  const backup = { name: 'backup', required: true };
  const as = <T>(fn: (a: T, out: Output) => Promise<number>) => (a: Record<string, unknown>) => fn(a as T, out);
  // The remote console is loaded only when used: config/ and net/ cost local commands start-up time for nothing.
  type Remote = typeof import('./remote-commands.js');
  const remote = () => import('./remote-commands.js');
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
      { name: 'init', describe: 'create a repository', run: as<CommonArgs>(cmdInit) },
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
        describe: 'restore a backup job (id or "latest") into --to',
        positionals: [backup, { name: 'paths', variadic: true }],
        options: {
          to: { type: 'string', required: true, describe: 'target folder' },
          'as-at': { type: 'string', describe: 'restore the tree as it was at this time (ISO 8601 or epoch seconds)' },
          replace: { type: 'string', choices: ['always', 'never', 'ifnewer', 'ifolder'], default: 'always' },
          'dry-run': { type: 'boolean', describe: 'list what would be restored' },
          job: { type: 'string', describe: 'with --config: the job name "latest" refers to' },
          client: { type: 'string', describe: 'with --config: restore onto this client instead of the one backed up' },
          option: { type: 'string', array: true, describe: 'AGENT.KEY=VALUE: an agent option for this restore (e.g. pipe.toFiles=true)' },
        },
        run: remoteOr((m, a) => m.remoteRestore({ ...a, job: a.backup, jobName: a.job } as never, out), (a: Record<string, unknown>) => cmdRestore({ ...a, job: a.backup } as never, out)),
      },
      { name: 'verify', describe: 're-read a job from its volumes: block checksums and digests against the catalog', positionals: [job], run: as(cmdVerify) },
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
  // The job is over and its report printed: exit now, even if an agent that hung
  // still has I/O pending (stdout and stderr are synchronous for files and pipes).
  process.exit(code);
}
