// Extended attributes, one PromiseWorker per call (the event loop never
// blocks). Every call works on the path itself, never through a symlink
// (llistxattr/lgetxattr/lsetxattr/lremovexattr). Names and values are bytes.
// JS signatures (native/binding.ts types them, native/xattr-services.ts shapes them):
//   llistxattr(path: Buffer): Promise<Buffer>                 // names, each NUL-terminated, as the kernel lists them
//   lgetxattr(path: Buffer, name: Buffer): Promise<Buffer>
//   lsetxattr(path: Buffer, name: Buffer, value: Uint8Array, flags: 0 | XATTR_CREATE | XATTR_REPLACE): Promise<void>
//   lremovexattr(path: Buffer, name: Buffer): Promise<void>
//   readXattrs(path: Buffer, filter: Buffer /* NUL-terminated names or prefixes; empty = all */)
//     : Promise<[names: Buffer[], values: Buffer[]]>
// Errors keep errno: a filesystem without xattr support rejects with
// EOPNOTSUPP (Linux's ENOTSUP is the same number), a missing attribute with
// ENODATA. On platforms other than Linux every call rejects with ENOTSUP and
// features.xattrs is false.
#include "xattr-services.h"

#include <sys/types.h>
#if defined(__linux__)
#include <sys/xattr.h>
#endif

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "async-call.h"

namespace cairn {

void XattrFilter::Parse(const char* data, size_t length) {
  entries_.clear();
  const char* p = data;
  const char* end = data + length;
  while (p < end) {
    const char* nul = static_cast<const char*>(std::memchr(p, 0, static_cast<size_t>(end - p)));
    if (nul == nullptr) nul = end;
    if (nul > p) entries_.emplace_back(p, static_cast<size_t>(nul - p));
    p = nul + 1;
  }
}

bool XattrFilter::Accepts(const char* name, size_t length) const {
  if (entries_.empty()) return true;
  for (const std::string& e : entries_) {
    if (e.back() == '.') {
      if (length >= e.size() && std::memcmp(name, e.data(), e.size()) == 0) return true;
    } else if (length == e.size() && std::memcmp(name, e.data(), length) == 0) {
      return true;
    }
  }
  return false;
}

#if defined(__linux__)

namespace {

// Linux limits (XATTR_LIST_MAX, XATTR_SIZE_MAX): a first read into buffers
// this size never needs a retry on Linux filesystems.
constexpr size_t kListStart = 4096;
constexpr size_t kValueStart = 65536;

// llistxattr into scratch->list; returns the byte count or -1 (errno set).
ssize_t ListInto(const std::string& path, std::vector<char>* list) {
  if (list->empty()) list->resize(kListStart);
  for (;;) {
    ssize_t n = llistxattr(path.c_str(), list->data(), list->size());
    if (n >= 0 || errno != ERANGE) return n;
    ssize_t want = llistxattr(path.c_str(), nullptr, 0);
    if (want < 0) return want;
    list->resize(static_cast<size_t>(want) + 256);
  }
}

// lgetxattr into value; returns the length or -1 (errno set).
ssize_t GetInto(const std::string& path, const char* name, std::vector<char>* value) {
  if (value->empty()) value->resize(kValueStart);
  for (;;) {
    ssize_t n = lgetxattr(path.c_str(), name, value->data(), value->size());
    if (n >= 0 || errno != ERANGE) return n;
    ssize_t want = lgetxattr(path.c_str(), name, nullptr, 0);
    if (want < 0) return want;
    value->resize(static_cast<size_t>(want) + 256);
  }
}

}  // namespace

int ReadXattrs(const std::string& path, const XattrFilter& filter, XattrScratch* scratch, std::vector<XattrPair>* out, const char** syscall) {
  out->clear();
  ssize_t n = ListInto(path, &scratch->list);
  if (n < 0) {
    *syscall = "llistxattr";
    return errno;
  }
  const char* p = scratch->list.data();
  const char* end = p + n;
  while (p < end) {
    size_t len = strnlen(p, static_cast<size_t>(end - p));
    const char* name = p;
    p += len + 1;
    if (len == 0 || !filter.Accepts(name, len)) continue;
    std::string nameZ(name, len);
    ssize_t v = GetInto(path, nameZ.c_str(), &scratch->value);
    if (v < 0) {
      if (errno == ENODATA) continue;  // removed since the listing
      *syscall = "lgetxattr";
      return errno;
    }
    out->emplace_back(std::move(nameZ), std::string(scratch->value.data(), static_cast<size_t>(v)));
  }
  return 0;
}

#else

int ReadXattrs(const std::string&, const XattrFilter&, XattrScratch*, std::vector<XattrPair>* out, const char** syscall) {
  out->clear();
  *syscall = "llistxattr";
  return ENOTSUP;
}

#endif

namespace {

enum class XattrOp { kList, kGet, kSet, kRemove, kReadAll };

class XattrWorker : public PromiseWorker {
 public:
  XattrWorker(Napi::Env env, XattrOp op, std::string path, std::string name, std::string value, int flags, XattrFilter filter)
      : PromiseWorker(env, "cairn.xattr"),
        op_(op),
        path_(std::move(path)),
        name_(std::move(name)),
        value_(std::move(value)),
        flags_(flags),
        filter_(std::move(filter)) {}

 protected:
  void Run() override {
#if defined(__linux__)
    switch (op_) {
      case XattrOp::kList: {
        ssize_t n = ListInto(path_, &scratch_.list);
        if (n < 0) return Fail(errno, "llistxattr");
        result_.assign(scratch_.list.data(), static_cast<size_t>(n));
        return;
      }
      case XattrOp::kGet: {
        ssize_t n = GetInto(path_, name_.c_str(), &scratch_.value);
        if (n < 0) return Fail(errno, "lgetxattr");
        result_.assign(scratch_.value.data(), static_cast<size_t>(n));
        return;
      }
      case XattrOp::kSet:
        if (lsetxattr(path_.c_str(), name_.c_str(), value_.data(), value_.size(), flags_) != 0) Fail(errno, "lsetxattr");
        return;
      case XattrOp::kRemove:
        if (lremovexattr(path_.c_str(), name_.c_str()) != 0) Fail(errno, "lremovexattr");
        return;
      case XattrOp::kReadAll: {
        const char* syscall = "";
        int err = ReadXattrs(path_, filter_, &scratch_, &pairs_, &syscall);
        if (err != 0) Fail(err, syscall);
        return;
      }
    }
#else
    Fail(ENOTSUP, op_ == XattrOp::kSet ? "lsetxattr" : op_ == XattrOp::kRemove ? "lremovexattr" : op_ == XattrOp::kGet ? "lgetxattr" : "llistxattr");
#endif
  }

  Napi::Value Result(Napi::Env env) override {
    switch (op_) {
      case XattrOp::kList:
      case XattrOp::kGet:
        return Napi::Buffer<char>::Copy(env, result_.data(), result_.size());
      case XattrOp::kReadAll: {
        Napi::Array names = Napi::Array::New(env, pairs_.size());
        Napi::Array values = Napi::Array::New(env, pairs_.size());
        for (size_t i = 0; i < pairs_.size(); i++) {
          names.Set(static_cast<uint32_t>(i), Napi::Buffer<char>::Copy(env, pairs_[i].first.data(), pairs_[i].first.size()));
          values.Set(static_cast<uint32_t>(i), Napi::Buffer<char>::Copy(env, pairs_[i].second.data(), pairs_[i].second.size()));
        }
        Napi::Array out = Napi::Array::New(env, 2);
        out.Set(0u, names);
        out.Set(1u, values);
        return out;
      }
      default:
        return env.Undefined();
    }
  }

  const std::string* ErrorPath() const override { return &path_; }

 private:
  XattrOp op_;
  std::string path_;
  std::string name_;
  std::string value_;
  int flags_;
  XattrFilter filter_;
  XattrScratch scratch_;
  std::string result_;
  std::vector<XattrPair> pairs_;
};

// Reads a name argument (bytes, non-empty, no NUL). Throws a TypeError when not.
bool ReadNameArg(const Napi::CallbackInfo& info, size_t index, std::string* out) {
  Napi::Env env = info.Env();
  if (index >= info.Length() || !info[index].IsTypedArray() || info[index].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(env, "xattr name must be a Buffer or Uint8Array of bytes").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Uint8Array bytes = info[index].As<Napi::Uint8Array>();
  const char* data = reinterpret_cast<const char*>(bytes.Data());
  if (bytes.ByteLength() == 0 || std::memchr(data, 0, bytes.ByteLength()) != nullptr) {
    Napi::TypeError::New(env, "xattr name must be non-empty and must not contain NUL bytes").ThrowAsJavaScriptException();
    return false;
  }
  out->assign(data, bytes.ByteLength());
  return true;
}

Napi::Value Start(const Napi::CallbackInfo& info, XattrOp op, std::string path, std::string name = {}, std::string value = {}, int flags = 0, XattrFilter filter = {}) {
  return (new XattrWorker(info.Env(), op, std::move(path), std::move(name), std::move(value), flags, std::move(filter)))->Start();
}

Napi::Value List(const Napi::CallbackInfo& info) {
  std::string path;
  if (!ReadPathArg(info, 0, &path)) return info.Env().Undefined();
  return Start(info, XattrOp::kList, std::move(path));
}

Napi::Value Get(const Napi::CallbackInfo& info) {
  std::string path, name;
  if (!ReadPathArg(info, 0, &path) || !ReadNameArg(info, 1, &name)) return info.Env().Undefined();
  return Start(info, XattrOp::kGet, std::move(path), std::move(name));
}

Napi::Value Set(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path, name;
  int64_t flags = 0;
  if (!ReadPathArg(info, 0, &path) || !ReadNameArg(info, 1, &name)) return env.Undefined();
  if (info.Length() < 3 || !info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(env, "xattr value must be a Buffer or Uint8Array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!ReadIntArg(info, 3, "flags", &flags)) return env.Undefined();
  Napi::Uint8Array v = info[2].As<Napi::Uint8Array>();
  std::string value(reinterpret_cast<const char*>(v.Data()), v.ByteLength());  // copied: the caller may reuse its buffer
  return Start(info, XattrOp::kSet, std::move(path), std::move(name), std::move(value), static_cast<int>(flags));
}

Napi::Value Remove(const Napi::CallbackInfo& info) {
  std::string path, name;
  if (!ReadPathArg(info, 0, &path) || !ReadNameArg(info, 1, &name)) return info.Env().Undefined();
  return Start(info, XattrOp::kRemove, std::move(path), std::move(name));
}

Napi::Value ReadAll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!ReadPathArg(info, 0, &path)) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(env, "readXattrs filter must be a Buffer of NUL-terminated names").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Uint8Array f = info[1].As<Napi::Uint8Array>();
  XattrFilter filter;
  filter.Parse(reinterpret_cast<const char*>(f.Data()), f.ByteLength());
  return Start(info, XattrOp::kReadAll, std::move(path), {}, {}, 0, std::move(filter));
}

}  // namespace

void InitXattrServices(Napi::Env env, Napi::Object exports) {
  exports.Set("llistxattr", Napi::Function::New(env, List, "llistxattr"));
  exports.Set("lgetxattr", Napi::Function::New(env, Get, "lgetxattr"));
  exports.Set("lsetxattr", Napi::Function::New(env, Set, "lsetxattr"));
  exports.Set("lremovexattr", Napi::Function::New(env, Remove, "lremovexattr"));
  exports.Set("readXattrs", Napi::Function::New(env, ReadAll, "readXattrs"));
  Napi::Object xattr = Napi::Object::New(env);
#if defined(__linux__)
  xattr.Set("supported", Napi::Boolean::New(env, true));
  xattr.Set("XATTR_CREATE", Napi::Number::New(env, XATTR_CREATE));
  xattr.Set("XATTR_REPLACE", Napi::Number::New(env, XATTR_REPLACE));
#else
  xattr.Set("supported", Napi::Boolean::New(env, false));
  xattr.Set("XATTR_CREATE", Napi::Number::New(env, 1));
  xattr.Set("XATTR_REPLACE", Napi::Number::New(env, 2));
#endif
  exports.Set("xattr", xattr);
}

}  // namespace cairn
