/**
 * What the volume tools (cairn-bls, cairn-bscan, cairn-bextract) share on
 * their command lines: strict option parsing with CAIRN_E_USAGE, volume
 * arguments (a volume file, or a folder = every volume file in it), and the
 * exit path (the console's error printing and exit codes).
 */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CairnError } from '../../plugin-api/index.js';
import { makeOutput, type Output } from '../cli/output.js';

/** Files a device folder holds that are not volumes (the SD's state file, locks…) start with a dot. */
export function volumeFiles(args: string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    const p = resolve(a);
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new CairnError('CAIRN_E_VOLUME_NOT_FOUND', `no volume or folder ${p}`, { volume: p });
    }
    if (st.isDirectory()) {
      for (const n of readdirSync(p).sort()) if (!n.startsWith('.') && statSync(join(p, n)).isFile()) out.push(join(p, n));
    } else out.push(p);
  }
  return out;
}

export interface ToolArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parseToolArgs(tool: string, argv: string[], options: NonNullable<ParseArgsConfig['options']>, usage: string): ToolArgs {
  try {
    const r = parseArgs({ args: argv, options: { ...options, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    return { values: r.values as ToolArgs['values'], positionals: r.positionals };
  } catch (err) {
    throw new CairnError('CAIRN_E_USAGE', `${tool}: ${(err as Error).message.split('\n')[0]}\n${usage}`, {});
  }
}

/** Runs a tool's main and exits with its status (errors printed with their code, as the console does). */
export async function runTool(argv: string[], fn: (out: Output) => Promise<number>): Promise<void> {
  const out = makeOutput(argv.includes('--json'));
  let code: number;
  try {
    code = await fn(out);
  } catch (err) {
    code = out.fail(err);
  }
  process.exit(code);
}
