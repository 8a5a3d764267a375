// Extended attributes (Linux l*xattr: never following symlinks): the
// single-call services (llistxattr, lgetxattr, lsetxattr, lremovexattr,
// readXattrs = list + get of all in one pool job) and the reader the batched
// directory scan shares (ReadXattrs).
#ifndef CAIRN_XATTR_SERVICES_H
#define CAIRN_XATTR_SERVICES_H

#include <napi.h>

#include <string>
#include <utility>
#include <vector>

namespace cairn {

// Which attribute names a read returns: an entry ending in '.' is a
// namespace prefix ("user."), any other an exact name
// ("system.posix_acl_access"). Empty means every listed name.
class XattrFilter {
 public:
  // Parses NUL-terminated entries packed in one buffer.
  void Parse(const char* data, size_t length);
  bool Accepts(const char* name, size_t length) const;

 private:
  std::vector<std::string> entries_;
};

// One attribute: name (without NUL) and value bytes.
using XattrPair = std::pair<std::string, std::string>;

// Scratch space of one worker (list and value buffers, grown on demand).
struct XattrScratch {
  std::vector<char> list;
  std::vector<char> value;
};

// Lists and reads every accepted attribute of `path` (not following a
// symlink) into `out`, in listing order. An attribute removed between list
// and get is left out; a list or value that grows meanwhile is re-read.
// Returns 0, or the errno with `*syscall` set ("llistxattr"/"lgetxattr").
int ReadXattrs(const std::string& path, const XattrFilter& filter, XattrScratch* scratch, std::vector<XattrPair>* out, const char** syscall);

// Adds llistxattr, lgetxattr, lsetxattr, lremovexattr, readXattrs and
// `xattr` ({ supported, XATTR_CREATE, XATTR_REPLACE }) to exports.
void InitXattrServices(Napi::Env env, Napi::Object exports);

}  // namespace cairn

#endif
