import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { confQuote, pgTimestamp, recoveryConf, restoreCommand, shellQuote } from './recovery-config.js';

test('restore_command: the WAL folder quoted for sh, % doubled for PostgreSQL', () => {
  assert.equal(restoreCommand('/r/main/wal'), `cp '/r/main/wal/%f' "%p"`);
  assert.equal(restoreCommand(`/r/it's 100%/wal`), `cp '/r/it'\\''s 100%%/wal/%f' "%p"`);
  // sh reads the quoted word back as the path.
  const word = shellQuote(`/a b/it's $HOME`);
  assert.equal(execFileSync('sh', ['-c', `printf %s ${word}`], { encoding: 'utf8' }), `/a b/it's $HOME`);
});

test('postgresql.conf strings: quotes doubled, backslashes escaped', () => {
  assert.equal(confQuote(`cp 'a' "b"`), `'cp ''a'' "b"'`);
  assert.equal(confQuote('a\\b'), `'a\\\\b'`);
});

test('recovery settings: target time with a numeric offset (no Z), promote, archiving off', () => {
  assert.equal(pgTimestamp(new Date('2026-12-06T05:19:36.084Z')), '2026-12-06 05:19:36.084+00');
  const withTarget = recoveryConf({ walDir: '/r/main/wal', target: new Date('2026-12-06T05:19:36.084Z'), note: 'n' });
  assert.match(withTarget, /^restore_command = 'cp ''\/r\/main\/wal\/%f'' "%p"'$/m);
  assert.match(withTarget, /^recovery_target_time = '2026-12-06 05:19:36.084\+00'$/m);
  assert.match(withTarget, /^recovery_target_action = 'promote'$/m);
  assert.match(withTarget, /^archive_mode = 'off'$/m);
  const latest = recoveryConf({ walDir: '/w', note: 'n' });
  assert.doesNotMatch(latest, /recovery_target/);
});
