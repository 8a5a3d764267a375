// Tape drives (st, /dev/nst*): one open drive = one TapeDevice object with a
// thread of its own that runs the drive's syscalls in order (open, read,
// write, MTIOCTOP, MTIOCGET/MTIOCPOS, close), never on libuv's pool, so a
// long rewind cannot stall file I/O. Results settle promises on the JS thread
// through a napi_threadsafe_function. JS surface (native/tape.ts types it):
//   tapeOpen(path: Buffer, flags: number): Promise<TapeDevice>   flags: 1 read-only, 2 O_NONBLOCK
//   TapeDevice#read(buf, offset, length): Promise<number>
//   TapeDevice#write(buf, offset, length): Promise<number>
//   TapeDevice#op(mtOp: number, count: number): Promise<void>
//   TapeDevice#status(): Promise<{ fileNo, blockNo, dsreg, gstat, type, erreg, resid, position }>
//   TapeDevice#close(): Promise<void>
//   tapeConstants: { ops: { MTREW: n, … }, gmt: { EOF: bit, … }, blksizeMask, blksizeShift, densityMask, densityShift }
#ifndef CAIRN_TAPE_DEVICE_H
#define CAIRN_TAPE_DEVICE_H

#include <napi.h>

namespace cairn {

void InitTapeDevice(Napi::Env env, Napi::Object exports);

}  // namespace cairn

#endif
