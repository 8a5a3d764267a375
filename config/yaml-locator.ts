/**
 * Positions in a parsed YAML document: the file:line:column a key path
 * points at, for error messages. Built on yaml's Document and LineCounter.
 */
import { isMap, isScalar, isSeq, type Document, type LineCounter } from 'yaml';
import type { KeyPath } from './schema-validator.js';

export interface Position {
  line: number;
  column: number;
}

interface Ranged {
  range?: [number, number, number] | null;
}

/** `jobs[0].schedule`, `agents["@acme/pg"]`; the empty path is "(top level)". */
export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out || '(top level)';
}

export class YamlLocator {
  constructor(private readonly doc: Document, private readonly lines: LineCounter) {}

  /** Where a key path points: the key itself, its value, or the mapping (for a missing key). Falls back to the deepest part that exists. */
  locate(path: KeyPath, at: 'key' | 'value' | 'mapping' = 'value'): Position {
    let node: unknown = this.doc.contents;
    let keyNode: unknown;
    let complete = true;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(seg));
        if (!pair) { complete = false; break; }
        keyNode = pair.key;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
        keyNode = undefined;
        node = node.items[seg];
      } else {
        complete = false;
        break;
      }
    }
    const target = complete && at === 'key' ? keyNode ?? node : node ?? keyNode;
    const offset = (target as Ranged | undefined)?.range?.[0];
    return offset === undefined ? { line: 1, column: 1 } : this.at(offset);
  }

  at(offset: number): Position {
    const p = this.lines.linePos(offset);
    return { line: p.line, column: p.col };
  }
}
