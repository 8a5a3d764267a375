/**
 * Acceptance (issue 7): a simulated year of daily backups in local mode,
 * job control in process with an injected clock, under a pool with a job
 * retention, restic-style keep rules, a per-volume job limit and a volume
 * retention; autoprune after every job.
 *
 * The test keeps its own model of which jobs must survive — the rules
 * re-derived here (restic's bucket walk, ISO weeks by their Thursday, the
 * restore chains), applied day by day to the model's own survivors — and
 * compares the catalog with it after every day. At the end every surviving
 * job is restored and compared byte for byte with the tree as it was that
 * day; no Incremental or Differential survives without the jobs its restore
 * reads; the volume folder's allocated size (stat blocks) stays bounded and
 * falls on the days recycling truncates volumes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { filesetFromObject } from '../../core/index.js';
import { LocalRepository, initRepository, runBackupJob, runRestoreJob } from '../../director/index.js';
import { compareTrees, formatDifference, contentBytes, tempDir } from '../support/index.js';

const DAYS = 365;
const START = new Date(2025, 0, 1, 21, 0, 0); // a Wednesday, 21:00 local time
const RETENTION_DAYS = 10;
const KEEP = { last: 3, weekly: 4, monthly: 3 };
const MAX_VOLUME_JOBS = 4;

function dayTime(d: number): Date {
  return new Date(START.getFullYear(), START.getMonth(), START.getDate() + d, 21, 0, 0);
}

/** Sunday Full, Wednesday Differential, Incrementals between (the first job becomes a Full: no base). */
function levelOf(d: number): 'full' | 'differential' | 'incremental' {
  const wd = dayTime(d).getDay();
  return wd === 0 ? 'full' : wd === 3 ? 'differential' : 'incremental';
}

/** The source tree as it is on day d: name → bytes (absent = not there). */
function stateAt(d: number): Map<string, Buffer> {
  const t = dayTime(d);
  const m = new Map<string, Buffer>();
  m.set('fixed.txt', Buffer.from('never changes\n'));
  m.set('day.txt', Buffer.concat([Buffer.from(`day ${d}\n`), contentBytes(1000 + d, 0, 300)]));
  m.set('week.bin', contentBytes(5000 + Math.floor(d / 7), 0, 3000));
  m.set('sub/month.txt', contentBytes(9000 + t.getMonth(), 0, 1200));
  if (d % 2 === 1) m.set('odd.txt', Buffer.from(`odd day ${d}\n`));
  return m;
}

function applyState(dir: string, prev: Map<string, Buffer> | null, next: Map<string, Buffer>, t: Date): void {
  for (const [name, bytes] of next) {
    if (prev?.get(name)?.equals(bytes)) continue;
    const p = join(dir, name);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, bytes);
    utimesSync(p, t, t);
  }
  for (const name of prev?.keys() ?? []) if (!next.has(name)) unlinkSync(join(dir, name));
}

/** Allocated bytes of the volume files (stat blocks × 512). */
function allocated(dir: string): number {
  let n = 0;
  for (const f of readdirSync(dir)) if (!f.startsWith('.')) n += statSync(join(dir, f)).blocks * 512;
  return n;
}

// ---- the model: the rules re-derived, independently of director/retention ----

interface ModelJob {
  id: number;
  day: number;
  time: Date;
  level: string;
}

/** ISO week key: the year of the week's Thursday × 100 + the week number. */
function isoWeekKey(t: Date): number {
  const mondayOffset = (t.getDay() + 6) % 7;
  const thursday = new Date(t.getFullYear(), t.getMonth(), t.getDate() - mondayOffset + 3);
  const firstThursdayOfYear = new Date(thursday.getFullYear(), 0, 1);
  while (firstThursdayOfYear.getDay() !== 4) firstThursdayOfYear.setDate(firstThursdayOfYear.getDate() + 1);
  const weeks = Math.round((thursday.getTime() - firstThursdayOfYear.getTime()) / (7 * 86_400_000));
  return thursday.getFullYear() * 100 + weeks + 1;
}

function keptByRules(jobs: ModelJob[]): Set<number> {
  const newestFirst = [...jobs].sort((a, b) => b.time.getTime() - a.time.getTime());
  const kept = new Set<number>();
  const rule = (count: number, key: (j: ModelJob, i: number) => number) => {
    let left = count;
    let last: number | null = null;
    newestFirst.forEach((j, i) => {
      if (left === 0) return;
      const k = key(j, i);
      const oldest = i === newestFirst.length - 1;
      if (k !== last || oldest) {
        kept.add(j.id);
        last = k;
        left--;
      }
    });
  };
  rule(KEEP.last, (_j, i) => i);
  rule(KEEP.weekly, (j) => isoWeekKey(j.time));
  rule(KEEP.monthly, (j) => j.time.getFullYear() * 12 + j.time.getMonth());
  return kept;
}

/** The jobs `j`'s restore reads (besides itself): its Full, the Differential after it, the Incrementals after those. */
function needs(j: ModelJob, all: ModelJob[]): ModelJob[] {
  const before = all.filter((x) => x.id < j.id);
  const full = before.filter((x) => x.level === 'full').at(-1);
  if (!full || j.level === 'full') return [];
  if (j.level === 'differential') return [full];
  const diff = before.filter((x) => x.level === 'differential' && x.id > full.id).at(-1);
  const from = diff ?? full;
  return [full, ...(diff ? [diff] : []), ...before.filter((x) => x.level === 'incremental' && x.id > from.id)];
}

function modelPrune(survivors: ModelJob[], now: Date): ModelJob[] {
  const kept = keptByRules(survivors);
  for (const j of survivors) {
    const expires = new Date(j.time.getFullYear(), j.time.getMonth(), j.time.getDate() + RETENTION_DAYS, j.time.getHours(), j.time.getMinutes());
    if (now.getTime() < expires.getTime()) kept.add(j.id);
  }
  let grew = true;
  while (grew) {
    grew = false;
    for (const j of survivors.filter((x) => kept.has(x.id))) {
      for (const n of needs(j, survivors)) {
        if (!kept.has(n.id)) {
          kept.add(n.id);
          grew = true;
        }
      }
    }
  }
  return survivors.filter((j) => kept.has(j.id));
}

test('retention: a year of daily jobs keeps exactly what the rules say, every survivor restores, disk stays bounded', { timeout: 600_000 }, async (t) => {
  const tmp = tempDir(t, 'cairn-year-');
  const repoPath = join(tmp, 'repo');
  const src = join(tmp, 'src');
  mkdirSync(src);
  initRepository(repoPath, {
    blockSize: 4096,
    pool: 'Daily',
    pools: { Daily: { labelFormat: 'Daily-${Year}${Month}-${Counter:3}', maxVolumeJobs: MAX_VOLUME_JOBS, jobRetention: `${RETENTION_DAYS}d`, volumeRetention: '2d', keep: KEEP } },
  });
  let clock = dayTime(0);
  const repo = await LocalRepository.open(repoPath, { clock: () => clock });
  const fileset = filesetFromObject({ name: 'sim', include: [src] }, 'year test');
  const volumes = join(repoPath, 'volumes');

  let survivors: ModelJob[] = [];
  const states = new Map<number, Map<string, Buffer>>();
  const usage: number[] = [];
  let prev: Map<string, Buffer> | null = null;
  try {
    for (let d = 0; d < DAYS; d++) {
      clock = dayTime(d);
      const state = stateAt(d);
      applyState(src, prev, state, clock);
      prev = state;
      const now = clock;
      const report = await runBackupJob(repo, { fileset, jobName: 'sim', level: levelOf(d), now: () => now });
      assert.equal(report.status, 'ok', `day ${d}: ${JSON.stringify(report.error)}`);
      states.set(report.jobId, state);
      survivors = modelPrune([...survivors, { id: report.jobId, day: d, time: now, level: report.level! }], now);
      const actual = (await repo.catalog.retention.allJobs()).filter((j) => j.type === 'backup').map((j) => j.id);
      assert.deepEqual(actual, survivors.map((j) => j.id), `day ${d} (${now.toDateString()}): the catalog's jobs differ from the rules' survivors`);
      usage.push(allocated(volumes));
    }

    // No Incremental or Differential without the jobs its restore reads.
    const all = await repo.catalog.retention.allJobs();
    for (const j of all) {
      const chain = await repo.catalog.restoreChain(j);
      assert.equal(chain[0].level, 'full', `job ${j.id} has no Full`);
      for (const c of chain) assert.ok(all.some((x) => x.id === c.id), `job ${j.id} needs job ${c.id}, which is gone`);
    }

    // Disk: bounded, and it fell on the days recycling truncated volumes.
    const vols = await repo.catalog.listVolumes();
    const recycled = vols.filter((v) => v.recycleCount > 0);
    assert.ok(recycled.length > 0, 'some volumes were recycled');
    const falls = usage.filter((u, i) => i > 0 && u < usage[i - 1]).length;
    assert.ok(falls > 10, `the allocated size fell on recycling days (${falls} times)`);
    const peakFirstQuarter = Math.max(...usage.slice(0, 90));
    const peakRest = Math.max(...usage.slice(90));
    assert.ok(peakRest <= peakFirstQuarter * 1.5, `allocated size bounded: first quarter peak ${peakFirstQuarter}, later peak ${peakRest}`);
    assert.ok(vols.length <= 20, `volume count bounded (${vols.length})`);
    t.diagnostic(`survivors ${survivors.length} (days ${survivors.map((j) => j.day).join(' ')}); volumes ${vols.length}, recycled ${recycled.length}; allocated first-quarter peak ${peakFirstQuarter} B, later peak ${peakRest} B, end ${usage.at(-1)} B; falls ${falls}`);

    // Every survivor restores byte-exact: each Full, the newest chain, and all the others (there are few).
    for (const m of survivors) {
      const job = (await repo.catalog.getJob(m.id))!;
      const to = join(tmp, `restore-${m.id}`);
      const r = await runRestoreJob(repo, { job, to, paths: [], replace: 'always' });
      assert.equal(r.status, 'ok', `restore of job ${m.id} (day ${m.day}): ${JSON.stringify(r.error)} ${JSON.stringify(r.problems.slice(0, 3))}`);
      const expected = join(tmp, `expected-${m.id}`);
      applyState(expected, null, states.get(m.id)!, dayTime(m.day));
      const diffs = compareTrees(expected, join(to, src), { mtime: false });
      assert.deepEqual(diffs.map(formatDifference), [], `job ${m.id} (day ${m.day}, ${m.level})`);
      rmSync(to, { recursive: true });
      rmSync(expected, { recursive: true });
    }
    assert.ok(existsSync(volumes) && readFileSync(join(repoPath, 'cairn-repo.json'), 'utf8').includes('Daily'));
  } finally {
    await repo.close();
  }
});
