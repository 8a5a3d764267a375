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
  const as = <T>(fn: (a: T, out: Output) => Promise<number>) => (a: Record<string, unknown>) => fn(a as T, out);
  return {
    name: 'cairn',
    version: HOST_VERSION,
    options: {
      repo: { type: 'string', describe: 'repository folder (default: $CAIRN_REPO or ~/.local/share/cairn/repo)' },
      json: { type: 'boolean', describe: 'print results as JSON on stdout' },
      wait: { type: 'boolean', describe: 'wait for the repository lock instead of failing' },
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
        },
        run: as(cmdBackup),
      },
      { name: 'jobs', describe: 'list jobs', options: { limit: { type: 'number', default: 50, describe: 'newest jobs shown' } }, run: as(cmdJobs) },
      {
        name: 'ls',
        describe: 'list the tree as at a backup job (id or "latest")',
        positionals: [job, { name: 'path' }],
        options: { 'as-at': { type: 'string', describe: 'list the tree as it was at this time' } },
        run: as(cmdLs),
      },
      {
        name: 'restore',
        describe: 'restore a backup job (id or "latest") into --to',
        positionals: [job, { name: 'paths', variadic: true }],
        options: {
          to: { type: 'string', required: true, describe: 'target folder' },
          'as-at': { type: 'string', describe: 'restore the tree as it was at this time (ISO 8601 or epoch seconds)' },
          replace: { type: 'string', choices: ['always', 'never', 'ifnewer', 'ifolder'], default: 'always' },
          'dry-run': { type: 'boolean', describe: 'list what would be restored' },
        },
        run: as(cmdRestore),
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
