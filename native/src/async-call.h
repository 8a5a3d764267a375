// PromiseWorker: the one way a native call leaves the JS thread. A subclass
// does its syscalls in Run() (on the libuv pool, no JS access) and records a
// failure with Fail(errno, syscall); the JS side gets a Promise that resolves
// with Result() or rejects with an errno Error (errno-error.h). Also the
// argument readers shared by every service family (paths as bytes).
#ifndef CAIRN_ASYNC_CALL_H
#define CAIRN_ASYNC_CALL_H

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "errno-error.h"

namespace cairn {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env, const char* name)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)) {}

  // Queues the work and returns the promise the caller hands back to JS.
  Napi::Promise Start() {
    Queue();
    return deferred_.Promise();
  }

 protected:
  // Runs off the JS thread; call Fail() on error.
  virtual void Run() = 0;
  // Builds the resolution value on the JS thread (default: undefined).
  virtual Napi::Value Result(Napi::Env env) { return env.Undefined(); }
  // The path reported with errors, or null.
  virtual const std::string* ErrorPath() const { return nullptr; }

  void Fail(int err, const char* syscall) {
    err_ = err;
    syscall_ = syscall;
  }

 private:
  void Execute() override { Run(); }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (err_ != 0) {
      deferred_.Reject(MakeErrnoError(env, err_, syscall_, ErrorPath()).Value());
      return;
    }
    Napi::Value value = Result(env);
    if (env.IsExceptionPending()) {
      deferred_.Reject(env.GetAndClearPendingException().Value());
      return;
    }
    deferred_.Resolve(value);
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

  Napi::Promise::Deferred deferred_;
  int err_ = 0;
  const char* syscall_ = "";
};

// Reads a path argument given as a Buffer/Uint8Array of raw bytes (never
// decoded). Throws a TypeError (pending) and returns false when it is not
// bytes or holds a NUL byte.
inline bool ReadPathArg(const Napi::CallbackInfo& info, size_t index, std::string* out) {
  Napi::Env env = info.Env();
  if (index >= info.Length() || !info[index].IsTypedArray() ||
      info[index].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(env, "path must be a Buffer or Uint8Array of bytes").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Uint8Array bytes = info[index].As<Napi::Uint8Array>();
  const char* data = reinterpret_cast<const char*>(bytes.Data());
  if (std::memchr(data, 0, bytes.ByteLength()) != nullptr || bytes.ByteLength() == 0) {
    Napi::TypeError::New(env, "path must be non-empty and must not contain NUL bytes").ThrowAsJavaScriptException();
    return false;
  }
  out->assign(data, bytes.ByteLength());
  return true;
}

// Reads a numeric argument (integral, finite). Throws a TypeError when not.
inline bool ReadIntArg(const Napi::CallbackInfo& info, size_t index, const char* what, int64_t* out) {
  Napi::Env env = info.Env();
  if (index >= info.Length() || !info[index].IsNumber()) {
    Napi::TypeError::New(env, std::string(what) + " must be a number").ThrowAsJavaScriptException();
    return false;
  }
  double d = info[index].As<Napi::Number>().DoubleValue();
  if (!(d >= -9.0e18 && d <= 9.0e18) || d != std::trunc(d)) {
    Napi::TypeError::New(env, std::string(what) + " must be an integer").ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

}  // namespace cairn

#endif
