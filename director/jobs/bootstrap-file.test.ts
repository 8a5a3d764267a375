import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCairnError } from '../../plugin-api/index.js';
import { bootstrapFileName, formatBootstrap, parseBootstrap, type BootstrapDocument } from './bootstrap-file.js';

const doc: BootstrapDocument = {
  job: { id: 4, name: 'home dir', client: 'lap top', level: 'incremental', endedAt: '2026-12-06T05:00:00.000Z' },
  sessions: [
    { jobId: 1, sessionId: 1, name: 'home dir', client: 'lap top', level: 'full', entries: [{ volume: 'Default-0001', sessionId: 1, startFile: 0, startBlock: 1, endFile: 0, endBlock: 9, fileIndexes: [[1, 16], [18, 18]] }] },
    {
      jobId: 4, sessionId: 7, level: 'incremental',
      entries: [
        { volume: 'Default-0001', sessionId: 7, startFile: 0, startBlock: 13, endFile: 0, endBlock: 15 },
        { volume: 'Default 0002', sessionId: 7, startFile: 0, startBlock: 1, endFile: 0, endBlock: 3, fileIndexes: [[1, 14]] },
      ],
    },
  ],
};

test('bootstrap files round-trip: names with spaces, ranges, entries without indexes', () => {
  const text = formatBootstrap(doc);
  assert.match(text, /^# .*\ncairn-bootstrap 1\njob id=4 name=home%20dir client=lap%20top level=incremental ended=/);
  assert.match(text, /indexes=1-16,18\n/);
  assert.deepEqual(parseBootstrap(text), doc);
});

test('bootstrap files: errors name file and line; unknown keys are ignored', () => {
  const bad = (text: string, re: RegExp) => {
    assert.throws(() => parseBootstrap(text, 'x.bsr'), (e: unknown) => isCairnError(e) && e.code === 'CAIRN_E_BOOTSTRAP_SYNTAX' && re.test(e.message));
  };
  bad('hello\n', /x\.bsr:1: not a Cairn bootstrap file/);
  bad('cairn-bootstrap 2\n', /format 2/);
  bad('cairn-bootstrap 1\nvolume name=a startfile=0 startblock=1 endfile=0 endblock=2\n', /x\.bsr:2: a volume line must follow a session line/);
  bad('cairn-bootstrap 1\nsession job=1 id=1\nvolume name=a startfile=0 startblock=1 endfile=0 endblock=2 indexes=5-3\n', /x\.bsr:3: indexes/);
  bad('cairn-bootstrap 1\nsession job=1\n', /session needs id=<number>/);
  bad('cairn-bootstrap 1\nfrobnicate a=b\n', /unknown line "frobnicate"/);
  const ok = parseBootstrap('# c\n\ncairn-bootstrap 1\nsession job=1 id=2 future=yes\nvolume name=V startfile=0 startblock=1 endfile=0 endblock=2 colour=blue\n');
  assert.deepEqual(ok.sessions[0].entries, [{ volume: 'V', sessionId: 2, startFile: 0, startBlock: 1, endFile: 0, endBlock: 2 }]);
  assert.equal(bootstrapFileName('my host', 'a/b'), 'my_host-a_b.bsr');
});
