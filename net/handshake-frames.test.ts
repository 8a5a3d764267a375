import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLine, parseVersions } from './auth-proof.js';
import { encodeLine, parseStatus, refusalError } from './handshake-frames.js';

test('refusal statuses map to their codes; a known code in the text wins', () => {
  const cases: [string, string, boolean][] = [
    ['1403 CAIRN_E_NET_NOT_ALLOWED host 10.1.1.1 is not allowed', 'CAIRN_E_NET_NOT_ALLOWED', false],
    ['1503 CAIRN_E_NET_BUSY too many connections (max 4)', 'CAIRN_E_NET_BUSY', true],
    ['1401 CAIRN_E_AUTH_FAILED authentication failed', 'CAIRN_E_AUTH_FAILED', false],
    ['1400 CAIRN_E_AUTH_TIMEOUT handshake not completed within 10000 ms', 'CAIRN_E_AUTH_TIMEOUT', true],
    ['1400 something else', 'CAIRN_E_AUTH_PROTOCOL', false],
    ['1503 CAIRN_E_FROM_THE_FUTURE busy', 'CAIRN_E_NET_BUSY', true],
    ['1999 odd', 'CAIRN_E_AUTH_PROTOCOL', false],
  ];
  for (const [line, code, retryable] of cases) {
    const e = refusalError(parseStatus(line)!, { host: 'h', port: 1 });
    assert.equal(e.code, code, line);
    assert.equal(e.retryable, retryable, line);
    assert.equal(e.fields.status, Number(line.slice(0, 4)));
    assert.equal(e.fields.host, 'h');
  }
  assert.equal(refusalError(parseStatus('1403 CAIRN_E_NET_NOT_ALLOWED host x is not allowed')!).fields.serverMessage, 'host x is not allowed');
});

test('lines: command words first, Key=Value after, keys case-insensitive, no repeats or stray spaces', () => {
  const p = parseLine('HELLO Cairn/1 Role=fd NAME=a Versions=1,2 Nonce=00')!;
  assert.equal(p.command, 'hello cairn/1');
  assert.deepEqual([...p.args], [['role', 'fd'], ['name', 'a'], ['versions', '1,2'], ['nonce', '00']]);
  assert.equal(parseLine('hello  Cairn/1'), null);
  assert.equal(parseLine('hello Role=a Role=b'), null);
  assert.equal(parseLine('hello Role=a stray'), null);
  assert.equal(parseLine(' hello'), null);
  assert.deepEqual(parseVersions('1,2,65535'), [1, 2, 65535]);
  for (const bad of ['', '0', '1,', '1,,2', '65536', 'x', '01']) assert.equal(parseVersions(bad), null, bad);
  assert.deepEqual([...encodeLine('ab')], [0, 0, 0, 2, 0x61, 0x62]);
});
