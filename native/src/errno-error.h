// Errno errors for the JS side: an Error whose `code` is the errno name
// ('ENOENT'), `errno` the positive errno number, `syscall` the failing call
// and `path` the path bytes (a Buffer) when there is one. Shared by every
// service family (file services now, tape later).
#ifndef CAIRN_ERRNO_ERROR_H
#define CAIRN_ERRNO_ERROR_H

#include <napi.h>
#include <string>

namespace cairn {

// The symbolic name of an errno value ("ENOENT"), or "E<n>" when unknown.
std::string ErrnoName(int err);

// Builds the Error object described above. `path` may be null (no path).
Napi::Error MakeErrnoError(Napi::Env env, int err, const char* syscall, const std::string* path);

}  // namespace cairn

#endif
