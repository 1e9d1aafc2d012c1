// What every checkpoint reader shares: its exception boundary, and the git-LFS pointer check.
#ifndef UER_CORE_RUNTIME_IO_GUARD_H_
#define UER_CORE_RUNTIME_IO_GUARD_H_

#include <cstring>
#include <exception>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace uer::runtime::io {

// Runs a reader: a JSON value of the wrong type, or a LibTorch refusal, deep in a damaged file is an
// error naming the file, never an abort (checkpoint_fuzz).
template <typename Read>
auto Guarded(const std::string& file, Read read) -> decltype(read()) {
  try {
    return read();
  } catch (const std::exception& e) {
    const std::string what = e.what();
    return absl::DataLossError(absl::StrCat("cannot read ", file, ": ", what.substr(0, what.find('\n'))));
  }
}

// Whether the bytes are a git-LFS pointer file instead of the weights.
inline bool IsLfsPointer(const char* data, size_t size) {
  static constexpr char kLfs[] = "version https://git-lfs";
  return size >= sizeof(kLfs) - 1 && std::memcmp(data, kLfs, sizeof(kLfs) - 1) == 0;
}

}  // namespace uer::runtime::io

#endif  // UER_CORE_RUNTIME_IO_GUARD_H_
