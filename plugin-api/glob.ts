/**
 * Fileset glob patterns, shared by the host's isIncluded() and by agents.
 *
 *   *      any run of bytes except '/'
 *   **     any run of bytes including '/' (whole components when alone: `a/**\/b`)
 *   ?      one byte except '/'
 *   [abc] [a-z] [!a]  one byte from (or not from) the set
 *
 * A pattern with no '/' matches the last path component (`*.tmp`); a pattern
 * with a '/' matches the whole path (`/home/*\/cache/**`). Matching is on
 * bytes (latin1 view), so non-UTF-8 names work.
 */
import { Buffer } from 'node:buffer';

export type GlobMatcher = (path: Uint8Array | string) => boolean;

function toRegexSource(pattern: string): string {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let body = pattern.slice(i + 1, end);
        const negate = body.startsWith('!') || body.startsWith('^');
        if (negate) body = body.slice(1);
        body = body.replace(/[\\\]^]/g, '\\$&');
        re += negate ? `[^/${body}]` : `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return re;
}

/** Compiles patterns into one matcher: true when any pattern matches. */
export function compileGlobs(patterns: readonly string[]): GlobMatcher {
  if (patterns.length === 0) return () => false;
  const whole: string[] = [];
  const base: string[] = [];
  for (const p of patterns) {
    const src = toRegexSource(Buffer.from(p, 'utf8').toString('latin1'));
    (p.includes('/') ? whole : base).push(src);
  }
  const wholeRe = whole.length ? new RegExp(`^(?:${whole.join('|')})$`, 's') : null;
  const baseRe = base.length ? new RegExp(`^(?:${base.join('|')})$`, 's') : null;
  return (path) => {
    const s = typeof path === 'string' ? Buffer.from(path, 'utf8').toString('latin1') : Buffer.from(path.buffer, path.byteOffset, path.byteLength).toString('latin1');
    if (wholeRe && wholeRe.test(s)) return true;
    if (baseRe) {
      const slash = s.lastIndexOf('/', s.length - 2);
      const name = s.slice(slash + 1).replace(/\/$/, '');
      if (baseRe.test(name)) return true;
    }
    return false;
  };
}
