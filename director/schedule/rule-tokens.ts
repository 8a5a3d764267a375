/**
 * Tokens of a run rule, each with its 1-based column, and the one way a rule
 * is refused: CAIRN_E_SCHEDULE_INVALID naming rule, token, column and the
 * expected form. Commas and range dashes are tokens of their own; an option
 * (`pool=Weekly-Full`) is one token up to the next blank or comma.
 */
import { CairnError } from '../../plugin-api/index.js';

export interface RuleToken {
  /** As written. */
  readonly text: string;
  /** Lower-cased, for matching keywords. */
  readonly word: string;
  /** 1-based column of the token's first character in the rule. */
  readonly column: number;
}

export function tokenizeRule(text: string): RuleToken[] {
  const tokens: RuleToken[] = [];
  const push = (s: string, at: number): void => {
    tokens.push({ text: s, word: s.toLowerCase(), column: at + 1 });
  };
  const run = /[^\s,]+|,/g;
  for (let m = run.exec(text); m !== null; m = run.exec(text)) {
    const piece = m[0];
    if (piece === ',' || piece.includes('=')) {
      push(piece, m.index);
      continue;
    }
    // Split ranges: "Mon-Fri" -> mon, -, fri (positions kept).
    const parts = /[^-]+|-/g;
    for (let p = parts.exec(piece); p !== null; p = parts.exec(piece)) push(p[0], m.index + p.index);
  }
  return tokens;
}

/** Build the refusal for `token`; undefined = the rule ended where `expected` was due (`problem` unused). */
export function invalidRule(rule: string, token: RuleToken | undefined, problem: string, expected: string): CairnError {
  const column = token?.column ?? rule.trimEnd().length + 1;
  const what = token === undefined ? `the rule ends at column ${column}` : `${token.text} (column ${column}) ${problem}`;
  return new CairnError(
    'CAIRN_E_SCHEDULE_INVALID',
    `schedule rule "${rule}": ${what} (expected ${expected})`,
    { rule, token: token?.text ?? '', position: column },
  );
}
