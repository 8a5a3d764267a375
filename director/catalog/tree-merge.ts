/**
 * The tree as at the end of a chain of jobs, as a k-way merge of per-job
 * cursors that each read straight off the (job_id, tree_key, agent) index:
 * no sort of the whole chain (the window query sorted every row of every
 * job before the first one came out), bounded memory, and the first row at
 * once. Rules: for one (tree_key, agent) the latest job of the chain wins,
 * within one job the highest file index; a winning deletion hides the path.
 */
import { Buffer } from 'node:buffer';
import type { Row } from './driver.js';

interface Cursor {
  rank: number;
  it: AsyncIterator<Row>;
  head: Row | null;
}

function keyOf(r: Row): { tree: Buffer; agent: string } {
  return { tree: r.tree_key as Buffer, agent: String(r.agent) };
}

function compareKeys(a: Row, b: Row): number {
  const c = Buffer.compare(a.tree_key as Buffer, b.tree_key as Buffer);
  if (c !== 0) return c;
  const x = String(a.agent);
  const y = String(b.agent);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** `streams[i]` is job i of the chain (oldest first), each in (tree_key, agent, file_index) order, deletions included. */
export async function* mergeChain(streams: AsyncIterable<Row>[], isDeleted: (r: Row) => boolean): AsyncGenerator<Row> {
  const cursors: Cursor[] = streams.map((s, rank) => ({ rank, it: s[Symbol.asyncIterator](), head: null }));
  try {
    for (const c of cursors) c.head = (await c.it.next()).value ?? null;
    for (;;) {
      let min: Row | null = null;
      for (const c of cursors) if (c.head && (min === null || compareKeys(c.head, min) < 0)) min = c.head;
      if (min === null) return;
      const key = keyOf(min);
      let winner: { rank: number; row: Row } | null = null;
      for (const c of cursors) {
        // Consume every row of this key from the cursor; the last one (highest file index) stands for the job.
        while (c.head && Buffer.compare(c.head.tree_key as Buffer, key.tree) === 0 && String(c.head.agent) === key.agent) {
          if (winner === null || c.rank >= winner.rank) winner = { rank: c.rank, row: c.head };
          const step = await c.it.next();
          c.head = step.done ? null : step.value;
        }
      }
      if (winner && !isDeleted(winner.row)) yield winner.row;
    }
  } finally {
    for (const c of cursors) await c.it.return?.();
  }
}

export function isDeletedRow(r: Row): boolean {
  return r.deleted === true || r.deleted === 1 || r.deleted === 1n;
}
