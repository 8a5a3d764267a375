/**
 * Nanosecond timestamps for test trees.
 *
 * Owns: setting atime+mtime with full nanosecond precision. Node's
 * fs.utimes/lutimes take seconds as a double (µs at best), so this runs
 * coreutils `touch -h -c -d @SECONDS.NANOSECONDS` (touch does not follow
 * symlinks with -h and never creates with -c). Paths sharing a time go in one
 * touch invocation.
 *
 * Does not promise: paths with non-UTF-8 bytes (argv is text); tree.ts
 * creates those under an ASCII stand-in name and renames them afterwards.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** Paths per touch invocation: well under any ARG_MAX. */
const PATHS_PER_TOUCH = 200;

/** `touch -d` argument for nanoseconds since the epoch: "@1600000000.123456789". */
export function touchDate(ns: bigint): string {
  if (ns < 0n) throw new RangeError(`times before 1970 are not supported by the test tree builder (${ns} ns)`);
  const sec = ns / 1_000_000_000n;
  const frac = ns % 1_000_000_000n;
  return `@${sec}.${frac.toString().padStart(9, '0')}`;
}

/** Sets atime and mtime of each path (not following symlinks) to its `ns`. */
export async function setTimesNs(items: ReadonlyArray<{ path: string; ns: bigint }>): Promise<void> {
  const byTime = new Map<bigint, string[]>();
  for (const { path, ns } of items) {
    const list = byTime.get(ns);
    if (list) list.push(path);
    else byTime.set(ns, [path]);
  }
  for (const [ns, paths] of byTime) {
    for (let i = 0; i < paths.length; i += PATHS_PER_TOUCH) {
      const batch = paths.slice(i, i + PATHS_PER_TOUCH);
      try {
        await run('touch', ['-h', '-c', '-d', touchDate(ns), '--', ...batch]);
      } catch (err) {
        throw new Error(`touch could not set ${touchDate(ns)} on ${batch.join(', ')}: ${(err as Error).message}`, { cause: err });
      }
    }
  }
}
