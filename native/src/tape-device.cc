// Tape drives through the st driver: one std::thread per open drive runs its
// jobs in order (see tape-device.h for the JS surface). The thread blocks all
// signals, so the syscalls never see EINTR; results reach JS through a
// napi_threadsafe_function that is referenced only while jobs are pending (an
// idle open drive does not keep the process alive, an operation in flight does).
#include "tape-device.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mtio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "async-call.h"
#include "errno-error.h"

// glibc's <sys/mtio.h> predates MTWEOFI (write filemarks without flushing, Linux >= 2.6.28).
#ifndef MTWEOFI
#define MTWEOFI 35
#endif

namespace cairn {
namespace {

enum class JobKind { kOpen, kRead, kWrite, kOp, kStatus, kClose };

struct Drive;

struct Job {
  JobKind kind;
  std::shared_ptr<Drive> drive;
  napi_deferred deferred = nullptr;  // null: nobody waits (close on garbage collection)
  napi_ref keep = nullptr;           // the buffer (read/write) or the TapeDevice object (open)
  uint8_t* data = nullptr;
  size_t length = 0;
  int flags = 0;
  int mtOp = 0;
  int count = 0;
  const char* opName = "";
  // results
  ssize_t n = 0;
  int err = 0;
  const char* syscall = "";
  struct mtget mt;
  long position = -1;
};

struct Drive {
  std::string path;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Job*> queue;
  int fd = -1;
  napi_threadsafe_function tsfn = nullptr;
  // Under mu: set by the TSFN's finalizer (environment torn down, or after the thread released it);
  // from then on the thread never touches the TSFN again.
  bool tsfnGone = false;
  bool threadDone = false;  // under mu
  // JS thread only:
  int pending = 0;
  bool closeQueued = false;
};

struct OpName {
  const char* name;
  int code;
};

const OpName kOps[] = {
    {"MTREW", MTREW},       {"MTWEOF", MTWEOF}, {"MTWEOFI", MTWEOFI}, {"MTFSF", MTFSF},   {"MTBSF", MTBSF},
    {"MTFSR", MTFSR},       {"MTBSR", MTBSR},   {"MTEOM", MTEOM},     {"MTSETBLK", MTSETBLK}, {"MTOFFL", MTOFFL},
    {"MTLOAD", MTLOAD},     {"MTUNLOAD", MTUNLOAD}, {"MTNOP", MTNOP},
};

const char* OpNameOf(int code) {
  for (const OpName& o : kOps)
    if (o.code == code) return o.name;
  return nullptr;
}

void RunJob(Drive* d, Job* job) {
  switch (job->kind) {
    case JobKind::kOpen: {
      int mode = (job->flags & 1) ? O_RDONLY : O_RDWR;
      if (job->flags & 2) mode |= O_NONBLOCK;
      int fd = open(d->path.c_str(), mode | O_CLOEXEC);
      if (fd < 0) {
        job->err = errno;
        job->syscall = "open";
        job->opName = "open";
        return;
      }
      // A tape answers MTIOCGET; anything else (a regular file, a disk) gets ENOTTY.
      if (ioctl(fd, MTIOCGET, &job->mt) != 0) {
        job->err = errno;
        job->syscall = "ioctl";
        job->opName = "MTIOCGET";
        close(fd);
        return;
      }
      d->fd = fd;
      return;
    }
    case JobKind::kRead:
      job->n = read(d->fd, job->data, job->length);
      if (job->n < 0) {
        job->err = errno;
        job->syscall = "read";
      }
      return;
    case JobKind::kWrite:
      job->n = write(d->fd, job->data, job->length);
      if (job->n < 0) {
        job->err = errno;
        job->syscall = "write";
      }
      return;
    case JobKind::kOp: {
      struct mtop op;
      op.mt_op = static_cast<short>(job->mtOp);
      op.mt_count = job->count;
      if (ioctl(d->fd, MTIOCTOP, &op) != 0) {
        job->err = errno;
        job->syscall = "ioctl";
      }
      return;
    }
    case JobKind::kStatus: {
      if (ioctl(d->fd, MTIOCGET, &job->mt) != 0) {
        job->err = errno;
        job->syscall = "ioctl";
        return;
      }
      struct mtpos pos;
      job->position = ioctl(d->fd, MTIOCPOS, &pos) == 0 ? pos.mt_blkno : -1;
      return;
    }
    case JobKind::kClose:
      if (d->fd >= 0 && close(d->fd) != 0 && errno != EINTR) {
        job->err = errno;
        job->syscall = "close";
      }
      d->fd = -1;
      return;
  }
}

bool IsLast(const Job* job) { return job->kind == JobKind::kClose || (job->kind == JobKind::kOpen && job->err != 0); }

// The drive's thread: runs jobs until a close (or a failed open), then releases the TSFN. The TSFN is
// only used under mu and only while the finalizer has not run, so an environment torn down while the
// drive works (process exit, worker end) never sees a call on a freed TSFN.
void DriveThread(std::shared_ptr<Drive> d) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  for (;;) {
    Job* job;
    {
      std::unique_lock<std::mutex> lock(d->mu);
      d->cv.wait(lock, [&] { return !d->queue.empty(); });
      job = d->queue.front();
      d->queue.pop_front();
    }
    RunJob(d.get(), job);
    bool last = IsLast(job);
    std::lock_guard<std::mutex> lock(d->mu);
    // The queue is unbounded, so this call never blocks while holding mu.
    if (d->tsfnGone || napi_call_threadsafe_function(d->tsfn, job, napi_tsfn_nonblocking) != napi_ok) delete job;
    if (last) {
      if (!d->tsfnGone) napi_release_threadsafe_function(d->tsfn, napi_tsfn_release);
      d->threadDone = true;
      return;
    }
  }
}

// The TSFN's finalizer (JS thread): after the thread released it, or when the environment goes away
// first, in which case the thread is told to close the drive and end without settling anything.
void FinalizeTsfn(napi_env /*env*/, void* data, void* /*hint*/) {
  std::unique_ptr<std::shared_ptr<Drive>> holder(static_cast<std::shared_ptr<Drive>*>(data));
  Drive* d = holder->get();
  std::lock_guard<std::mutex> lock(d->mu);
  d->tsfnGone = true;
  if (d->threadDone) return;
  Job* job = new Job();
  job->kind = JobKind::kClose;
  job->drive = *holder;
  d->queue.push_back(job);
  d->cv.notify_one();
}

Napi::Object StatusObject(Napi::Env env, const struct mtget& mt, long position) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("fileNo", Napi::Number::New(env, static_cast<double>(mt.mt_fileno)));
  o.Set("blockNo", Napi::Number::New(env, static_cast<double>(mt.mt_blkno)));
  o.Set("dsreg", Napi::Number::New(env, static_cast<double>(static_cast<unsigned long>(mt.mt_dsreg) & 0xffffffffUL)));
  o.Set("gstat", Napi::Number::New(env, static_cast<double>(static_cast<unsigned long>(mt.mt_gstat) & 0xffffffffUL)));
  o.Set("type", Napi::Number::New(env, static_cast<double>(mt.mt_type)));
  o.Set("erreg", Napi::Number::New(env, static_cast<double>(mt.mt_erreg)));
  o.Set("resid", Napi::Number::New(env, static_cast<double>(mt.mt_resid)));
  o.Set("position", Napi::Number::New(env, static_cast<double>(position)));
  return o;
}

// Settles a job's promise on the JS thread (env is null while the environment is torn down).
void SettleJob(napi_env rawEnv, napi_value /*jsCallback*/, void* /*context*/, void* data) {
  Job* job = static_cast<Job*>(data);
  std::unique_ptr<Job> owner(job);
  if (rawEnv == nullptr) return;
  Napi::Env env(rawEnv);
  Napi::HandleScope scope(env);
  Drive* d = job->drive.get();
  if (job->kind == JobKind::kOpen && job->err != 0) d->closeQueued = true;  // its thread has ended
  if (job->deferred != nullptr) {
    if (job->err != 0) {
      Napi::Error error = MakeErrnoError(env, job->err, job->syscall, &d->path);
      error.Set("op", Napi::String::New(env, job->opName));
      napi_reject_deferred(env, job->deferred, error.Value());
    } else {
      napi_value value;
      switch (job->kind) {
        case JobKind::kOpen:
          napi_get_reference_value(env, job->keep, &value);
          break;
        case JobKind::kRead:
        case JobKind::kWrite:
          value = Napi::Number::New(env, static_cast<double>(job->n));
          break;
        case JobKind::kStatus:
          value = StatusObject(env, job->mt, job->position);
          break;
        default:
          value = env.Undefined();
      }
      napi_resolve_deferred(env, job->deferred, value);
    }
  }
  if (job->keep != nullptr) napi_delete_reference(env, job->keep);
  // After the last job the thread releases the TSFN; it stays referenced until then, so the process
  // cannot exit between this settle and that release.
  if (--d->pending == 0 && !IsLast(job)) napi_unref_threadsafe_function(env, d->tsfn);
}

class TapeDevice : public Napi::ObjectWrap<TapeDevice> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "TapeDevice",
                       {InstanceMethod("read", &TapeDevice::Read), InstanceMethod("write", &TapeDevice::Write),
                        InstanceMethod("op", &TapeDevice::Op), InstanceMethod("status", &TapeDevice::Status),
                        InstanceMethod("close", &TapeDevice::Close)});
  }

  // Set while tapeOpen constructs an instance; `new TapeDevice()` from JS is refused.
  static bool constructing;

  explicit TapeDevice(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TapeDevice>(info) {
    if (!constructing) {
      Napi::TypeError::New(info.Env(), "TapeDevice is created by tapeOpen(path, flags)").ThrowAsJavaScriptException();
      return;
    }
    drive_ = std::make_shared<Drive>();
  }

  ~TapeDevice() override {
    // Collected while still open: close the fd on the drive's thread; nobody waits for it.
    if (drive_ && drive_->tsfn != nullptr && !drive_->closeQueued) {
      drive_->closeQueued = true;
      Job* job = new Job();
      job->kind = JobKind::kClose;
      job->drive = drive_;
      job->opName = "close";
      drive_->pending++;
      Enqueue(job);
    }
  }

  // Starts the drive's thread and queues the open; the promise resolves with this object.
  Napi::Value StartOpen(Napi::Env env, std::string path, int flags, Napi::Object self) {
    drive_->path = std::move(path);
    napi_value name = Napi::String::New(env, "cairn.tape");
    auto* holder = new std::shared_ptr<Drive>(drive_);
    if (napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, holder, FinalizeTsfn, nullptr, SettleJob, &drive_->tsfn) != napi_ok) {
      delete holder;
      drive_->tsfn = nullptr;
      Napi::Error::New(env, "cannot create the tape drive's completion queue").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Job* job = NewJob(env, JobKind::kOpen, "open");
    job->flags = flags;
    napi_create_reference(env, self, 1, &job->keep);
    napi_value promise = PromiseOf(env, job);
    std::thread(DriveThread, drive_).detach();
    Enqueue(job);
    return Napi::Value(env, promise);
  }

 private:
  Job* NewJob(Napi::Env env, JobKind kind, const char* opName) {
    Job* job = new Job();
    job->kind = kind;
    job->drive = drive_;
    job->opName = opName;
    if (drive_->pending++ == 0) napi_ref_threadsafe_function(env, drive_->tsfn);
    return job;
  }

  static napi_value PromiseOf(Napi::Env env, Job* job) {
    napi_value promise;
    napi_create_promise(env, &job->deferred, &promise);
    return promise;
  }

  void Enqueue(Job* job) {
    {
      std::lock_guard<std::mutex> lock(drive_->mu);
      drive_->queue.push_back(job);
    }
    drive_->cv.notify_one();
  }

  Napi::Value Rejected(Napi::Env env, int err, const char* syscall, const char* opName) {
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    Napi::Error error = MakeErrnoError(env, err, syscall, &drive_->path);
    error.Set("op", Napi::String::New(env, opName));
    deferred.Reject(error.Value());
    return deferred.Promise();
  }

  bool Usable() const { return drive_ && drive_->tsfn != nullptr && !drive_->closeQueued; }

  // read(buf, offset, length) / write(buf, offset, length): one read(2)/write(2) = one tape block (or
  // several fixed-size blocks); the buffer is referenced until the promise settles.
  Napi::Value Transfer(const Napi::CallbackInfo& info, JobKind kind, const char* opName) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      Napi::TypeError::New(env, "buffer must be a Buffer or Uint8Array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int64_t offset, length;
    if (!ReadIntArg(info, 1, "offset", &offset) || !ReadIntArg(info, 2, "length", &length)) return env.Undefined();
    Napi::Uint8Array buf = info[0].As<Napi::Uint8Array>();
    if (offset < 0 || length < 0 || static_cast<uint64_t>(offset + length) > buf.ByteLength()) {
      Napi::RangeError::New(env, "offset/length outside the buffer").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!Usable()) return Rejected(env, EBADF, kind == JobKind::kRead ? "read" : "write", opName);
    Job* job = NewJob(env, kind, opName);
    job->data = buf.Data() + offset;
    job->length = static_cast<size_t>(length);
    napi_create_reference(env, buf, 1, &job->keep);
    napi_value promise = PromiseOf(env, job);
    Enqueue(job);
    return Napi::Value(env, promise);
  }

  Napi::Value Read(const Napi::CallbackInfo& info) { return Transfer(info, JobKind::kRead, "read"); }
  Napi::Value Write(const Napi::CallbackInfo& info) { return Transfer(info, JobKind::kWrite, "write"); }

  // op(mtOp, count): MTIOCTOP with one of the operations in tapeConstants.ops.
  Napi::Value Op(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int64_t code, count;
    if (!ReadIntArg(info, 0, "op", &code) || !ReadIntArg(info, 1, "count", &count)) return env.Undefined();
    const char* name = OpNameOf(static_cast<int>(code));
    if (name == nullptr) {
      Napi::TypeError::New(env, "op must be one of tapeConstants.ops").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (count < 0 || count > 0x7fffffff) {
      Napi::RangeError::New(env, "count must be between 0 and 2^31-1").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!Usable()) return Rejected(env, EBADF, "ioctl", name);
    Job* job = NewJob(env, JobKind::kOp, name);
    job->mtOp = static_cast<int>(code);
    job->count = static_cast<int>(count);
    napi_value promise = PromiseOf(env, job);
    Enqueue(job);
    return Napi::Value(env, promise);
  }

  Napi::Value Status(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Usable()) return Rejected(env, EBADF, "ioctl", "MTIOCGET");
    Job* job = NewJob(env, JobKind::kStatus, "MTIOCGET");
    napi_value promise = PromiseOf(env, job);
    Enqueue(job);
    return Napi::Value(env, promise);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Usable()) return Rejected(env, EBADF, "close", "close");
    drive_->closeQueued = true;
    Job* job = NewJob(env, JobKind::kClose, "close");
    napi_value promise = PromiseOf(env, job);
    Enqueue(job);
    return Napi::Value(env, promise);
  }

  std::shared_ptr<Drive> drive_;
};

bool TapeDevice::constructing = false;

// tapeOpen(path: Buffer, flags: number): Promise<TapeDevice>
Napi::Value TapeOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!ReadPathArg(info, 0, &path)) return env.Undefined();
  int64_t flags;
  if (!ReadIntArg(info, 1, "flags", &flags)) return env.Undefined();
  if (flags < 0 || flags > 3) {
    Napi::RangeError::New(env, "flags must combine 1 (read-only) and 2 (O_NONBLOCK)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::FunctionReference* ctor = static_cast<Napi::FunctionReference*>(info.Data());
  TapeDevice::constructing = true;
  Napi::Object self = ctor->New({});
  TapeDevice::constructing = false;
  if (env.IsExceptionPending()) return env.Undefined();
  return TapeDevice::Unwrap(self)->StartOpen(env, std::move(path), static_cast<int>(flags), self);
}

}  // namespace

void InitTapeDevice(Napi::Env env, Napi::Object exports) {
  Napi::FunctionReference* ctor = new Napi::FunctionReference();  // lives as long as the module
  *ctor = Napi::Persistent(TapeDevice::Define(env));
  exports.Set("tapeOpen", Napi::Function::New(env, TapeOpen, "tapeOpen", ctor));

  Napi::Object constants = Napi::Object::New(env);
  Napi::Object ops = Napi::Object::New(env);
  for (const OpName& o : kOps) ops.Set(o.name, Napi::Number::New(env, o.code));
  constants.Set("ops", ops);
  Napi::Object gmt = Napi::Object::New(env);
  gmt.Set("EOF", Napi::Number::New(env, static_cast<double>(GMT_EOF(0xffffffffUL))));
  gmt.Set("BOT", Napi::Number::New(env, static_cast<double>(GMT_BOT(0xffffffffUL))));
  gmt.Set("EOT", Napi::Number::New(env, static_cast<double>(GMT_EOT(0xffffffffUL))));
  gmt.Set("SM", Napi::Number::New(env, static_cast<double>(GMT_SM(0xffffffffUL))));
  gmt.Set("EOD", Napi::Number::New(env, static_cast<double>(GMT_EOD(0xffffffffUL))));
  gmt.Set("WR_PROT", Napi::Number::New(env, static_cast<double>(GMT_WR_PROT(0xffffffffUL))));
  gmt.Set("ONLINE", Napi::Number::New(env, static_cast<double>(GMT_ONLINE(0xffffffffUL))));
  gmt.Set("DR_OPEN", Napi::Number::New(env, static_cast<double>(GMT_DR_OPEN(0xffffffffUL))));
  gmt.Set("IM_REP_EN", Napi::Number::New(env, static_cast<double>(GMT_IM_REP_EN(0xffffffffUL))));
  constants.Set("gmt", gmt);
  constants.Set("blksizeMask", Napi::Number::New(env, static_cast<double>(MT_ST_BLKSIZE_MASK)));
  constants.Set("blksizeShift", Napi::Number::New(env, MT_ST_BLKSIZE_SHIFT));
  constants.Set("densityMask", Napi::Number::New(env, static_cast<double>(static_cast<uint32_t>(MT_ST_DENSITY_MASK))));
  constants.Set("densityShift", Napi::Number::New(env, MT_ST_DENSITY_SHIFT));
  exports.Set("tapeConstants", constants);
}

}  // namespace cairn
