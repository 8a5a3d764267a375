import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { SdNotification } from '../api.js';
import { job, makeRecords, startSd } from '../testing/harness.js';

function summary(notes: SdNotification[]): { records: number; last: string } {
  let records = 0;
  for (const n of notes) if (n.type === 'catalog-records') records += n.records.length;
  return { records, last: notes[notes.length - 1]?.type ?? 'none' };
}

test('a Director that drops mid-job claims the job again: every notification is replayed in order, later ones follow; release deletes the spool', async () => {
  const base = fs.mkdtempSync(path.join('/tmp', 'cairn-spool-'));
  const spoolDir = path.join(base, 'spool');
  const h = startSd({ blockSize: 64 * 1024, spoolDir }, path.join(base, 'dev'));
  try {
    const first = h.director();
    const before: SdNotification[] = [];
    first.onNotification((n) => void before.push(n));
    const { ticket } = await first.openAppendSession(job(7));
    const s = h.session();
    await s.appendOpen(ticket);
    const records = makeRecords(3, 3000, 2000).map((r) => ({ ...r, streamType: 1 })); // attributes: all cataloged
    for (const r of records.slice(0, 2000)) await s.writeRecord(r);
    await s.appendEnd(); // the blocks so far are numbered: their catalog records went to the first Director
    await first.close(); // the Director goes away mid-job
    const second = h.director();
    const after: SdNotification[] = [];
    second.onNotification((n) => void after.push(n));
    const claimed = await second.claim(7);
    assert.equal(claimed.state, 'running');
    assert.ok(claimed.notifications > 0);
    // The FD goes on; the session closes while the second Director holds the job.
    const report = await s.appendClose();
    await s.close();
    await new Promise((r) => setTimeout(r, 20));
    const got = summary(after);
    assert.equal(got.last, 'session-closed');
    assert.equal(got.records, report.records, 'every catalog record of the session reached the second Director');
    assert.ok(summary(before).records < report.records);
    assert.ok(fs.existsSync(path.join(spoolDir, 'job-7.notes')));

    // After an SD restart the closed job can still be claimed from the spool file alone.
    await h.sd.close();
    const h2 = startSd({ blockSize: 64 * 1024, spoolDir }, path.join(base, 'dev'));
    const third = h2.director();
    const replayed: SdNotification[] = [];
    third.onNotification((n) => void replayed.push(n));
    assert.deepEqual(await third.claim(7), { jobId: 7, state: 'closed', notifications: claimed.notifications + (after.length - claimed.notifications) });
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(summary(replayed), got);
    await third.release(7);
    assert.equal(fs.existsSync(path.join(spoolDir, 'job-7.notes')), false);
    await assert.rejects(third.claim(7), { code: 'CAIRN_E_SESSION_NOT_FOUND' });
    await third.close();
    await h2.sd.close();
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});

test('release refuses a job whose session still runs; without a spool folder nothing is kept', async () => {
  const base = fs.mkdtempSync(path.join('/tmp', 'cairn-spool-'));
  const h = startSd({ spoolDir: path.join(base, 'spool') }, path.join(base, 'dev'));
  const plain = startSd({}, path.join(base, 'dev2'));
  try {
    const d = h.director();
    await d.openAppendSession(job(9));
    await assert.rejects(d.release(9), { code: 'CAIRN_E_SESSION_STATE' });
    const p = plain.director();
    await assert.rejects(p.claim(9), { code: 'CAIRN_E_SESSION_NOT_FOUND' });
    await d.close();
    await p.close();
  } finally {
    await h.sd.close();
    await plain.sd.close();
    fs.rmSync(base, { recursive: true, force: true });
  }
});
