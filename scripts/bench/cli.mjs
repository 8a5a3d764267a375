// What every benchmark script starts with: where the project and its .bench folder are, the command-line
// words (--name VALUE options, --flags, positionals) and the median the reports take.
import { join, resolve } from 'node:path';

export const ROOT = resolve(new URL('../..', import.meta.url).pathname);
export const BENCH = join(ROOT, '.bench');
export const args = process.argv.slice(2);
export const flag = (name) => args.includes(name);
export const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
/** The words that are neither an option nor an option's value. */
export const positional = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
/** The middle value (the mean of the two middle ones for an even count). */
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
