// Entry of the cairn_native addon: registers each service family's
// functions on the module's exports: file services, batched file services and
// tape drives (open/read/write blocks, MTIOCTOP, MTIOCGET, MTIOCPOS).
// Batched scans/reads (src/batch-services.cc) since abiVersion 2, batched
// small-file writes since abiVersion 3, tape drives (src/tape-device.cc)
// since abiVersion 4, extended attributes (src/xattr-services.cc, and
// scanDirectory's xattr filter) since 5.
#include <napi.h>

#include "batch-services.h"
#include "file-services.h"
#include "tape-device.h"
#include "xattr-services.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Bumped when the JS-visible surface of this binary changes, so the
  // TypeScript loader can refuse a stale build with an actionable message.
  exports.Set("abiVersion", Napi::Number::New(env, 5));
  cairn::InitFileServices(env, exports);
  cairn::InitBatchServices(env, exports);
  cairn::InitTapeDevice(env, exports);
  cairn::InitXattrServices(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(cairn_native, Init)
