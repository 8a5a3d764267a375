// The tape part of the addon, on any machine: a file that is not a tape is
// refused with CAIRN_E_TAPE_NOT_A_TAPE (ENOTTY on MTIOCGET), bad arguments
// with TypeError/RangeError, and errno failures map to CAIRN_E_TAPE_* codes.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../test/support/temp.js';
import { loadBinding } from './binding.js';
import { openTapeDevice, tapeErrno, tapeError, type TapeStatus } from './index.js';

const binding = loadBinding().binding;
const skip = binding === undefined ? 'native addon not built' : false;

test('a regular file is not a tape: CAIRN_E_TAPE_NOT_A_TAPE with errno ENOTTY from MTIOCGET', { skip }, async (t) => {
  const file = join(tempDir(t, 'cairn-tape-'), 'plain');
  writeFileSync(file, 'not a tape');
  await assert.rejects(openTapeDevice(file), (err: Error & { code: string; fields: Record<string, unknown> }) => {
    assert.equal(err.code, 'CAIRN_E_TAPE_NOT_A_TAPE');
    assert.equal(err.fields.errno, 'ENOTTY');
    assert.equal(err.fields.syscall, 'ioctl');
    assert.equal(err.fields.op, 'MTIOCGET');
    assert.equal(err.fields.device, file);
    return true;
  });
  await assert.rejects(openTapeDevice('/dev/null', { readOnly: true }), { code: 'CAIRN_E_TAPE_NOT_A_TAPE' });
});

test('open failures keep errno: a missing device is CAIRN_E_TAPE_NOT_FOUND (ENOENT, open)', { skip }, async (t) => {
  const missing = join(tempDir(t, 'cairn-tape-'), 'nst9');
  await assert.rejects(openTapeDevice(missing), (err: Error & { code: string; fields: Record<string, unknown> }) => {
    assert.equal(err.code, 'CAIRN_E_TAPE_NOT_FOUND');
    assert.equal(err.fields.errno, 'ENOENT');
    assert.equal(err.fields.syscall, 'open');
    return true;
  });
});

test('argument errors are thrown before anything is opened', { skip }, async () => {
  const b = binding!;
  assert.throws(() => b.tapeOpen('x' as unknown as Uint8Array, 0), TypeError);
  assert.throws(() => b.tapeOpen(Buffer.from('a\0b'), 0), TypeError);
  assert.throws(() => b.tapeOpen(Buffer.from('/dev/nst0'), 4), RangeError);
  assert.throws(() => b.tapeOpen(Buffer.from('/dev/nst0'), 1.5), TypeError);
  await assert.rejects(openTapeDevice(''), TypeError);
  const Ctor = (Object.getPrototypeOf(await b.tapeOpen(Buffer.from('/dev/null'), 1).catch((e: Error) => e)) as object).constructor;
  assert.equal(typeof Ctor, 'function'); // an Error: the TapeDevice class itself is not exported
  assert.equal('TapeDevice' in b, false);
  assert.deepEqual(Object.keys(b.tapeConstants.ops).sort(), ['MTBSF', 'MTBSR', 'MTEOM', 'MTFSF', 'MTFSR', 'MTLOAD', 'MTNOP', 'MTOFFL', 'MTREW', 'MTSETBLK', 'MTUNLOAD', 'MTWEOF', 'MTWEOFI']);
  assert.equal(b.tapeConstants.gmt.EOF >>> 0, 0x80000000);
});

const at = (over: Partial<TapeStatus>): TapeStatus => ({ fileNo: 0, blockNo: 0, blockSize: 0, density: 0, position: 0, bot: false, eof: false, eot: false, eod: false, writeProtected: false, online: true, doorOpen: false, gstat: 0, ...over });

test('errno to CAIRN_E_TAPE_*: ENOSPC, ENOMEDIUM, EROFS/EACCES, EIO judged by the status, ENOTTY, EBUSY, ENOMEM/EINVAL', () => {
  const e = (code: string, op: string, status?: TapeStatus, phase?: 'early-warning' | 'hard') => (tapeError(tapeErrno(code, 1, op === 'read' || op === 'write' ? op : 'ioctl', op, '/dev/nst0'), { device: '/dev/nst0', op, status, phase }) as Error & { code: string; fields: Record<string, unknown> });
  assert.equal(e('ENOSPC', 'write').code, 'CAIRN_E_TAPE_END_OF_MEDIUM');
  assert.equal(e('ENOSPC', 'write', undefined, 'hard').fields.phase, 'hard');
  assert.equal(e('ENOMEDIUM', 'read').code, 'CAIRN_E_TAPE_NO_MEDIUM');
  assert.equal(e('EIO', 'read', at({ online: false, doorOpen: true })).code, 'CAIRN_E_TAPE_NO_MEDIUM');
  assert.equal(e('EROFS', 'open').code, 'CAIRN_E_TAPE_WRITE_PROTECTED');
  assert.equal(e('EACCES', 'write', at({ writeProtected: true })).code, 'CAIRN_E_TAPE_WRITE_PROTECTED');
  assert.equal(e('EACCES', 'open').code, 'CAIRN_E_TAPE_ACCESS');
  assert.equal(e('EIO', 'read', at({ eod: true })).code, 'CAIRN_E_TAPE_END_OF_DATA');
  assert.equal(e('EIO', 'MTFSF', at({ eod: true })).code, 'CAIRN_E_TAPE_END_OF_DATA');
  assert.equal(e('EIO', 'MTFSR', at({ eof: true, fileNo: 2 })).code, 'CAIRN_E_TAPE_FILEMARK');
  assert.equal(e('EIO', 'MTBSR', at({ blockNo: -1 })).code, 'CAIRN_E_TAPE_FILEMARK');
  assert.equal(e('EIO', 'MTBSF', at({ bot: true })).code, 'CAIRN_E_TAPE_BEGINNING_OF_MEDIUM');
  assert.equal(e('EIO', 'MTWEOF', at({ eot: true })).code, 'CAIRN_E_TAPE_END_OF_MEDIUM');
  assert.equal(e('EIO', 'read', at({})).code, 'CAIRN_E_TAPE_IO');
  assert.equal(e('EIO', 'read').code, 'CAIRN_E_TAPE_IO');
  assert.equal(e('ENOTTY', 'MTIOCGET').code, 'CAIRN_E_TAPE_NOT_A_TAPE');
  assert.equal(e('EBUSY', 'open').code, 'CAIRN_E_TAPE_BUSY');
  assert.equal(e('ENOMEM', 'read').code, 'CAIRN_E_TAPE_BLOCK_SIZE');
  assert.equal(e('EINVAL', 'write').code, 'CAIRN_E_TAPE_BLOCK_SIZE');
  assert.equal(e('ENOSYS', 'MTLOAD').code, 'CAIRN_E_TAPE_UNSUPPORTED');
  const io = e('EIO', 'read', at({}));
  assert.deepEqual([io.fields.errno, io.fields.syscall, io.fields.op, io.fields.device], ['EIO', 'read', 'read', '/dev/nst0']);
  assert.equal((io as Error).cause instanceof Error, true);
});
