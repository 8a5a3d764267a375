// Acceptance (issue 5): concurrent jobs spooling to disk and despooling to
// one vtape drive restore byte-exact; on tape each despool is one long run of
// one job's blocks, however slowly and interleaved the clients sent data.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir } from '../../test/support/temp.js';
import { BlockKind } from '../volume/block.js';
import { backup, bootstrapOf, makeFiles, restore, startTapeSd, tapeContents } from '../testing/tape-fixtures.js';

const BS = 64 * 1024;

test('three slow jobs spool concurrently and despool one at a time to one vtape drive; each restores byte-exact', async (t) => {
  const dir = tempDir(t, 'cairn-spool-');
  const spoolDir = join(tempDir(t, 'cairn-spool-area-'), 'spool');
  // A job despools every 4 blocks (256 KiB) and at close; 2.5 MiB tapes, so the jobs also span a second tape.
  const h = await startTapeSd(dir, { slots: 3, capacity: 2560 * 1024, blockSize: BS, filemarkBytes: 8 * BS, spool: { dir: spoolDir, maxJobBytes: 4 * BS } });
  const jobs = [1, 2, 3].map((id) => ({ id, files: makeFiles(10, 70_000 + id * 5000) }));
  // Slow clients: each waits a little after every file, so their records arrive interleaved.
  const reports = await Promise.all(jobs.map((j) => backup(h, j.id, j.files, () => sleep(3 + j.id))));
  assert.deepEqual(readdirSync(spoolDir), [], 'spool files are removed once despooled');
  for (const [k, j] of jobs.entries()) {
    const back = await restore(h, bootstrapOf(reports[k]));
    for (const [i, recs] of j.files) assert.deepEqual(back.get(i), recs.map((r) => Buffer.from(r.payload)), `job ${j.id} file ${i} byte-exact`);
  }
  const volumes = new Set(reports.flatMap((r) => r.ranges.map((x) => x.volume)));
  t.diagnostic(`volumes used: ${[...volumes].join(', ')}`);
  await h.cleanup();

  // On tape: runs of one session's blocks. Each despool (every 4 data blocks, and the rest at close) is one run,
  // give or take a run split by a volume change.
  const tapes = await tapeContents(dir, 3, BS);
  let runs = 0;
  let blocks = 0;
  for (const list of tapes.values()) {
    let prev = -1;
    for (const b of list) {
      blocks++;
      if (b.sessionId !== prev) runs++;
      prev = b.sessionId;
    }
  }
  const dataBlocks = [...tapes.values()].flat().filter((b) => b.kind === BlockKind.DATA).length;
  const despools = reports.reduce((n, r) => n + Math.ceil((r.blocks - 2) / 4), 0);
  t.diagnostic(`${blocks} blocks on tape (${dataBlocks} data) in ${runs} runs; at most ${despools} despools`);
  assert.ok(runs <= despools + tapes.size * 2, `long runs: ${runs} runs for ${despools} despools`);
  assert.ok(runs < dataBlocks / 2, 'not interleaved block by block');
});
