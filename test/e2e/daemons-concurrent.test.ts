/**
 * Acceptance (issue 3): four jobs from two FDs running at the same time into
 * one SD device. All succeed; their blocks interleave on one volume; each
 * restores byte-exact; the catalog's job-media records are right — with the
 * Director's catalog in SQLite and in PostgreSQL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freeLoopbackPorts } from '../../config/index.js';
import { postgresCatalog, type PostgresCatalogConfig } from '../support/postgres.js';
import { catalog as catalogPart } from '../../director/index.js';
import { assertTreesEqual, generateSmallFiles, tempDir } from '../support/index.js';
import { CAIRN_BIN, PROJECT_ROOT, lastJson } from './cli-runner.js';
import { startDaemonSet, startExtraFd } from './daemon-set.js';

const { Catalog } = catalogPart;
type Catalog = catalogPart.Catalog;

/** `cairn --config … ARGS` as a live child: the four jobs must run at once, so not spawnSync. */
function consoleRun(consoleFile: string, args: string[]): Promise<{ status: number | null; json: any; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CAIRN_BIN, '--config', consoleFile, ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, json: lastJson(out), out }));
  });
}

for (const engine of ['sqlite', 'postgres'] as const) {
  test(`four concurrent jobs from two FDs into one SD device (${engine} catalog): all OK, interleaved, each restores byte-exact`, async (t) => {
    const tmp = tempDir(t, 'cairn-concurrent-');
    let catalog: PostgresCatalogConfig | undefined;
    let openCatalog = (): Promise<Catalog> => Catalog.open(join(tmp, 'conf', 'dir', 'catalog.db'));
    if (engine === 'postgres') {
      const p = await postgresCatalog(t);
      if (!p) return;
      const c = (catalog = p.catalog);
      openCatalog = () => catalogPart.openConfiguredCatalog(c);
    }
    const sources = [1, 2, 3, 4].map((i) => join(tmp, `src${i}`));
    sources.forEach((s, i) => {
      generateSmallFiles(s, { count: 600, dirs: 6, minSize: 100, maxSize: 40_000, seed: 20 + i });
      writeFileSync(join(s, 'big.bin'), Buffer.alloc(3 * 1024 * 1024 + i, 40 + i));
    });
    const [fd2Port] = await freeLoopbackPorts(1);
    const d = await startDaemonSet(t, join(tmp, 'conf'), {
      source: sources[0],
      edit: {
        dir: (doc) => {
          if (catalog) doc.director.catalog = catalog;
          const fd1 = doc.clients[0];
          doc.clients.push({ ...fd1, name: 'fd2', port: fd2Port });
          doc.filesets = sources.map((s, i) => ({ name: `set${i + 1}`, include: [s] }));
          // Each job's data rate is held (maxBandwidth), so every job runs for seconds and the four overlap however loaded the machine is.
          doc.jobs = sources.map((_s, i) => ({ ...doc.jobs[0], name: `job${i + 1}`, fileset: `set${i + 1}`, client: i < 2 ? fd1.name : 'fd2', maxBandwidth: 3 * 1024 * 1024 }));
        },
      },
    });
    // The second FD: the first one's config under another name, port and working directory.
    await startExtraFd(t, d, { name: 'fd2', port: fd2Port });

    const runs = await Promise.all([1, 2, 3, 4].map((i) => consoleRun(d.qs.files.console, ['run', `job${i}`, '--wait', '--json'])));
    for (const r of runs) {
      assert.equal(r.status, 0, r.out);
      assert.equal(r.json.status, 'ok', r.out);
    }
    // One volume, shared: the sessions' block ranges overlap (interleaved), and each job has its own job-media.
    const volumes = new Set(runs.flatMap((r) => r.json.volumes));
    assert.equal(volumes.size, 1, `all four jobs wrote one volume: ${[...volumes]}`);
    // They ran at the same time: every job started before any ended.
    const latestStart = Math.max(...runs.map((r) => Date.parse(r.json.startedAt)));
    const firstEnd = Math.min(...runs.map((r) => Date.parse(r.json.endedAt)));
    assert.ok(latestStart < firstEnd, 'the four jobs overlapped in time');
    // Job media: one range per job on that volume, each its own session; the ranges' blocks interleave.
    const cat = await openCatalog();
    const media: catalogPart.JobMediaRange[][] = [];
    for (const r of runs) media.push(await cat.jobMedia(r.json.jobId));
    await cat.close();
    const sessions = new Set(media.map((m) => m[0].sessionId));
    assert.equal(sessions.size, 4, 'four sessions');
    for (const m of media) assert.ok(m.length >= 1 && m.every((x) => x.volume === [...volumes][0]));
    const span = (m: (typeof media)[0]) => [Math.min(...m.map((x) => x.startBlock)), Math.max(...m.map((x) => x.endBlock))];
    const overlapping = media.some((a, i) => media.some((b, j) => i !== j && span(a)[0] < span(b)[1] && span(b)[0] < span(a)[1]));
    assert.ok(overlapping, `sessions' blocks interleave on the volume: ${JSON.stringify(media.map(span))}`);
    for (let i = 0; i < 4; i++) {
      const out = join(tmp, `out${i + 1}`);
      const r = await consoleRun(d.qs.files.console, ['restore', String(runs[i].json.jobId), '--to', out, '--wait', '--json']);
      assert.equal(r.status, 0, r.out);
      assertTreesEqual(sources[i], join(out, sources[i]));
    }
    const ls = await consoleRun(d.qs.files.console, ['jobs', '--json']);
    const backups = ls.json.filter((j: { type: string }) => j.type === 'backup');
    assert.equal(backups.length, 4);
    assert.deepEqual(new Set(backups.map((j: { client: string }) => j.client)), new Set(['local-fd', 'fd2']));
    assert.match(d.log('sd'), /append session opened/);
  });
}
