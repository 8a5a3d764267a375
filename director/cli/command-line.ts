/**
 * The console's command line: a table of commands (positionals, options with
 * types, choices, defaults) parsed with node:util's parseArgs, strictly — an
 * unknown command or option, a missing argument or a bad value is
 * CAIRN_E_USAGE naming it — and help generated from the same table.
 * It replaces yargs, whose import alone (≈ 105 ms here, half of it its
 * terminal-width helpers) was a third of the console's start-up: every
 * command, a 1 GiB restore included, paid it (docs/benchmarks.md).
 */
import { parseArgs } from 'node:util';
import { CairnError } from '../../plugin-api/index.js';

export interface OptionSpec {
  type: 'string' | 'boolean' | 'number';
  describe?: string;
  default?: string | boolean | number;
  choices?: readonly string[];
  /** The command refuses to run without it. */
  required?: boolean;
  /** May be given several times; the value is a list. */
  array?: boolean;
}

export interface PositionalSpec {
  name: string;
  required?: boolean;
  /** Takes every remaining word (a list, empty when none). */
  variadic?: boolean;
}

export interface CommandSpec {
  name: string;
  describe: string;
  positionals?: PositionalSpec[];
  options?: Record<string, OptionSpec>;
  subcommands?: CommandSpec[];
  run?: (args: ParsedArgs) => Promise<number>;
}

export type ParsedArgs = Record<string, unknown>;

export interface Program {
  name: string;
  version: string;
  /** Options every command takes. */
  options: Record<string, OptionSpec>;
  commands: CommandSpec[];
}

/** What the command line asks for: a command to run, or help or the version to print. */
export type Invocation =
  | { kind: 'run'; command: CommandSpec; args: ParsedArgs }
  | { kind: 'print'; text: string };

function usage(message: string, details: Record<string, unknown> = {}): CairnError {
  return new CairnError('CAIRN_E_USAGE', message, details);
}

const camel = (name: string): string => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** The words that name the command (`plugin check`), skipping options and their values. */
function findCommand(program: Program, argv: string[]): { path: CommandSpec[]; rest: string[] } {
  const valued = new Set<string>();
  const collect = (opts: Record<string, OptionSpec> | undefined) => {
    for (const [k, o] of Object.entries(opts ?? {})) if (o.type !== 'boolean') valued.add(k);
  };
  const walk = (cs: CommandSpec[]) => cs.forEach((c) => (collect(c.options), walk(c.subcommands ?? [])));
  collect(program.options);
  walk(program.commands);
  const path: CommandSpec[] = [];
  const rest: string[] = [];
  let level = program.commands;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (a.startsWith('-')) {
      rest.push(a);
      if (a.startsWith('--') && !a.includes('=') && valued.has(a.slice(2)) && i + 1 < argv.length) rest.push(argv[++i]);
      continue;
    }
    const sub = level.find((c) => c.name === a);
    if (!sub) {
      const where = [program.name, ...path.map((c) => c.name)].join(' ');
      throw usage(`unknown command "${a}" (${where} takes: ${level.map((c) => c.name).join(', ')}; \`${where} --help\` lists them)`, { command: a });
    }
    path.push(sub);
    level = sub.subcommands ?? [];
    if (!level.length) {
      // The command itself: what follows is its positionals and options.
      rest.push(...argv.slice(i + 1));
      break;
    }
  }
  return { path, rest };
}

function convert(name: string, spec: OptionSpec, raw: unknown): unknown {
  const one = (v: unknown): unknown => {
    if (spec.type === 'number') {
      const n = Number(v);
      if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n)) throw usage(`--${name} takes a number, not "${String(v)}"`, { option: name, value: v });
      return n;
    }
    if (spec.choices && !spec.choices.includes(v as string)) {
      throw usage(`--${name} takes one of ${spec.choices.join(', ')}, not "${String(v)}"`, { option: name, value: v, choices: spec.choices });
    }
    return v;
  };
  return Array.isArray(raw) ? raw.map(one) : one(raw);
}

/** Parses `argv` (without node and the script) against the program's table. */
export function parseCommandLine(program: Program, argv: string[]): Invocation {
  if (argv.length === 1 && argv[0] === '--version') return { kind: 'print', text: program.version };
  const { path, rest } = findCommand(program, argv);
  const command = path[path.length - 1];
  const wantsHelp = rest.includes('--help') || rest.includes('-h');
  if (wantsHelp || !command) {
    if (wantsHelp) return { kind: 'print', text: helpText(program, path) };
    throw usage(`give a command; \`${program.name} --help\` lists them`);
  }
  if (!command.run) {
    const where = [program.name, ...path.map((c) => c.name)].join(' ');
    throw usage(`"${where}" needs a subcommand: ${(command.subcommands ?? []).map((c) => c.name).join(', ')}`);
  }
  const where = [program.name, ...path.map((c) => c.name)].join(' ');
  const specs: Record<string, OptionSpec> = { ...program.options, ...command.options };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      strict: true,
      allowPositionals: true,
      options: Object.fromEntries(Object.entries(specs).map(([k, o]) => [k, { type: o.type === 'boolean' ? 'boolean' : 'string', multiple: o.array === true }])),
    });
  } catch (err) {
    throw usage(`${(err as Error).message.split('\n')[0]} (\`${where} --help\` lists the options)`);
  }
  const args: ParsedArgs = {};
  for (const [k, o] of Object.entries(specs)) {
    const v = parsed.values[k];
    let value: unknown = v === undefined ? o.default : convert(k, o, v);
    if (value === undefined && o.type === 'boolean') value = false;
    if (value === undefined && o.required) throw usage(`${where} needs --${k}`, { option: k });
    args[camel(k)] = value;
  }
  const words = [...parsed.positionals];
  for (const p of command.positionals ?? []) {
    if (p.variadic) {
      args[camel(p.name)] = words.splice(0);
      continue;
    }
    const w = words.shift();
    if (w === undefined && p.required) throw usage(`${where} needs its ${p.name.toUpperCase()} argument`, { argument: p.name });
    args[camel(p.name)] = w;
  }
  if (words.length) throw usage(`${where} takes no further argument "${words[0]}"`, { argument: words[0] });
  return { kind: 'run', command, args };
}

function optionLines(opts: Record<string, OptionSpec>): string[] {
  return Object.entries(opts).map(([k, o]) => {
    const value = o.type === 'boolean' ? '' : o.choices ? ` <${o.choices.join('|')}>` : ` <${o.type}>`;
    const notes = [o.describe, o.required ? 'required' : '', o.default !== undefined && o.default !== false ? `default: ${String(o.default)}` : '']
      .filter(Boolean)
      .join('; ');
    return column(`  --${k}${value}${o.array ? ' …' : ''}`) + notes;
  });
}

/** The left column of help, with at least two spaces before the text. */
const column = (s: string): string => (s.length > 32 ? `${s}  ` : s.padEnd(34));

const synopsis = (c: CommandSpec): string =>
  [c.name, ...(c.positionals ?? []).map((p) => (p.required ? `<${p.name}${p.variadic ? '..' : ''}>` : `[${p.name}${p.variadic ? '..' : ''}]`))].join(' ');

/** Help for the program (no command) or for one command. */
export function helpText(program: Program, path: CommandSpec[]): string {
  const command = path[path.length - 1];
  const prefix = [program.name, ...path.slice(0, -1).map((c) => c.name)].join(' ');
  const lines: string[] = [];
  if (!command || command.subcommands?.length) {
    const list = command ? command.subcommands! : program.commands;
    lines.push(`usage: ${command ? `${prefix} ${command.name}` : program.name} <command> [options]`, '', 'commands:');
    for (const c of list) lines.push(column(`  ${synopsis(c)}`) + c.describe);
  } else {
    lines.push(`usage: ${prefix} ${synopsis(command)} [options]`, '', command.describe);
    if (command.options && Object.keys(command.options).length) lines.push('', 'options:', ...optionLines(command.options));
  }
  lines.push('', 'options of every command:', ...optionLines(program.options), column('  --help') + 'show this help');
  if (!command) lines.push(column('  --version') + 'print the version');
  return lines.join('\n');
}
