// StatColumns: stat results of a batch in column form (three typed arrays
// plus a failure list), the cheap way to hand thousands of stats to JS;
// native/batch-services.ts turns each row into an EntryStat object.
// Layout per entry: nums 7 (mode uid gid size nlink rdev blocks),
// times 3 (atimeNs mtimeNs ctimeNs), ids 2 (dev ino, unsigned).
#ifndef CAIRN_STAT_COLUMNS_H
#define CAIRN_STAT_COLUMNS_H

#include <napi.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "errno-error.h"

namespace cairn {

constexpr size_t kStatNums = 7;
constexpr size_t kStatTimes = 3;
constexpr size_t kStatIds = 2;

#ifdef __APPLE__
#define CAIRN_ST_TIME(st, which) ((st).st_##which##timespec)
#else
#define CAIRN_ST_TIME(st, which) ((st).st_##which##tim)
#endif

inline int64_t TimespecNs(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + static_cast<int64_t>(ts.tv_nsec);
}

struct Failure {
  size_t index;
  int err;
  const char* syscall;
};

// Stat results in column form: cheap to hand to JS as three typed arrays.
class StatColumns {
 public:
  void Resize(size_t n) {
    nums_.assign(n * kStatNums, 0);
    times_.assign(n * kStatTimes, 0);
    ids_.assign(n * kStatIds, 0);
  }

  void Put(size_t i, const struct stat& st) {
    double* n = &nums_[i * kStatNums];
    n[0] = static_cast<double>(st.st_mode);
    n[1] = static_cast<double>(st.st_uid);
    n[2] = static_cast<double>(st.st_gid);
    n[3] = static_cast<double>(st.st_size);
    n[4] = static_cast<double>(st.st_nlink);
    n[5] = static_cast<double>(st.st_rdev);
    n[6] = static_cast<double>(st.st_blocks);
    int64_t* t = &times_[i * kStatTimes];
    t[0] = TimespecNs(CAIRN_ST_TIME(st, a));
    t[1] = TimespecNs(CAIRN_ST_TIME(st, m));
    t[2] = TimespecNs(CAIRN_ST_TIME(st, c));
    uint64_t* d = &ids_[i * kStatIds];
    d[0] = static_cast<uint64_t>(st.st_dev);
    d[1] = static_cast<uint64_t>(st.st_ino);
  }

  void Fail(size_t i, int err, const char* syscall) { failures_.push_back({i, err, syscall}); }

  // Sets nums, times, ids and failures on `out`.
  void Export(Napi::Env env, Napi::Object out) const {
    Napi::Float64Array nums = Napi::Float64Array::New(env, nums_.size());
    if (!nums_.empty()) std::memcpy(nums.Data(), nums_.data(), nums_.size() * sizeof(double));
    Napi::BigInt64Array times = Napi::BigInt64Array::New(env, times_.size());
    if (!times_.empty()) std::memcpy(times.Data(), times_.data(), times_.size() * sizeof(int64_t));
    Napi::BigUint64Array ids = Napi::BigUint64Array::New(env, ids_.size());
    if (!ids_.empty()) std::memcpy(ids.Data(), ids_.data(), ids_.size() * sizeof(uint64_t));
    Napi::Array failures = Napi::Array::New(env, failures_.size());
    for (size_t k = 0; k < failures_.size(); k++) {
      Napi::Array f = Napi::Array::New(env, 3);
      f.Set(uint32_t{0}, Napi::Number::New(env, static_cast<double>(failures_[k].index)));
      f.Set(uint32_t{1}, Napi::String::New(env, ErrnoName(failures_[k].err)));
      f.Set(uint32_t{2}, Napi::String::New(env, failures_[k].syscall));
      failures.Set(static_cast<uint32_t>(k), f);
    }
    out.Set("nums", nums);
    out.Set("times", times);
    out.Set("ids", ids);
    out.Set("failures", failures);
  }

 private:
  std::vector<double> nums_;
  std::vector<int64_t> times_;
  std::vector<uint64_t> ids_;
  std::vector<Failure> failures_;
};

}  // namespace cairn

#endif
