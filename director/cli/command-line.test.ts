import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CairnError } from '../../plugin-api/index.js';
import { helpText, parseCommandLine, type Program } from './command-line.js';

const ran: string[] = [];
const program: Program = {
  name: 'cairn',
  version: '9.8.7',
  options: { repo: { type: 'string' }, json: { type: 'boolean' } },
  commands: [
    {
      name: 'restore',
      describe: 'restore a job',
      positionals: [{ name: 'job', required: true }, { name: 'paths', variadic: true }],
      options: {
        to: { type: 'string', required: true },
        'as-at': { type: 'string' },
        replace: { type: 'string', choices: ['always', 'never'], default: 'always' },
        'dry-run': { type: 'boolean' },
      },
      run: async () => (ran.push('restore'), 0),
    },
    { name: 'jobs', describe: 'list jobs', options: { limit: { type: 'number', default: 50 } }, run: async () => 0 },
    {
      name: 'plugin',
      describe: 'agent tools',
      subcommands: [{ name: 'check', describe: 'conformance', positionals: [{ name: 'path', required: true }], options: { include: { type: 'string', array: true } }, run: async () => 0 }],
    },
  ],
};

function usageError(argv: string[], pattern: RegExp): void {
  assert.throws(
    () => parseCommandLine(program, argv),
    (err: unknown) => err instanceof CairnError && err.code === 'CAIRN_E_USAGE' && pattern.test(err.message),
    `${argv.join(' ')} → CAIRN_E_USAGE matching ${pattern}`,
  );
}

test('command line: options before and after the command, kebab options as camelCase, positionals, defaults', () => {
  const r = parseCommandLine(program, ['--repo', '/r', 'restore', 'latest', 'a', 'b', '--to', '/t', '--as-at=2026-01-01', '--json', '--dry-run']);
  assert.equal(r.kind, 'run');
  if (r.kind !== 'run') return;
  assert.equal(r.command.name, 'restore');
  assert.deepEqual(r.args, { repo: '/r', json: true, job: 'latest', paths: ['a', 'b'], to: '/t', asAt: '2026-01-01', replace: 'always', dryRun: true });
  const j = parseCommandLine(program, ['jobs', '--limit', '7']);
  assert.equal(j.kind === 'run' && j.args.limit, 7);
  const d = parseCommandLine(program, ['jobs']);
  assert.equal(d.kind === 'run' && d.args.limit, 50);
  assert.equal(d.kind === 'run' && d.args.json, false);
  const p = parseCommandLine(program, ['plugin', 'check', './a.js', '--include', 'x', '--include', 'y']);
  assert.equal(p.kind === 'run' && p.command.name, 'check');
  assert.deepEqual(p.kind === 'run' && p.args, { repo: undefined, json: false, path: './a.js', include: ['x', 'y'] });
  const none = parseCommandLine(program, ['restore', '7', '--to', '/t']);
  assert.deepEqual(none.kind === 'run' && none.args.paths, []);
});

test('command line: every kind of mistake is CAIRN_E_USAGE naming what was wrong', () => {
  usageError([], /give a command/);
  usageError(['frobnicate'], /unknown command "frobnicate".*restore, jobs, plugin/);
  usageError(['plugin', 'frob'], /unknown command "frob" \(cairn plugin takes: check/);
  usageError(['plugin'], /"cairn plugin" needs a subcommand: check/);
  usageError(['restore', 'latest'], /cairn restore needs --to/);
  usageError(['restore', '--to', '/t'], /needs its JOB argument/);
  usageError(['restore', '1', '--to', '/t', '--replace', 'sometimes'], /--replace takes one of always, never, not "sometimes"/);
  usageError(['restore', '1', '--to', '/t', '--bogus'], /Unknown option '--bogus'/);
  usageError(['jobs', '--limit', 'many'], /--limit takes a number, not "many"/);
  usageError(['jobs', 'extra'], /cairn jobs takes no further argument "extra"/);
  usageError(['plugin', 'check'], /cairn plugin check needs its PATH argument/);
});

test('command line: --help anywhere prints help for that level, --version the version, nothing runs', () => {
  const top = parseCommandLine(program, ['--help']);
  assert.equal(top.kind, 'print');
  assert.match(top.kind === 'print' ? top.text : '', /commands:\n {2}restore <job> \[paths\.\.\] +restore a job/);
  const one = parseCommandLine(program, ['restore', '--help']);
  assert.match(one.kind === 'print' ? one.text : '', /usage: cairn restore <job> \[paths\.\.\] \[options\][\s\S]*--replace <always\|never> +default: always/);
  assert.match(one.kind === 'print' ? one.text : '', /--to <string> +required/);
  const sub = parseCommandLine(program, ['plugin', '--help']);
  assert.match(sub.kind === 'print' ? sub.text : '', /usage: cairn plugin <command>[\s\S]*check <path>/);
  assert.deepEqual(parseCommandLine(program, ['--version']), { kind: 'print', text: '9.8.7' });
  assert.equal(helpText(program, []).includes('--version'), true);
  assert.deepEqual(ran, []);
});
