// Batched file services: scanDirectory (readdir + fstatat of every entry) and
// readFiles (open/read/fstat/close of many small files), each ONE
// PromiseWorker on the libuv pool, so a directory or a group of files costs
// one round trip instead of several per file; writeFiles (create a temp name,
// write, fchown, fchmod, futimens, close, rename into place, per file) the
// same for restores.
//
// Raw JS surface (native/batch-services.ts shapes it into objects):
//   scanDirectory(dir: Buffer, xattrFilter?: Buffer /* NUL-terminated names or prefixes; empty = all */)
//     : Promise<Columns & { names: Buffer[],
//                           // only when xattrFilter is given (xattr-services.h ReadXattrs per entry):
//                           xattrs?: Array<[index, names: Buffer[], values: Buffer[]]>,  // entries with attributes
//                           xattrFailures?: Array<[index, errnoName, syscall]> }>
//   readFiles(paths: Buffer /* each path NUL-terminated */, count, sizes: Float64Array,
//             buffers: Buffer[] /* one per file, exactly size bytes, written in place */)
//     : Promise<Columns & { lengths: Float64Array /* bytes read, -1 failed */,
//                           extra: Uint8Array /* byte size+1 of a file that grew */ }>
//   writeFiles(paths: Buffer /* temp NUL final NUL, per file */, count,
//              nums: Float64Array /* 4 per file: mode uid gid chown(0/1) */,
//              times: BigInt64Array /* 2 per file: atimeNs mtimeNs */,
//              data: Uint8Array[] /* one per file, read in place */)
//     : Promise<Array<[index, errnoName, syscall]>>  // the files that failed
// Columns = { nums: Float64Array  (7 per entry: mode uid gid size nlink rdev blocks),
//             times: BigInt64Array (3 per entry: atimeNs mtimeNs ctimeNs),
//             ids: BigUint64Array  (2 per entry: dev ino),
//             failures: Array<[index, errnoName, syscall]> }  // entries without a stat
#include "batch-services.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "async-call.h"
#include "stat-columns.h"
#include "xattr-services.h"

namespace cairn {
namespace {

bool NameLess(const std::string& a, const std::string& b) {
  size_t n = std::min(a.size(), b.size());
  int c = std::memcmp(a.data(), b.data(), n);
  return c != 0 ? c < 0 : a.size() < b.size();
}

class ScanDirectoryWorker : public PromiseWorker {
 public:
  ScanDirectoryWorker(Napi::Env env, std::string dir, bool xattrs, XattrFilter filter)
      : PromiseWorker(env, "cairn.scanDirectory"), dir_(std::move(dir)), xattrs_(xattrs), filter_(std::move(filter)) {}

 protected:
  void Run() override {
    int fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Fail(errno, "opendir");
    DIR* d = fdopendir(fd);
    if (d == nullptr) {
      int err = errno;
      close(fd);
      return Fail(err, "opendir");
    }
    for (;;) {
      errno = 0;
      struct dirent* e = readdir(d);
      if (e == nullptr) {
        if (errno != 0) {
          Fail(errno, "readdir");
          closedir(d);
          return;
        }
        break;
      }
      const char* n = e->d_name;
      if (n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'))) continue;
      names_.emplace_back(n);
    }
    std::sort(names_.begin(), names_.end(), NameLess);
    columns_.Resize(names_.size());
    struct stat st;
    for (size_t i = 0; i < names_.size(); i++) {
      if (fstatat(dirfd(d), names_[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        columns_.Put(i, st);
        if (xattrs_) ReadEntryXattrs(i);
      } else {
        columns_.Fail(i, errno, "lstat");
      }
    }
    closedir(d);
  }

  // There is no llistxattrat: the entry's path is dir + "/" + name.
  void ReadEntryXattrs(size_t i) {
    std::string path = dir_;
    if (path.back() != '/') path += '/';
    path += names_[i];
    const char* syscall = "";
    int err = ReadXattrs(path, filter_, &scratch_, &pairs_, &syscall);
    if (err != 0) {
      xattr_failures_.push_back({i, err, syscall});
    } else if (!pairs_.empty()) {
      found_.emplace_back(i, std::move(pairs_));
      pairs_.clear();
    }
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object out = Napi::Object::New(env);
    Napi::Array names = Napi::Array::New(env, names_.size());
    for (size_t i = 0; i < names_.size(); i++) {
      names.Set(static_cast<uint32_t>(i), Napi::Buffer<char>::Copy(env, names_[i].data(), names_[i].size()));
    }
    out.Set("names", names);
    columns_.Export(env, out);
    if (xattrs_) ExportXattrs(env, out);
    return out;
  }

  const std::string* ErrorPath() const override { return &dir_; }

 private:
  void ExportXattrs(Napi::Env env, Napi::Object out) const {
    Napi::Array found = Napi::Array::New(env, found_.size());
    for (size_t k = 0; k < found_.size(); k++) {
      const std::vector<XattrPair>& pairs = found_[k].second;
      Napi::Array names = Napi::Array::New(env, pairs.size());
      Napi::Array values = Napi::Array::New(env, pairs.size());
      for (size_t j = 0; j < pairs.size(); j++) {
        names.Set(static_cast<uint32_t>(j), Napi::Buffer<char>::Copy(env, pairs[j].first.data(), pairs[j].first.size()));
        values.Set(static_cast<uint32_t>(j), Napi::Buffer<char>::Copy(env, pairs[j].second.data(), pairs[j].second.size()));
      }
      Napi::Array row = Napi::Array::New(env, 3);
      row.Set(0u, Napi::Number::New(env, static_cast<double>(found_[k].first)));
      row.Set(1u, names);
      row.Set(2u, values);
      found.Set(static_cast<uint32_t>(k), row);
    }
    Napi::Array failures = Napi::Array::New(env, xattr_failures_.size());
    for (size_t k = 0; k < xattr_failures_.size(); k++) {
      Napi::Array f = Napi::Array::New(env, 3);
      f.Set(0u, Napi::Number::New(env, static_cast<double>(xattr_failures_[k].index)));
      f.Set(1u, Napi::String::New(env, ErrnoName(xattr_failures_[k].err)));
      f.Set(2u, Napi::String::New(env, xattr_failures_[k].syscall));
      failures.Set(static_cast<uint32_t>(k), f);
    }
    out.Set("xattrs", found);
    out.Set("xattrFailures", failures);
  }

  std::string dir_;
  std::vector<std::string> names_;
  StatColumns columns_;
  bool xattrs_;
  XattrFilter filter_;
  XattrScratch scratch_;
  std::vector<XattrPair> pairs_;
  std::vector<std::pair<size_t, std::vector<XattrPair>>> found_;
  std::vector<Failure> xattr_failures_;
};

// Reads each file to EOF but at most `size + 1` bytes: `size` into the
// caller's buffer of exactly that size (allocated in JS, so it is an
// ordinary transferable ArrayBuffer, kept alive by a reference while the
// pool thread writes into it, as node:fs does), then a one-byte probe that
// sees EOF (the usual case) or proves the file grew (the byte is returned).
class ReadFilesWorker : public PromiseWorker {
 public:
  ReadFilesWorker(Napi::Env env, std::vector<std::string> paths, std::vector<uint8_t*> targets, std::vector<size_t> sizes, Napi::Object buffers)
      : PromiseWorker(env, "cairn.readFiles"),
        paths_(std::move(paths)),
        targets_(std::move(targets)),
        sizes_(std::move(sizes)),
        buffers_(Napi::Persistent(buffers)) {}

 protected:
  void Run() override {
    lengths_.assign(paths_.size(), -1);
    extra_.assign(paths_.size(), 0);
    columns_.Resize(paths_.size());
    for (size_t i = 0; i < paths_.size(); i++) ReadOne(i);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object out = Napi::Object::New(env);
    Napi::Float64Array lengths = Napi::Float64Array::New(env, lengths_.size());
    if (!lengths_.empty()) std::memcpy(lengths.Data(), lengths_.data(), lengths_.size() * sizeof(double));
    Napi::Uint8Array extra = Napi::Uint8Array::New(env, extra_.size());
    if (!extra_.empty()) std::memcpy(extra.Data(), extra_.data(), extra_.size());
    out.Set("lengths", lengths);
    out.Set("extra", extra);
    columns_.Export(env, out);
    return out;
  }

 private:
  void ReadOne(size_t i) {
    int fd = open(paths_[i].c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return columns_.Fail(i, errno, "open");
    uint8_t* target = targets_[i];
    size_t want = sizes_[i];
    size_t got = 0;
    int err = 0;
    const char* syscall = "read";
    while (err == 0 && got < want) {
      ssize_t r = read(fd, target + got, want - got);
      if (r < 0) {
        if (errno != EINTR) err = errno;
      } else if (r == 0) {
        break;
      } else {
        got += static_cast<size_t>(r);
      }
    }
    while (err == 0 && got == want) {  // the probe: EOF or one byte more
      ssize_t r = read(fd, &extra_[i], 1);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) err = errno;
      if (r == 1) got++;
      break;
    }
    struct stat st;
    if (err == 0 && fstat(fd, &st) != 0) {
      err = errno;
      syscall = "fstat";
    }
    if (close(fd) != 0 && errno != EINTR && err == 0) {
      err = errno;
      syscall = "close";
    }
    if (err != 0) return columns_.Fail(i, err, syscall);
    lengths_[i] = static_cast<double>(got);
    columns_.Put(i, st);
  }

  std::vector<std::string> paths_;
  std::vector<uint8_t*> targets_;
  std::vector<size_t> sizes_;
  Napi::ObjectReference buffers_;  // keeps every target alive until the worker is gone
  std::vector<double> lengths_;    // bytes read, -1 for a failed file
  std::vector<uint8_t> extra_;     // the probe byte of a file that grew
  StatColumns columns_;
};

// Writes each file under a new temporary name in its final directory and
// renames it into place: open(O_CREAT|O_EXCL|O_NOFOLLOW, 0600), write all,
// fchown (when asked), fchmod (after chown, which clears setuid/setgid),
// futimens, close, rename. A failing file is unlinked (when this call
// created it) and reported; the next file goes on. The data buffers are
// allocated in JS and kept alive by a reference while the pool thread reads them.
struct WriteSpec {
  std::string temp;
  std::string final_path;
  const uint8_t* data;
  size_t size;
  mode_t mode;
  uid_t uid;
  gid_t gid;
  bool chown;
  int64_t atime_ns;
  int64_t mtime_ns;
};

struct timespec NsToTimespec(int64_t ns) {
  int64_t sec = ns / 1000000000LL;
  int64_t rem = ns % 1000000000LL;
  if (rem < 0) {
    sec -= 1;
    rem += 1000000000LL;
  }
  struct timespec ts;
  ts.tv_sec = static_cast<time_t>(sec);
  ts.tv_nsec = static_cast<long>(rem);
  return ts;
}

class WriteFilesWorker : public PromiseWorker {
 public:
  WriteFilesWorker(Napi::Env env, std::vector<WriteSpec> files, Napi::Object buffers)
      : PromiseWorker(env, "cairn.writeFiles"), files_(std::move(files)), buffers_(Napi::Persistent(buffers)) {}

 protected:
  void Run() override {
    for (size_t i = 0; i < files_.size(); i++) WriteOne(i);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, failures_.size());
    for (size_t i = 0; i < failures_.size(); i++) {
      Napi::Array f = Napi::Array::New(env, 3);
      f.Set(0u, Napi::Number::New(env, static_cast<double>(failures_[i].index)));
      f.Set(1u, Napi::String::New(env, ErrnoName(failures_[i].err)));
      f.Set(2u, Napi::String::New(env, failures_[i].syscall));
      out.Set(static_cast<uint32_t>(i), f);
    }
    return out;
  }

 private:
  void WriteOne(size_t i) {
    const WriteSpec& w = files_[i];
    int fd = open(w.temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
      failures_.push_back({i, errno, "open"});
      return;
    }
    int err = 0;
    const char* syscall = "write";
    size_t done = 0;
    while (err == 0 && done < w.size) {
      ssize_t r = write(fd, w.data + done, w.size - done);
      if (r < 0) {
        if (errno != EINTR) err = errno;
      } else {
        done += static_cast<size_t>(r);
      }
    }
    if (err == 0 && w.chown && fchown(fd, w.uid, w.gid) != 0) {
      err = errno;
      syscall = "fchown";
    }
    if (err == 0 && fchmod(fd, w.mode & 07777) != 0) {
      err = errno;
      syscall = "fchmod";
    }
    if (err == 0) {
      struct timespec ts[2] = {NsToTimespec(w.atime_ns), NsToTimespec(w.mtime_ns)};
      if (futimens(fd, ts) != 0) {
        err = errno;
        syscall = "futimens";
      }
    }
    if (close(fd) != 0 && errno != EINTR && err == 0) {
      err = errno;
      syscall = "close";
    }
    if (err == 0 && rename(w.temp.c_str(), w.final_path.c_str()) != 0) {
      err = errno;
      syscall = "rename";
    }
    if (err != 0) {
      unlink(w.temp.c_str());
      failures_.push_back({i, err, syscall});
    }
  }

  std::vector<WriteSpec> files_;
  Napi::ObjectReference buffers_;  // keeps every data buffer alive until the worker is gone
  std::vector<Failure> failures_;
};

Napi::Value ScanDirectory(const Napi::CallbackInfo& info) {
  std::string dir;
  if (!ReadPathArg(info, 0, &dir)) return info.Env().Undefined();
  bool xattrs = info.Length() > 1 && !info[1].IsUndefined();
  XattrFilter filter;
  if (xattrs) {
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      Napi::TypeError::New(info.Env(), "scanDirectory: the xattr filter must be a Buffer of NUL-terminated names").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    Napi::Uint8Array f = info[1].As<Napi::Uint8Array>();
    filter.Parse(reinterpret_cast<const char*>(f.Data()), f.ByteLength());
  }
  return (new ScanDirectoryWorker(info.Env(), std::move(dir), xattrs, std::move(filter)))->Start();
}

Napi::Value ReadFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t count = 0;
  if (info.Length() < 4 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      !ReadIntArg(info, 1, "count", &count) || !info[2].IsTypedArray() ||
      info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array || !info[3].IsArray()) {
    if (!env.IsExceptionPending()) {
      Napi::TypeError::New(env, "readFiles(paths: Buffer, count: number, sizes: Float64Array, buffers: Buffer[])").ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }
  Napi::Uint8Array packed = info[0].As<Napi::Uint8Array>();
  Napi::Float64Array sizeArg = info[2].As<Napi::Float64Array>();
  Napi::Array buffers = info[3].As<Napi::Array>();
  if (count < 0 || static_cast<size_t>(count) != sizeArg.ElementLength() || static_cast<size_t>(count) != buffers.Length()) {
    Napi::RangeError::New(env, "readFiles: count must equal the number of sizes and of buffers").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::vector<std::string> paths;
  std::vector<uint8_t*> targets;
  std::vector<size_t> sizes;
  paths.reserve(static_cast<size_t>(count));
  targets.reserve(static_cast<size_t>(count));
  sizes.reserve(static_cast<size_t>(count));
  const char* p = reinterpret_cast<const char*>(packed.Data());
  const char* end = p + packed.ByteLength();
  for (uint32_t i = 0; i < static_cast<uint32_t>(count); i++) {
    const char* nul = static_cast<const char*>(std::memchr(p, 0, static_cast<size_t>(end - p)));
    double size = sizeArg[i];
    // One napi_get_element + one napi_get_typedarray_info per file (the
    // node-addon-api wrappers would ask for the typed array info three times).
    napi_value target = nullptr;
    napi_typedarray_type type = napi_int8_array;
    size_t length = 0;
    void* data = nullptr;
    bool typed = false;
    if (napi_get_element(env, buffers, i, &target) != napi_ok || napi_is_typedarray(env, target, &typed) != napi_ok || !typed ||
        napi_get_typedarray_info(env, target, &type, &length, &data, nullptr, nullptr) != napi_ok) {
      type = napi_int8_array;
    }
    if (nul == nullptr || nul == p || !(size >= 0 && size <= 9007199254740991.0) || size != static_cast<double>(static_cast<int64_t>(size)) ||
        type != napi_uint8_array || length != static_cast<size_t>(size)) {
      if (!env.IsExceptionPending()) {
        Napi::TypeError::New(env, "readFiles: each path must be non-empty and NUL-terminated, each size a non-negative integer, each buffer exactly size bytes").ThrowAsJavaScriptException();
      }
      return env.Undefined();
    }
    paths.emplace_back(p, static_cast<size_t>(nul - p));
    sizes.push_back(static_cast<size_t>(size));
    targets.push_back(static_cast<uint8_t*>(data));
    p = nul + 1;
  }
  if (p != end) {
    Napi::TypeError::New(env, "readFiles: more path bytes than count paths").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return (new ReadFilesWorker(env, std::move(paths), std::move(targets), std::move(sizes), buffers))->Start();
}

bool TypedArrayOf(napi_env env, napi_value v, napi_typedarray_type want, size_t* length, void** data) {
  bool typed = false;
  napi_typedarray_type type = napi_int8_array;
  if (napi_is_typedarray(env, v, &typed) != napi_ok || !typed) return false;
  if (napi_get_typedarray_info(env, v, &type, length, data, nullptr, nullptr) != napi_ok) return false;
  return type == want;
}

Napi::Value WriteFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t count = 0;
  size_t pathBytes = 0, numLen = 0, timeLen = 0;
  void* pathData = nullptr;
  void* numData = nullptr;
  void* timeData = nullptr;
  if (info.Length() < 5 || !TypedArrayOf(env, info[0], napi_uint8_array, &pathBytes, &pathData) || !ReadIntArg(info, 1, "count", &count) ||
      !TypedArrayOf(env, info[2], napi_float64_array, &numLen, &numData) || !TypedArrayOf(env, info[3], napi_bigint64_array, &timeLen, &timeData) ||
      !info[4].IsArray()) {
    if (!env.IsExceptionPending()) {
      Napi::TypeError::New(env, "writeFiles(paths: Buffer, count: number, nums: Float64Array, times: BigInt64Array, data: Uint8Array[])").ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }
  Napi::Array buffers = info[4].As<Napi::Array>();
  size_t n = static_cast<size_t>(count);
  if (count < 0 || numLen != 4 * n || timeLen != 2 * n || buffers.Length() != n) {
    Napi::RangeError::New(env, "writeFiles: count must match 4 nums, 2 times and one data buffer per file").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const double* nums = static_cast<const double*>(numData);
  const int64_t* times = static_cast<const int64_t*>(timeData);
  std::vector<WriteSpec> files;
  files.reserve(n);
  const char* p = static_cast<const char*>(pathData);
  const char* end = p + pathBytes;
  auto nextPath = [&](std::string* out) {
    const char* nul = p < end ? static_cast<const char*>(std::memchr(p, 0, static_cast<size_t>(end - p))) : nullptr;
    if (nul == nullptr || nul == p) return false;
    out->assign(p, static_cast<size_t>(nul - p));
    p = nul + 1;
    return true;
  };
  for (uint32_t i = 0; i < n; i++) {
    WriteSpec w;
    napi_value buf = nullptr;
    size_t length = 0;
    void* data = nullptr;
    if (!nextPath(&w.temp) || !nextPath(&w.final_path) || napi_get_element(env, buffers, i, &buf) != napi_ok ||
        !TypedArrayOf(env, buf, napi_uint8_array, &length, &data)) {
      if (!env.IsExceptionPending()) {
        Napi::TypeError::New(env, "writeFiles: each file needs a non-empty NUL-terminated temp and final path and a Uint8Array of data").ThrowAsJavaScriptException();
      }
      return env.Undefined();
    }
    w.data = static_cast<const uint8_t*>(data);
    w.size = length;
    w.mode = static_cast<mode_t>(nums[i * 4]);
    w.uid = static_cast<uid_t>(nums[i * 4 + 1]);
    w.gid = static_cast<gid_t>(nums[i * 4 + 2]);
    w.chown = nums[i * 4 + 3] != 0;
    w.atime_ns = times[i * 2];
    w.mtime_ns = times[i * 2 + 1];
    files.push_back(std::move(w));
  }
  if (p != end) {
    Napi::TypeError::New(env, "writeFiles: more path bytes than 2 * count paths").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return (new WriteFilesWorker(env, std::move(files), buffers))->Start();
}

}  // namespace

void InitBatchServices(Napi::Env env, Napi::Object exports) {
  exports.Set("scanDirectory", Napi::Function::New(env, ScanDirectory, "scanDirectory"));
  exports.Set("readFiles", Napi::Function::New(env, ReadFiles, "readFiles"));
  exports.Set("writeFiles", Napi::Function::New(env, WriteFiles, "writeFiles"));
}

}  // namespace cairn
