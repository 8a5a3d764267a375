/**
 * Fileset globs (exclude rules), shared by the host (isIncluded) and agents: a small matcher over path bytes.
 *
 * Syntax: `*` any run of bytes except `/`; `**` any run including `/`
 * (`a/**` + `/b` also matches `a/b`); `?` one byte except `/`; `[abc]`,
 * `[a-z]`, `[!x]` / `[^x]` one byte from (or not from) a class; `\x` the byte
 * x literally. A pattern matches a path when it matches the whole path or the
 * path's last component (the basename). Paths and patterns are compared as
 * bytes (a pattern is taken as UTF-8), so `?` matches one byte, not one
 * character.
 */
import { Buffer } from 'node:buffer';

/** One compiled glob: the source text and a regex over latin1-decoded bytes. */
export interface CompiledGlob {
  readonly source: string;
  readonly regex: RegExp;
}

const SPECIAL = /[\\^$.*+?()[\]{}|/-]/;

function escapeChar(ch: string): string {
  return SPECIAL.test(ch) ? `\\${ch}` : ch;
}

/** Compiles one pattern. Bytes are handled as latin1 code units (one char per byte). */
export function compileGlob(pattern: string): CompiledGlob {
  const p = Buffer.from(pattern, 'utf8').toString('latin1');
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '*') {
      if (p[i + 1] === '*') {
        i++;
        if (p[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else {
          re += '.*';
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '\\' && i + 1 < p.length) {
      re += escapeChar(p[++i]);
    } else if (c === '[') {
      const close = classEnd(p, i);
      if (close < 0) {
        re += '\\[';
        continue;
      }
      let body = p.slice(i + 1, close);
      let negate = false;
      if (body[0] === '!' || body[0] === '^') {
        negate = true;
        body = body.slice(1);
      }
      let cls = '';
      for (let j = 0; j < body.length; j++) {
        const b = body[j];
        if (b === '-' && j > 0 && j < body.length - 1) cls += '-';
        else cls += b === '\\' || b === ']' || b === '[' || b === '^' || b === '-' ? `\\${b}` : b;
      }
      re += negate ? `[^/${cls}]` : `[${cls}]`;
      i = close;
    } else {
      re += escapeChar(c);
    }
  }
  return { source: pattern, regex: new RegExp(`^${re}$`, 's') };
}

/** Index of the `]` closing a class opened at `open`, or -1. A `]` first in the class is literal. */
function classEnd(p: string, open: number): number {
  let j = open + 1;
  if (p[j] === '!' || p[j] === '^') j++;
  if (p[j] === ']') j++;
  for (; j < p.length; j++) if (p[j] === ']') return j;
  return -1;
}

/** A set of exclude patterns, matched against a path and its basename. */
export class GlobSet {
  private readonly globs: CompiledGlob[];

  constructor(patterns: readonly string[]) {
    this.globs = patterns.filter((p) => p.length > 0).map(compileGlob);
  }

  get size(): number {
    return this.globs.length;
  }

  /** True when any pattern matches the whole path or its basename. */
  matches(path: Uint8Array | string): boolean {
    if (this.globs.length === 0) return false;
    const full = typeof path === 'string' ? Buffer.from(path, 'utf8').toString('latin1') : Buffer.from(path.buffer, path.byteOffset, path.byteLength).toString('latin1');
    const slash = full.lastIndexOf('/', full.length - 2);
    const base = slash >= 0 ? full.slice(slash + 1) : full;
    for (const g of this.globs) if (g.regex.test(full) || g.regex.test(base)) return true;
    return false;
  }
}
