// Platform file services Node lacks: nanosecond utimensat, mkfifo, mknod,
// data regions (SEEK_DATA/SEEK_HOLE) and directory fsync.
#ifndef CAIRN_FILE_SERVICES_H
#define CAIRN_FILE_SERVICES_H

#include <napi.h>

namespace cairn {

// Adds setTimes, mkfifo, mknod, dataRegions, fsyncDir and `features` to exports.
void InitFileServices(Napi::Env env, Napi::Object exports);

}  // namespace cairn

#endif
