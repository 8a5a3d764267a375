import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chainBreak, firstToShip, gapBreak, readState, walToShip, type PglogState } from './wal-plan.js';
import { nextSegment, parseLsn, parseSegmentName, segmentName, segmentOf, segmentOfLsn, segmentRange, spoolKind } from './wal-segment.js';

const MB16 = 16 * 1024 * 1024;
const MB1 = 1024 * 1024;

test('segment names: parse, format, next across the 32-bit boundary, per segment size', () => {
  assert.deepEqual(parseSegmentName('0000000100000000000000FF', MB16), { timeline: 1, segNo: 255 });
  assert.equal(nextSegment('0000000100000000000000FF', MB16), '000000010000000100000000', '256 segments of 16 MiB per 4 GiB');
  assert.equal(nextSegment('0000000100000000000000FF', MB1), '000000010000000000000100', '4096 segments of 1 MiB per 4 GiB');
  assert.equal(nextSegment('000000010000000000000FFF', MB1), '000000010000000100000000');
  assert.equal(segmentName({ timeline: 2, segNo: 4096 * 3 + 5 }, MB1), '000000020000000300000005');
  assert.deepEqual(segmentRange('0000000100000000000000FE', '000000010000000100000001', MB16), ['0000000100000000000000FE', '0000000100000000000000FF', '000000010000000100000000', '000000010000000100000001']);
  assert.deepEqual(segmentRange('000000010000000000000005', '000000010000000000000004', MB16), []);
  assert.equal(parseLsn('16/B374D848'), (0x16n << 32n) | 0xb374d848n);
  assert.equal(segmentOfLsn('0/800028', 1, MB1), '000000010000000000000008');
  assert.equal(segmentOfLsn('1/2000000', 3, MB16), '000000030000000100000002');
  assert.throws(() => parseSegmentName('00000001000000000000000g', MB16), TypeError);
});

test('spool names: segments, history, backup history, partial, and the rest ignored', () => {
  assert.equal(spoolKind('000000010000000000000008'), 'segment');
  assert.equal(spoolKind('00000002.history'), 'history');
  assert.equal(spoolKind('000000010000000000000008.00000028.backup'), 'backup-history');
  assert.equal(spoolKind('000000010000000000000008.partial'), 'partial');
  assert.equal(spoolKind('000000010000000000000008.tmp'), 'other');
  assert.equal(segmentOf('000000010000000000000008.00000028.backup'), '000000010000000000000008');
  assert.equal(segmentOf('00000002.history'), null);
});

const state: PglogState = {
  v: 1,
  systemId: '7312345678901234567',
  timeline: 1,
  segmentSize: MB16,
  lastSegment: '00000001000000000000000A',
  lastLsn: '0/A000000',
  walEnd: '2026-01-01T00:00:00.000Z',
  full: { jobId: 3, startSegment: '000000010000000000000004', lastSegment: '000000010000000000000006' },
};
const server = { systemId: state.systemId, timeline: 1, segmentSize: MB16 };

test('state: read back from JSON; anything else is no state', () => {
  assert.deepEqual(readState(JSON.parse(JSON.stringify(state))), state);
  assert.equal(readState(null), null);
  assert.equal(readState({ v: 2 }), null);
  assert.equal(readState({ ...state, full: null } as never), null);
});

test('chain checks: continues on the same cluster and timeline; says why not otherwise', () => {
  assert.equal(chainBreak('incremental', state, server, 7), null);
  assert.equal(chainBreak('incremental', null, server, 7)?.code, 'CAIRN_E_PGLOG_NO_BASE_STATE');
  const other = chainBreak('differential', state, { ...server, systemId: '1' });
  assert.equal(other?.code, 'CAIRN_E_PGLOG_CLUSTER_CHANGED');
  assert.match(other!.message, /7312345678901234567/);
  assert.equal(chainBreak('incremental', state, { ...server, segmentSize: MB1 })?.code, 'CAIRN_E_PGLOG_CLUSTER_CHANGED');
  const tl = chainBreak('incremental', state, { ...server, timeline: 2 }, 7);
  assert.equal(tl?.code, 'CAIRN_E_PGLOG_TIMELINE_SWITCH');
  assert.match(tl!.message, /timeline 2 .*timeline 1 up to segment 00000001000000000000000A/);
  assert.deepEqual(tl!.fields, { timeline: 2, chainTimeline: 1, lastSegment: '00000001000000000000000A' });
});

test('WAL to ship: from the segment after the last shipped to the switch; the first missing one is named', () => {
  const first = firstToShip(state);
  assert.equal(first, '00000001000000000000000B');
  const present = new Set(['00000001000000000000000B', '00000001000000000000000C', '00000001000000000000000E', '00000001000000000000000F']);
  const plan = walToShip(first, '00000001000000000000000F', present, MB16);
  assert.equal(plan.segments.length, 5);
  assert.equal(plan.missing, '00000001000000000000000D');
  const gap = gapBreak('incremental', plan.missing!, first, '00000001000000000000000F', '/spool', state, 7);
  assert.equal(gap.code, 'CAIRN_E_PGLOG_WAL_GAP');
  assert.match(gap.message, /^WAL segment 00000001000000000000000D is missing from the spool \/spool/);
  assert.equal(gap.fields.segment, '00000001000000000000000D');
  assert.deepEqual(walToShip(first, '00000001000000000000000A', present, MB16), { segments: [], missing: null }, 'nothing new: nothing to ship');
});
