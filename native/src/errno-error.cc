// Errno name table and the JS Error shape every native call rejects with.
#include "errno-error.h"

#include <cerrno>
#include <cstring>

namespace cairn {

std::string ErrnoName(int err) {
  switch (err) {
#define CAIRN_ERRNO(name) \
  case name:              \
    return #name;
#ifdef EPERM
    CAIRN_ERRNO(EPERM)
#endif
#ifdef ENOENT
    CAIRN_ERRNO(ENOENT)
#endif
#ifdef ESRCH
    CAIRN_ERRNO(ESRCH)
#endif
#ifdef EINTR
    CAIRN_ERRNO(EINTR)
#endif
#ifdef EIO
    CAIRN_ERRNO(EIO)
#endif
#ifdef ENXIO
    CAIRN_ERRNO(ENXIO)
#endif
#ifdef E2BIG
    CAIRN_ERRNO(E2BIG)
#endif
#ifdef EBADF
    CAIRN_ERRNO(EBADF)
#endif
#ifdef EAGAIN
    CAIRN_ERRNO(EAGAIN)
#endif
#ifdef ENOMEM
    CAIRN_ERRNO(ENOMEM)
#endif
#ifdef EACCES
    CAIRN_ERRNO(EACCES)
#endif
#ifdef EFAULT
    CAIRN_ERRNO(EFAULT)
#endif
#ifdef EBUSY
    CAIRN_ERRNO(EBUSY)
#endif
#ifdef EEXIST
    CAIRN_ERRNO(EEXIST)
#endif
#ifdef EXDEV
    CAIRN_ERRNO(EXDEV)
#endif
#ifdef ENODEV
    CAIRN_ERRNO(ENODEV)
#endif
#ifdef ENOTDIR
    CAIRN_ERRNO(ENOTDIR)
#endif
#ifdef EISDIR
    CAIRN_ERRNO(EISDIR)
#endif
#ifdef EINVAL
    CAIRN_ERRNO(EINVAL)
#endif
#ifdef ENFILE
    CAIRN_ERRNO(ENFILE)
#endif
#ifdef EMFILE
    CAIRN_ERRNO(EMFILE)
#endif
#ifdef ENOTTY
    CAIRN_ERRNO(ENOTTY)
#endif
#ifdef ETXTBSY
    CAIRN_ERRNO(ETXTBSY)
#endif
#ifdef EFBIG
    CAIRN_ERRNO(EFBIG)
#endif
#ifdef ENOSPC
    CAIRN_ERRNO(ENOSPC)
#endif
#ifdef ESPIPE
    CAIRN_ERRNO(ESPIPE)
#endif
#ifdef EROFS
    CAIRN_ERRNO(EROFS)
#endif
#ifdef EMLINK
    CAIRN_ERRNO(EMLINK)
#endif
#ifdef EPIPE
    CAIRN_ERRNO(EPIPE)
#endif
#ifdef ERANGE
    CAIRN_ERRNO(ERANGE)
#endif
#ifdef ENAMETOOLONG
    CAIRN_ERRNO(ENAMETOOLONG)
#endif
#ifdef ENOSYS
    CAIRN_ERRNO(ENOSYS)
#endif
#ifdef ENOTEMPTY
    CAIRN_ERRNO(ENOTEMPTY)
#endif
#ifdef ELOOP
    CAIRN_ERRNO(ELOOP)
#endif
#ifdef EOVERFLOW
    CAIRN_ERRNO(EOVERFLOW)
#endif
#ifdef ENODATA
    CAIRN_ERRNO(ENODATA)
#endif
#ifdef ENOMEDIUM
    CAIRN_ERRNO(ENOMEDIUM)
#endif
#ifdef EMEDIUMTYPE
    CAIRN_ERRNO(EMEDIUMTYPE)
#endif
#ifdef EDQUOT
    CAIRN_ERRNO(EDQUOT)
#endif
#ifdef ESTALE
    CAIRN_ERRNO(ESTALE)
#endif
#ifdef ETIMEDOUT
    CAIRN_ERRNO(ETIMEDOUT)
#endif
#ifdef ECANCELED
    CAIRN_ERRNO(ECANCELED)
#endif
#ifdef EOPNOTSUPP
    CAIRN_ERRNO(EOPNOTSUPP)
#endif
#if defined(ENOTSUP) && (!defined(EOPNOTSUPP) || ENOTSUP != EOPNOTSUPP)
    CAIRN_ERRNO(ENOTSUP)
#endif
#if defined(EWOULDBLOCK) && EWOULDBLOCK != EAGAIN
    CAIRN_ERRNO(EWOULDBLOCK)
#endif
#undef CAIRN_ERRNO
    default:
      return "E" + std::to_string(err);
  }
}

Napi::Error MakeErrnoError(Napi::Env env, int err, const char* syscall, const std::string* path) {
  std::string name = ErrnoName(err);
  std::string message = name + ": " + std::strerror(err) + ", " + syscall;
  if (path != nullptr) message += " '" + *path + "'";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, name));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  if (path != nullptr) error.Set("path", Napi::Buffer<char>::Copy(env, path->data(), path->size()));
  return error;
}

}  // namespace cairn
