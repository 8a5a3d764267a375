import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { GlobSet, compileGlob } from './glob.js';

const m = (pattern: string, path: string | Uint8Array): boolean => new GlobSet([pattern]).matches(path);

test('star matches within one component, against full path or basename', () => {
  assert.equal(m('*.tmp', '/home/u/a.tmp'), true);
  assert.equal(m('*.tmp', '/home/u/a.tmpx'), false);
  assert.equal(m('/home/*/a.tmp', '/home/u/a.tmp'), true);
  assert.equal(m('/home/*', '/home/u/a.tmp'), false);
  assert.equal(m('cache', '/var/cache'), true);
  assert.equal(m('cache', '/var/cachex'), false);
});

test('double star crosses directories and may match none', () => {
  assert.equal(m('/home/**/a.tmp', '/home/u/v/w/a.tmp'), true);
  assert.equal(m('/home/**/a.tmp', '/home/a.tmp'), true);
  assert.equal(m('/home/**', '/home/u/v'), true);
  assert.equal(m('/var/**/x', '/home/x/y'), false);
});

test('question mark and classes', () => {
  assert.equal(m('file?.log', '/x/file1.log'), true);
  assert.equal(m('file?.log', '/x/file12.log'), false);
  assert.equal(m('/x?y', '/x/y'), false);
  assert.equal(m('[abc].c', '/s/b.c'), true);
  assert.equal(m('[abc].c', '/s/d.c'), false);
  assert.equal(m('[a-c]x', '/s/bx'), true);
  assert.equal(m('[!a-c]x', '/s/bx'), false);
  assert.equal(m('[!a-c]x', '/s/dx'), true);
  assert.equal(m('[^a]x', '/s/zx'), true);
  assert.equal(m('[]]', '/s/]'), true);
  assert.equal(m('a[', '/s/a['), true);
});

test('regex metacharacters and escapes are literal', () => {
  assert.equal(m('a.b', '/s/axb'), false);
  assert.equal(m('a+(b)', '/s/a+(b)'), true);
  assert.equal(m('\\*', '/s/*'), true);
  assert.equal(m('\\*', '/s/x'), false);
});

test('non-UTF-8 path bytes are matched as bytes', () => {
  const p = Buffer.concat([Buffer.from('/d/'), Buffer.from([0xff, 0xfe]), Buffer.from('.bak')]);
  assert.equal(m('*.bak', p), true);
  assert.equal(m('??.bak', p), true);
  assert.equal(m('é', Buffer.from('/d/é')), true);
});

test('an empty set matches nothing; empty patterns are ignored', () => {
  assert.equal(new GlobSet([]).matches('/a'), false);
  assert.equal(new GlobSet(['']).matches('/a'), false);
  assert.equal(compileGlob('*').source, '*');
});
