/**
 * `cairn` — the console. In local mode (the default, no daemons) it runs
 * Director, FD and SD in this process against a repository folder.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { CairnError } from '../../plugin-api/index.js';
import { cmdBackup, cmdInit, cmdJobs, cmdLs, cmdRestore, cmdVerify, type CommonArgs } from './commands.js';
import { makeOutput } from './output.js';

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const out = makeOutput(json);
  let code = 0;
  const run = (fn: () => Promise<number>) => async () => {
    code = await fn();
  };
  try {
    await yargs(argv)
      .scriptName('cairn')
      .usage('$0 <command> [options]')
      .option('repo', { type: 'string', describe: 'repository folder (default: $CAIRN_REPO or ~/.local/share/cairn/repo)' })
      .option('json', { type: 'boolean', default: false, describe: 'print results as JSON on stdout' })
      .option('wait', { type: 'boolean', default: false, describe: 'wait for the repository lock instead of failing' })
      .command('init', 'create a repository', {}, (a) => run(() => cmdInit(a as unknown as CommonArgs, out))())
      .command(
        'backup [paths..]',
        'back up paths (or a --fileset) into the repository',
        (y) =>
          y
            .positional('paths', { type: 'string', array: true, default: [] })
            .option('level', { choices: ['full', 'incremental', 'differential'] as const, default: 'incremental' as const, describe: 'an Incremental with no base runs as Full' })
            .option('fileset', { type: 'string', describe: 'fileset YAML file (include/exclude, options, agent lines)' })
            .option('name', { type: 'string', describe: 'job name (default: derived from the paths or the fileset name)' }),
        (a) => run(() => cmdBackup(a as never, out))(),
      )
      .command('jobs', 'list jobs', (y) => y.option('limit', { type: 'number', default: 50 }), (a) => run(() => cmdJobs(a as never, out))())
      .command(
        'ls <job> [path]',
        'list the tree as at a backup job (id or "latest")',
        (y) => y.positional('job', { type: 'string', demandOption: true }).positional('path', { type: 'string' }).option('as-at', { type: 'string' }),
        (a) => run(() => cmdLs(a as never, out))(),
      )
      .command(
        'restore <job> [paths..]',
        'restore a backup job (id or "latest") into --to',
        (y) =>
          y
            .positional('job', { type: 'string', demandOption: true })
            .positional('paths', { type: 'string', array: true, default: [] })
            .option('to', { type: 'string', demandOption: true, describe: 'target folder' })
            .option('as-at', { type: 'string', describe: 'restore the tree as it was at this time (ISO 8601 or epoch seconds)' })
            .option('replace', { choices: ['always', 'never', 'ifnewer', 'ifolder'] as const, default: 'always' as const })
            .option('dry-run', { type: 'boolean', default: false, describe: 'list what would be restored' }),
        (a) => run(() => cmdRestore(a as never, out))(),
      )
      .command('verify <job>', 're-read a job from its volumes: block checksums and digests against the catalog', (y) => y.positional('job', { type: 'string', demandOption: true }), (a) =>
        run(() => cmdVerify(a as never, out))(),
      )
      .command('plugin', 'agent tools', (y) =>
        y.command('check <path>', 'run the conformance kit against an agent module', (z) => z.positional('path', { type: 'string', demandOption: true }).option('include', { type: 'string', array: true }), (a) =>
          run(async () => (await import('./plugin-check.js')).cmdPluginCheck(a as never, out))(),
        ).demandCommand(1),
      )
      .demandCommand(1, 'give a command; `cairn --help` lists them')
      .strict()
      .fail((msg, err) => {
        throw err ?? new CairnError('CAIRN_E_USAGE', msg, {});
      })
      .exitProcess(false)
      .parseAsync();
  } catch (err) {
    return out.fail(err);
  }
  return code;
}

export async function runCli(): Promise<void> {
  const code = await main(hideBin(process.argv));
  // The job is over and its report printed: exit now, even if an agent that hung
  // still has I/O pending (stdout and stderr are synchronous for files and pipes).
  process.exit(code);
}
