// Batched file services: one thread-pool job per directory scan or per group
// of small-file reads or writes, instead of one libuv round trip per syscall.
#ifndef CAIRN_BATCH_SERVICES_H
#define CAIRN_BATCH_SERVICES_H

#include <napi.h>

namespace cairn {

// Adds scanDirectory, readFiles and writeFiles to exports (raw surface; native/batch-services.ts shapes it).
void InitBatchServices(Napi::Env env, Napi::Object exports);

}  // namespace cairn

#endif
