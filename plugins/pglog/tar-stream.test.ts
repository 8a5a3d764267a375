import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import { TarFormatError, TarStream, type TarEvent } from './tar-stream.js';
import { makeTar, ustarHeader } from './tar-fixture.js';

/** Members and their bytes, read in chunks of `size`. */
function read(tar: Buffer, size: number): Array<{ name: string; type: string; mode: number; uid: number; data: string }> {
  const s = new TarStream();
  const out: Array<{ name: string; type: string; mode: number; uid: number; data: string }> = [];
  let cur: (typeof out)[number] | null = null;
  const on = (ev: TarEvent) => {
    if (ev.kind === 'entry') cur = { name: ev.header.name, type: ev.header.type, mode: ev.header.mode, uid: ev.header.uid, data: '' };
    else if (ev.kind === 'data') cur!.data += Buffer.from(ev.data).toString('latin1');
    else if (ev.kind === 'entry-end') out.push(cur!);
  };
  for (let i = 0; i < tar.length; i += size) for (const ev of s.push(tar.subarray(i, i + size))) on(ev);
  assert.equal(s.done, true, 'end-of-archive seen');
  return out;
}

test('tar reader: members and bytes are the same whatever the chunk size', () => {
  const big = Buffer.alloc(3000, 7).toString('latin1');
  const tar = makeTar([
    { name: 'backup_label', data: 'START WAL LOCATION: 0/800028 (file 000000010000000000000008)\n', uid: 65534 },
    { name: 'base/', type: 'dir', mode: 0o700 },
    { name: 'base/1/big', data: big },
    { name: 'empty', data: '' },
    { name: 'size256', data: 'hello', base256Size: true },
  ]);
  const want = read(tar, tar.length);
  assert.deepEqual(want.map((m) => [m.name, m.type, m.data.length]), [['backup_label', 'file', 61], ['base/', 'dir', 0], ['base/1/big', 'file', 3000], ['empty', 'file', 0], ['size256', 'file', 5]]);
  assert.equal(want[0].uid, 65534);
  assert.equal(want[4].data, 'hello');
  for (const size of [1, 7, 511, 512, 513, 4096]) assert.deepEqual(read(tar, size), want, `chunks of ${size}`);
});

test('tar reader: GNU tar archives with long names (pax and gnu formats) read back', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-tar-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(30)}.dat`;
  mkdirSync(join(dir, 'src', long, '..'), { recursive: true });
  writeFileSync(join(dir, 'src', long), 'long name');
  writeFileSync(join(dir, 'src', 'short'), 'short');
  for (const format of ['pax', 'gnu', 'ustar']) {
    const tar = execFileSync('tar', ['-c', `--format=${format}`, '-C', join(dir, 'src'), 'short', long]);
    const got = read(tar, 100);
    assert.deepEqual(got.map((m) => [m.name, m.data]), [['short', 'short'], [long, 'long name']], format);
  }
});

test('tar reader: a damaged header is refused', () => {
  const tar = makeTar([{ name: 'a', data: 'x' }]);
  tar[10] ^= 1;
  assert.throws(() => new TarStream().push(tar), TarFormatError);
  const header = ustarHeader({ name: 'b' }, 0);
  const s = new TarStream();
  s.push(header);
  assert.equal(s.atBoundary, true);
  assert.equal(s.done, false, 'no end-of-archive blocks yet');
});
