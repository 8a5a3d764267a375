import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allowList, isLoopback } from './cidr.js';

test('IPv4 blocks and single addresses', () => {
  const ok = allowList(['10.0.0.0/8', '192.168.1.7', '172.16.0.0/12']);
  assert.equal(ok('10.1.2.3'), true);
  assert.equal(ok('11.0.0.1'), false);
  assert.equal(ok('192.168.1.7'), true);
  assert.equal(ok('192.168.1.8'), false);
  assert.equal(ok('172.31.255.255'), true);
  assert.equal(ok('172.32.0.0'), false);
  assert.equal(ok('not-an-address'), false);
});

test('IPv6 blocks, compressed forms, zone ids', () => {
  const ok = allowList(['2001:db8::/32', '::1', 'fe80::/10']);
  assert.equal(ok('2001:db8:0:0:1::5'), true);
  assert.equal(ok('2001:0db8:ffff::'), true);
  assert.equal(ok('2001:db9::1'), false);
  assert.equal(ok('::1'), true);
  assert.equal(ok('0:0:0:0:0:0:0:1'), true);
  assert.equal(ok('::2'), false);
  assert.equal(ok('fe80::1%eth0'), true);
  assert.equal(ok('10.0.0.1'), false);
});

test('IPv4-mapped IPv6 addresses match IPv4 blocks, and mapped entries match IPv4 peers', () => {
  assert.equal(allowList(['127.0.0.0/8'])('::ffff:127.0.0.1'), true);
  assert.equal(allowList(['127.0.0.0/8'])('::ffff:7f00:1'), true);
  assert.equal(allowList(['127.0.0.0/8'])('::ffff:128.0.0.1'), false);
  assert.equal(allowList(['::ffff:10.0.0.0/104'])('10.9.9.9'), true);
  assert.equal(allowList(['::ffff:10.0.0.0/104'])('11.0.0.1'), false);
  assert.equal(allowList(['::ffff:192.0.2.1'])('192.0.2.1'), true);
});

test('/0 matches its whole family only', () => {
  assert.equal(allowList(['0.0.0.0/0'])('203.0.113.9'), true);
  assert.equal(allowList(['0.0.0.0/0'])('2001:db8::1'), false);
  assert.equal(allowList(['::/0'])('2001:db8::1'), true);
});

test('malformed entries are refused with CAIRN_E_NET_CONFIG', () => {
  for (const bad of ['10.0.0.0/33', 'example.com', '10.0.0.0/8/1', '::1/129', '10.0.0.0/x']) {
    assert.throws(() => allowList([bad]), (e: { code?: string }) => e.code === 'CAIRN_E_NET_CONFIG', bad);
  }
});

test('isLoopback', () => {
  assert.equal(isLoopback('127.0.0.1'), true);
  assert.equal(isLoopback('127.8.9.10'), true);
  assert.equal(isLoopback('::1'), true);
  assert.equal(isLoopback('::ffff:127.0.0.1'), true);
  assert.equal(isLoopback('10.0.0.1'), false);
  assert.equal(isLoopback(undefined), false);
});
