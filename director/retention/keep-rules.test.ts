import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyKeepRules, weekly } from './keep-rules.js';
import { checkLabelTemplate, expandLabelTemplate, parseDuration, subtractDuration } from '../catalog/index.js';

const at = (y: number, mo: number, d: number, h = 0) => new Date(y, mo - 1, d, h);
const kept = (m: Map<number, string[]>) => [...m.keys()].sort((a, b) => a - b);

test('keep rules: restic forum example — --keep-daily 4 vs --keep-within-daily 4d', () => {
  const jobs = [
    { id: 1, time: at(2024, 5, 1, 8) },
    { id: 2, time: at(2024, 5, 2, 8) },
    { id: 3, time: at(2024, 5, 2, 11) },
    { id: 4, time: at(2024, 5, 4, 9) },
    { id: 5, time: at(2024, 5, 5, 10) },
  ];
  const now = at(2024, 5, 5, 12);
  assert.deepEqual(kept(applyKeepRules(jobs, { daily: 4 }, now)), [1, 3, 4, 5]);
  assert.deepEqual(kept(applyKeepRules(jobs, { withinDaily: '4d' }, now)), [3, 4, 5]);
  assert.deepEqual(applyKeepRules(jobs, { daily: 4 }, now).get(5), ['daily snapshot']);
});

test('keep rules: last N; unlimited; the oldest job is kept while a rule has count left', () => {
  const jobs = [1, 2, 3, 4, 5].map((i) => ({ id: i, time: at(2024, 1, i) }));
  assert.deepEqual(kept(applyKeepRules(jobs, { last: 2 }, at(2025, 1, 1))), [4, 5]);
  assert.deepEqual(kept(applyKeepRules(jobs, { daily: -1 }, at(2025, 1, 1))), [1, 2, 3, 4, 5]);
  const months = [
    { id: 1, time: at(2024, 1, 5) },
    { id: 2, time: at(2024, 1, 20) },
    { id: 3, time: at(2024, 2, 3) },
  ];
  const r = applyKeepRules(months, { monthly: 5 }, at(2025, 1, 1));
  assert.deepEqual(kept(r), [1, 2, 3]);
  assert.deepEqual(r.get(1), ['oldest monthly snapshot']);
  // With the count used up, the oldest is not kept.
  assert.deepEqual(kept(applyKeepRules(months, { monthly: 2 }, at(2025, 1, 1))), [2, 3]);
});

test('keep rules: --keep-within counts back from the newest job (not now), strictly after the cutoff; future jobs are not "latest"', () => {
  const jobs = [10, 9, 8].map((d, i) => ({ id: i + 1, time: at(2024, 3, 20 - d) }));
  // newest is March 12; 2d before it is March 10: the March 10 job is not after it.
  assert.deepEqual(kept(applyKeepRules(jobs, { within: '2d' }, at(2025, 1, 1))), [2, 3]);
  // A job in the future of `now` does not move "latest".
  const withFuture = [...jobs, { id: 4, time: at(2030, 1, 1) }];
  assert.deepEqual(kept(applyKeepRules(withFuture, { within: '2d' }, at(2025, 1, 1))), [2, 3, 4]);
  // Calendar months: 1m before March 31 is "February 31" = March 2 (2024 is a leap year).
  assert.deepEqual(subtractDuration(at(2024, 3, 31, 5), parseDuration('1m')), at(2024, 3, 2, 5));
});

test('keep rules: ISO weeks by their Thursday; several rules name each reason', () => {
  assert.equal(weekly(at(2024, 12, 30), 0), 202501);
  assert.equal(weekly(at(2021, 1, 3), 0), 202053);
  assert.equal(weekly(at(2026, 6, 15), 0), 202625);
  const jobs = [
    { id: 1, time: at(2024, 12, 28, 10) }, // Saturday, week 2024-52
    { id: 2, time: at(2024, 12, 30, 10) }, // Monday, week 2025-01
    { id: 3, time: at(2025, 1, 2, 10) }, // Thursday, week 2025-01
  ];
  const r = applyKeepRules(jobs, { weekly: 2, last: 1, yearly: 1 }, at(2025, 2, 1));
  assert.deepEqual(kept(r), [1, 3]);
  assert.deepEqual(r.get(3), ['last snapshot', 'weekly snapshot', 'yearly snapshot']);
  assert.deepEqual(r.get(1), ['weekly snapshot']);
});

test('durations and label templates: forms, errors', () => {
  assert.deepEqual(parseDuration('1y6m2w3d12h'), { years: 1, months: 6, days: 17, hours: 12 });
  assert.throws(() => parseDuration('30 days'), { code: 'CAIRN_E_CATALOG_DURATION' });
  assert.throws(() => parseDuration(''), { code: 'CAIRN_E_CATALOG_DURATION' });
  assert.equal(expandLabelTemplate('Daily-${Year}${Month}${Day}-${Counter:3}', { pool: 'Daily', counter: 7, date: at(2026, 3, 9) }), 'Daily-20260309-007');
  assert.equal(expandLabelTemplate('${Pool}_${Counter}', { pool: 'Tape', counter: 12, date: at(2026, 3, 9) }), 'Tape_12');
  assert.throws(() => checkLabelTemplate('Daily-${Year}'), { code: 'CAIRN_E_CATALOG_LABEL_TEMPLATE' });
  assert.throws(() => checkLabelTemplate('D-${Week}-${Counter}'), { code: 'CAIRN_E_CATALOG_LABEL_TEMPLATE' });
  assert.throws(() => checkLabelTemplate('D/${Counter}'), { code: 'CAIRN_E_CATALOG_LABEL_TEMPLATE' });
});
