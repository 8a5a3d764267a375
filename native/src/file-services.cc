// File services, one PromiseWorker per call so the event loop never blocks.
// JS signatures (native/binding.ts types them):
//   setTimes(path: Buffer, atimeSec, atimeNsec, mtimeSec, mtimeNsec, follow: boolean): Promise<void>
//   mkfifo(path: Buffer, mode): Promise<void>
//   mknod(path: Buffer, mode, rdev): Promise<void>
//   dataRegions(fd, size): Promise<Array<[offset, length]>>
//   fsyncDir(path: Buffer): Promise<void>
#include "file-services.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "async-call.h"

namespace cairn {
namespace {

class SetTimesWorker : public PromiseWorker {
 public:
  SetTimesWorker(Napi::Env env, std::string path, struct timespec atime, struct timespec mtime, bool follow)
      : PromiseWorker(env, "cairn.setTimes"), path_(std::move(path)), follow_(follow) {
    times_[0] = atime;
    times_[1] = mtime;
  }

 protected:
  void Run() override {
    if (utimensat(AT_FDCWD, path_.c_str(), times_, follow_ ? 0 : AT_SYMLINK_NOFOLLOW) != 0) Fail(errno, "utimensat");
  }
  const std::string* ErrorPath() const override { return &path_; }

 private:
  std::string path_;
  struct timespec times_[2];
  bool follow_;
};

class MknodWorker : public PromiseWorker {
 public:
  MknodWorker(Napi::Env env, std::string path, mode_t mode, dev_t rdev, bool fifo)
      : PromiseWorker(env, fifo ? "cairn.mkfifo" : "cairn.mknod"), path_(std::move(path)), mode_(mode), rdev_(rdev), fifo_(fifo) {}

 protected:
  void Run() override {
    if (fifo_) {
      if (mkfifo(path_.c_str(), mode_) != 0) Fail(errno, "mkfifo");
    } else if (mknod(path_.c_str(), mode_, rdev_) != 0) {
      Fail(errno, "mknod");
    }
  }
  const std::string* ErrorPath() const override { return &path_; }

 private:
  std::string path_;
  mode_t mode_;
  dev_t rdev_;
  bool fifo_;
};

class DataRegionsWorker : public PromiseWorker {
 public:
  DataRegionsWorker(Napi::Env env, int fd, off_t size) : PromiseWorker(env, "cairn.dataRegions"), fd_(fd), size_(size) {}

 protected:
  void Run() override {
#if defined(SEEK_DATA) && defined(SEEK_HOLE)
    off_t saved = lseek(fd_, 0, SEEK_CUR);
    if (saved < 0) {
      Fail(errno, "lseek");
      return;
    }
    Scan();
    lseek(fd_, saved, SEEK_SET);  // leave the fd's position as we found it
#else
    WholeFile();
#endif
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, regions_.size());
    for (size_t i = 0; i < regions_.size(); i++) {
      Napi::Array pair = Napi::Array::New(env, 2);
      pair.Set(uint32_t{0}, Napi::Number::New(env, static_cast<double>(regions_[i].first)));
      pair.Set(uint32_t{1}, Napi::Number::New(env, static_cast<double>(regions_[i].second)));
      out.Set(static_cast<uint32_t>(i), pair);
    }
    return out;
  }

 private:
  void WholeFile() {
    regions_.clear();
    if (size_ > 0) regions_.emplace_back(0, size_);
  }

#if defined(SEEK_DATA) && defined(SEEK_HOLE)
  // Walks data/hole boundaries up to size_. ENXIO from SEEK_DATA means no
  // data at or after the offset (the rest is a hole, or the file shrank);
  // EINVAL/ENOTSUP mean the filesystem or kernel cannot tell: one region.
  void Scan() {
    off_t offset = 0;
    while (offset < size_) {
      off_t data = lseek(fd_, offset, SEEK_DATA);
      if (data < 0) {
        int err = errno;
        if (err == ENXIO) return;
        if (err == EINVAL || err == ENOTSUP || err == EOPNOTSUPP) return WholeFile();
        Fail(err, "lseek");
        return;
      }
      if (data >= size_) return;
      off_t hole = lseek(fd_, data, SEEK_HOLE);
      if (hole < 0) {
        int err = errno;
        if (err != ENXIO) {
          Fail(err, "lseek");
          return;
        }
        hole = size_;  // the file shrank under us: data runs to the end we know
      }
      if (hole > size_ || hole <= data) hole = size_;
      regions_.emplace_back(data, hole - data);
      offset = hole;
    }
  }
#endif

  int fd_;
  off_t size_;
  std::vector<std::pair<off_t, off_t>> regions_;
};

class FsyncDirWorker : public PromiseWorker {
 public:
  FsyncDirWorker(Napi::Env env, std::string path) : PromiseWorker(env, "cairn.fsyncDir"), path_(std::move(path)) {}

 protected:
  // EINVAL from fsync means the filesystem cannot sync directories (POSIX:
  // "does not support synchronization"); nothing more can be done, so it
  // counts as success. Every other failure is reported.
  void Run() override {
    int fd = open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      Fail(errno, "open");
      return;
    }
    if (fsync(fd) != 0 && errno != EINVAL) {
      Fail(errno, "fsync");
      close(fd);
      return;
    }
    if (close(fd) != 0 && errno != EINTR) Fail(errno, "close");
  }
  const std::string* ErrorPath() const override { return &path_; }

 private:
  std::string path_;
};

// Splits seconds + nanoseconds arguments into a timespec; false (with a
// pending TypeError) when out of range.
bool ReadTimespec(const Napi::CallbackInfo& info, size_t index, const char* what, struct timespec* out) {
  int64_t sec = 0;
  int64_t nsec = 0;
  if (!ReadIntArg(info, index, what, &sec) || !ReadIntArg(info, index + 1, what, &nsec)) return false;
  if (nsec < 0 || nsec > 999999999) {
    Napi::RangeError::New(info.Env(), std::string(what) + " nanoseconds must be in [0, 999999999]").ThrowAsJavaScriptException();
    return false;
  }
  out->tv_sec = static_cast<time_t>(sec);
  out->tv_nsec = static_cast<long>(nsec);
  return true;
}

Napi::Value SetTimes(const Napi::CallbackInfo& info) {
  std::string path;
  struct timespec atime {};
  struct timespec mtime {};
  if (!ReadPathArg(info, 0, &path) || !ReadTimespec(info, 1, "atime", &atime) || !ReadTimespec(info, 3, "mtime", &mtime)) {
    return info.Env().Undefined();
  }
  bool follow = info.Length() > 5 && info[5].ToBoolean().Value();
  return (new SetTimesWorker(info.Env(), std::move(path), atime, mtime, follow))->Start();
}

Napi::Value Mkfifo(const Napi::CallbackInfo& info) {
  std::string path;
  int64_t mode = 0;
  if (!ReadPathArg(info, 0, &path) || !ReadIntArg(info, 1, "mode", &mode)) return info.Env().Undefined();
  return (new MknodWorker(info.Env(), std::move(path), static_cast<mode_t>(mode), 0, true))->Start();
}

Napi::Value Mknod(const Napi::CallbackInfo& info) {
  std::string path;
  int64_t mode = 0;
  int64_t rdev = 0;
  if (!ReadPathArg(info, 0, &path) || !ReadIntArg(info, 1, "mode", &mode) || !ReadIntArg(info, 2, "rdev", &rdev)) {
    return info.Env().Undefined();
  }
  return (new MknodWorker(info.Env(), std::move(path), static_cast<mode_t>(mode), static_cast<dev_t>(rdev), false))->Start();
}

Napi::Value DataRegions(const Napi::CallbackInfo& info) {
  int64_t fd = 0;
  int64_t size = 0;
  if (!ReadIntArg(info, 0, "fd", &fd) || !ReadIntArg(info, 1, "size", &size)) return info.Env().Undefined();
  if (fd < 0 || fd > INT32_MAX || size < 0) {
    Napi::RangeError::New(info.Env(), "fd and size must be non-negative").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  return (new DataRegionsWorker(info.Env(), static_cast<int>(fd), static_cast<off_t>(size)))->Start();
}

Napi::Value FsyncDir(const Napi::CallbackInfo& info) {
  std::string path;
  if (!ReadPathArg(info, 0, &path)) return info.Env().Undefined();
  return (new FsyncDirWorker(info.Env(), std::move(path)))->Start();
}

}  // namespace

void InitFileServices(Napi::Env env, Napi::Object exports) {
  exports.Set("setTimes", Napi::Function::New(env, SetTimes, "setTimes"));
  exports.Set("mkfifo", Napi::Function::New(env, Mkfifo, "mkfifo"));
  exports.Set("mknod", Napi::Function::New(env, Mknod, "mknod"));
  exports.Set("dataRegions", Napi::Function::New(env, DataRegions, "dataRegions"));
  exports.Set("fsyncDir", Napi::Function::New(env, FsyncDir, "fsyncDir"));
  Napi::Object features = Napi::Object::New(env);
#if defined(SEEK_DATA) && defined(SEEK_HOLE)
  features.Set("seekData", Napi::Boolean::New(env, true));
#else
  features.Set("seekData", Napi::Boolean::New(env, false));
#endif
  exports.Set("features", features);
}

}  // namespace cairn
