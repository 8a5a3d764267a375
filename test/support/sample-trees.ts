/**
 * Sample scenario trees shared by tests: one entry of every kind, for
 * round-trip tests (backup → restore → compareTrees) and for testing the
 * support library itself.
 */
import { dir, fifo, file, hardlink, rawName, sparse, symlink, type TreeSpec } from './tree-spec.js';

/** 1600000000.123456789 s: a time with all nine nanosecond digits significant. */
export const SAMPLE_MTIME_NS = 1_600_000_000_123_456_789n;
/** "f\xffo": not valid UTF-8. */
export const SAMPLE_RAW_NAME = Buffer.from([0x66, 0xff, 0x6f]);

/**
 * Every entry kind: files (empty, setuid), symlinks (good and dangling),
 * a hard-link pair, a sparse file (20 MiB, 8 KiB of data), a FIFO, raw-byte
 * names (file and directory), a sticky directory with ns mtime, UTF-8 names
 * and a deep path. Build with `{ mtimeNs }` so every time is fixed.
 */
export function everyKindSpec(): TreeSpec {
  const T = SAMPLE_MTIME_NS;
  return {
    etc: {
      'a.conf': file(11, 4096),
      'big.bin': file(12, 300_000, { mode: 0o4755 }),
      link: symlink('a.conf'),
      dangling: symlink('nope'),
      hl1: file(7, 100, { hardlinkGroup: 'g' }),
      hl2: hardlink('g'),
      empty: file(1, 0),
      sparse: sparse([[0, 4096], [10 << 20, 4096]], 20 << 20),
      pipe: fifo({ mode: 0o640 }),
      [rawName(SAMPLE_RAW_NAME)]: file(3, 10),
      'naïve-ütf8': file(4, 20),
    },
    dir: dir({ mode: 0o1777, mtimeNs: T }),
    [rawName([0xe9, 0x74, 0xe9])]: dir({ inner: file(5, 10, { mtimeNs: T + 5n }) }, { mtimeNs: T + 7n }),
    deep: { a: { b: { c: file(6, 1) } } },
  };
}
